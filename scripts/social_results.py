"""Reproduces docs/social.md: trains every config in configs/social/ for several seeds with the
release binary and prints the tables of the page (means over seeds, with the spread).

    cargo build --release
    python3 scripts/social_results.py [--seeds 1 2 3] [--jobs 2] [--only 'cleanup_*' ...] [--binary PATH]

Runs go to runs/social/<config>_s<seed>/; a run whose eval.json exists is not trained again.
"""

import argparse
import fnmatch
import json
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "moralgym"


def train(binary: Path, config: Path, seed: int) -> Path:
    out = ROOT / "runs" / "social" / f"{config.stem}_s{seed}"
    if not (out / "eval.json").exists():
        cmd = [str(binary), "train", str(config), "--set", f"seed={seed}", "--out", str(out), "--quiet"]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return out


def summary(run: Path) -> dict:
    s = json.loads((run / "eval.json").read_text())["summary"]
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    tail = lines[-max(1, len(lines) // 10):]  # the last tenth of training
    gifts = {k: statistics.mean(l["gifts"][k] for l in tail) for k in tail[-1].get("gifts", {})}
    return {
        "collective": s["social"]["collective_return"],
        "equality": s["social"]["equality"],
        "cooperation": s["env_metrics"].get("cooperation_rate"),
        "returns": [a["mean"] for a in s["return_per_agent"]],
        "costs": {k: v["mean"] for k, v in s["cost_per_agent"].items()},
        "gifts": gifts,
    }


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    m = statistics.mean(xs)
    return f"{m:.2f}" if len(xs) == 1 else f"{m:.2f} ± {statistics.stdev(xs):.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--only", nargs="+", default=["*"], help="config names or glob patterns (default: all)")
    p.add_argument(
        "--binary",
        type=Path,
        default=BINARY,
        help="the moralgym binary (default: the release build; the dev build trains the same runs, slower)",
    )
    args = p.parse_args()
    if not args.binary.exists():
        sys.exit(f"{args.binary} does not exist: build it first (cargo build --release)")
    configs = sorted(
        c for c in (ROOT / "configs" / "social").glob("*.toml") if any(fnmatch.fnmatch(c.stem, o) for o in args.only)
    )
    jobs = [(c, s) for c in configs for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(lambda job: train(args.binary, *job), jobs))
    results = {}
    for (config, _), run in zip(jobs, runs):
        results.setdefault(config.stem, []).append(summary(run))
    print(f"seeds {args.seeds}; mean ± standard deviation over seeds of the 20-episode evaluations\n")
    print("| config | collective return | equality | cooperation rate | costs per agent | return per agent | gift weights (last 10% of training) |")
    print("|---|---|---|---|---|---|---|")
    for name, rs in results.items():
        costs = ", ".join(f"{k} {spread([r['costs'][k] for r in rs])}" for k in rs[0]["costs"])
        per_agent = " / ".join(spread([r["returns"][i] for r in rs]) for i in range(len(rs[0]["returns"])))
        gifts = ", ".join(f"{k} {spread([r['gifts'][k] for r in rs])}" for k in rs[0]["gifts"]) or "-"
        print(
            f"| {name} | {spread([r['collective'] for r in rs])} | {spread([r['equality'] for r in rs])} "
            f"| {spread([r['cooperation'] for r in rs])} | {costs} | {per_agent} | {gifts} |"
        )


if __name__ == "__main__":
    main()
