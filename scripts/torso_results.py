"""Reproduces the torso table of docs/training.md: selfish PPO (independent learners) on Cleanup
and Harvest with the MLP, the CNN and the CNN followed by an LSTM, several seeds, with the release binary; prints the mean evaluation
return per agent, the costs per agent and the training steps/s (the median over updates).

    cargo build --release
    python3 scripts/torso_results.py [--envs cleanup harvest] [--seeds 1 2 3] [--torsos mlp cnn cnn_lstm] [--binary PATH]

Runs go to runs/torso/<env>_<torso>_s<seed>/; a run whose eval.json exists is not trained again.
"""

import argparse
import json
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {"cleanup": "configs/social/cleanup_selfish.toml", "harvest": "configs/ppo_harvest_none.toml"}
TORSOS = {
    "mlp": [],
    "cnn": ["ppo.torso=cnn"],
    "cnn_lstm": ["ppo.torso=cnn", "ppo.lstm_size=128"],
}


def train(binary: str, env: str, torso: str, seed: int) -> Path:
    out = ROOT / "runs" / "torso" / f"{env}_{torso}_s{seed}"
    if not (out / "eval.json").exists():
        cmd = [binary, "train", CONFIGS[env], "--set", f"seed={seed}"]
        for setting in TORSOS[torso]:
            cmd += ["--set", setting]
        subprocess.run(cmd + ["--out", str(out), "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return out


def summary(run: Path) -> dict:
    s = json.loads((run / "eval.json").read_text())["summary"]
    sps = [json.loads(l)["sps"] for l in (run / "metrics.jsonl").read_text().splitlines()]
    return {
        "return": statistics.mean(a["mean"] for a in s["return_per_agent"]),
        "costs": {k: v["mean"] for k, v in s["cost_per_agent"].items()},
        "sps": statistics.median(sps),
    }


def spread(xs):
    m = statistics.mean(xs)
    return f"{m:.2f}" if len(xs) == 1 else f"{m:.2f} ± {statistics.stdev(xs):.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--torsos", nargs="+", choices=list(TORSOS), default=list(TORSOS))
    p.add_argument("--binary", default=str(ROOT / "target" / "release" / "moralgym"))
    args = p.parse_args()
    print("| env | torso | return per agent | costs per agent | env steps/s |")
    print("|---|---|---|---|---|")
    for env in args.envs:
        for torso in args.torsos:
            runs = [summary(train(args.binary, env, torso, seed)) for seed in args.seeds]
            costs = ", ".join(f"{k} {spread([r['costs'][k] for r in runs])}" for k in runs[0]["costs"])
            sps = statistics.mean(r["sps"] for r in runs)
            print(f"| {env} | {torso} | {spread([r['return'] for r in runs])} | {costs} | {sps:,.0f} |")


if __name__ == "__main__":
    main()
