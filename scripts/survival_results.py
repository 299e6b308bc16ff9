"""Reproduces the greed table of docs/envs/survival_dilemma.md: the greed index (DECIDE-SIM's
(drawn + tapped) / (N * (T - 0.5))), taps and survival under Low, Medium and High scarcity for the
scripted policies (20 episodes, seed 1) and for reward-only and weighted PPO (four independent
learners, 100k steps, forbidden_tap weighted 1, 20 evaluation episodes), over --seeds.

    cargo build --release
    python3 scripts/survival_results.py [--seeds 1 2 3] [--jobs 2]

Runs go to runs/survival/<scarcity>_<agent>_s<seed>/; a run whose eval.json exists is not trained again.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "moralgym"
ENV = "SurvivalDilemma-v1"
LEVELS = ["low", "medium", "high"]
SCRIPTED = ["random", "hoarder", "ethical"]
PPO = {"reward only": '{ mode = "none" }', "weighted (tap 1)": '{ mode = "weighted", default_weight = 0.0, weights = { forbidden_tap = 1.0 } }'}


def metrics(reports: list) -> dict:
    mean = lambda key: statistics.mean(r["env_metrics"][key] for r in reports)
    return {"greed": mean("greed_index"), "taps": mean("transgressions"), "survival": mean("survival_rate")}


def scripted(level: str, policy: str) -> dict:
    cmd = [str(BINARY), "rollout", "--env", ENV, "--set", f'scarcity="{level}"', "--policy", policy,
           "--episodes", "20", "--seed", "1", "--json"]
    out = subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True).stdout
    return metrics(json.loads(out)["episodes"])


def trained(level: str, name: str, seed: int) -> dict:
    out = ROOT / "runs" / "survival" / f"{level}_{name.split()[0]}_s{seed}"
    if not (out / "eval.json").exists():
        config = f"""env = "{ENV}"
env_config = {{ scarcity = "{level}" }}
seed = {seed}
num_envs = 8
total_steps = 100000
out_dir = "{out}"
ppo = {{ learning_rate = 0.001 }}
cost = {PPO[name]}
eval = {{ episodes = 20, seed = 777 }}
"""
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(config)
        subprocess.run([str(BINARY), "train", f.name, "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    summary = json.loads((out / "eval.json").read_text())["summary"]["env_metrics"]
    return {"greed": summary["greed_index"], "taps": summary["transgressions"], "survival": summary["survival_rate"]}


def spread(xs):
    m = statistics.mean(xs)
    return f"{m:.3f}" if len(xs) == 1 else f"{m:.3f} ± {statistics.stdev(xs):.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    if not BINARY.exists():
        sys.exit("build the binary first: cargo build --release")
    rows = {}
    for level in LEVELS:
        for policy in SCRIPTED:
            rows[(level, policy)] = [scripted(level, policy)]
    jobs = [(level, name, seed) for level in LEVELS for name in PPO for seed in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: trained(*job), jobs))
    for (level, name, _), r in zip(jobs, results):
        rows.setdefault((level, f"PPO, {name}"), []).append(r)
    print(f"PPO seeds {args.seeds}; mean ± standard deviation over seeds of the 20-episode evaluations\n")
    print("| scarcity | agent | greed index | taps per episode | survival rate |")
    print("|---|---|---|---|---|")
    for (level, agent), rs in rows.items():
        cols = [spread([r[k] for r in rs]) for k in ("greed", "taps", "survival")]
        print(f"| {level} | {agent} | {' | '.join(cols)} |")


if __name__ == "__main__":
    main()
