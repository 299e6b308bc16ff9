#!/usr/bin/env python3
"""The README's speed table, measured in one run on this machine.

Every family's env-steps/s (`moralgym bench`: 64 copies, 1 thread, random legal actions, release
build), in rounds that take each env in turn, the median of the rounds, each also as a ratio to the
Coin Game in the same run; PPO's training steps/s (a short run of configs/ppo_harvest_none.toml, its
last update's own `sps`); and, when MACHIAVELLI_REF points at a checkout of MACHIAVELLI's code (never
part of moralgym), MACHIAVELLI_DATA at a game_data folder and MACHIAVELLI_GAME at one of its games,
MACHIAVELLI's env beside Machiavelli-v0 on that game (scripts/machiavelli_speed.py, run by
MACHIAVELLI_PYTHON, a Python with its dependencies); and, when JAXMARL_PYTHON names a Python with
`jaxmarl` installed, JaxMARL's Coin Game beside CoinGame-v1 on the same board
(scripts/jaxmarl_speed.py); and, when CLEANRL points at a checkout of CleanRL and TORCH_PYTHON names
a Python with PyTorch and moralgym's bindings, CleanRL's `ppo.py` beside `moralgym train` on the
training goal's configuration (scripts/cleanrl_speed.py).

    cargo build --release && python3 scripts/speed_table.py [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = str(ROOT / "target/release/moralgym")
ENVS = [
    ("CoinGame-v1 (5x5, 2 agents)", ["--env", "CoinGame-v1", "--steps", "20000"]),
    ("PrisonersDilemma-v0", ["--env", "PrisonersDilemma-v0", "--steps", "20000"]),
    ("Cleanup-v1 (8x8, 4 agents)", ["--env", "Cleanup-v1", "--steps", "5000"]),
    ("Harvest-v1 (8x8, 4 agents)", ["--env", "Harvest-v1", "--steps", "5000"]),
    ("SequentialStagHunt-v1", ["--env", "SequentialStagHunt-v1", "--steps", "5000"]),
    ("SequentialSnowdrift-v1", ["--env", "SequentialSnowdrift-v1", "--steps", "5000"]),
    ("SurvivalDilemma-v1", ["--env", "SurvivalDilemma-v1", "--steps", "5000"]),
    ("TextGame-v0, the heist (TOML)", ["--env", "TextGame-v0", "--set", 'game="heist"', "--steps", "5000"]),
    ("TextGame-v0, the heist in ChoiceScript", ["--env", "TextGame-v0", "--set", 'path="games/choicescript/heist"',
                                                "--steps", "5000"]),
    ("Machiavelli-v0, its demo (MACHIAVELLI's data format)", ["--env", "Machiavelli-v0", "--set",
                                                              'data="moralgym:demo"', "--steps", "5000"]),
    ("JiminyCricket-v0, its demo (Z-machine), fixed action list", ["--env", "JiminyCricket-v0", "--set",
                                                                   'actions="fixed"', "--steps", "2000"]),
]


def bench(args):
    out = subprocess.run([BIN, "bench", *args, "--num-envs", "64", "--threads", "1", "--json"], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout)["env_steps_per_sec"]


def ppo_sps():
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([BIN, "train", "configs/ppo_harvest_none.toml", "--set", "total_steps=40960", "--set",
                        "eval.episodes=1", "--quiet", "--out", f"{out}/run"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        last = Path(out, "run/metrics.jsonl").read_text().splitlines()[-1]
        return json.loads(last)["sps"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rates = {name: [] for name, _ in ENVS}
    for _ in range(args.rounds):
        for name, cmd in ENVS:
            rates[name].append(bench(cmd))
    median = {name: statistics.median(r) for name, r in rates.items()}
    coin = median[ENVS[0][0]]
    print(f"| env | env-steps/s (median of {args.rounds}) | ratio to the Coin Game |")
    print("|---|---|---|")
    for name, _ in ENVS:
        print(f"| {name} | {median[name]:,.0f} | {median[name] / coin:.2f} |")
    sps = statistics.median(ppo_sps() for _ in range(args.rounds))
    print(f"\nPPO, configs/ppo_harvest_none.toml (fused CPU step): {sps:,.0f} env-steps/s (median of {args.rounds})")
    ref, data, game = (os.environ.get(k) for k in ("MACHIAVELLI_REF", "MACHIAVELLI_DATA", "MACHIAVELLI_GAME"))
    if ref and data and game:
        out = subprocess.run([os.environ.get("MACHIAVELLI_PYTHON", sys.executable), "scripts/machiavelli_speed.py", data,
                              game, "--moralgym", BIN, "--seconds", "10"], capture_output=True, text=True, cwd=ROOT,
                             check=True)
        r = json.loads(out.stdout[out.stdout.index("{"):])
        print(f"\nMACHIAVELLI's env against Machiavelli-v0 on {game}, one core each, decisions/s: "
              f"{r['machiavelli_decisions_per_s']:,.0f} against {r['moralgym_decisions_per_s']:,.0f} "
              f"({r['ratio']:.0f} times), {r['moralgym_with_features_decisions_per_s']:,.0f} with text features "
              f"({r['ratio_with_features']:.0f} times)")
    jaxmarl()
    cleanrl()


def cleanrl():
    if not (os.environ.get("CLEANRL") and os.environ.get("TORCH_PYTHON")):
        return
    out = subprocess.run([sys.executable, "scripts/cleanrl_speed.py"], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    r = json.loads(out.stdout)
    print(f"\nCleanRL's ppo.py (PyTorch {r['torch']}, CPU) against moralgym train, PPO on Harvest (the training "
          f"goal's configuration), {r['steps']:,} env steps each: {r['cleanrl_sps']:,} env-steps/s against "
          f"{r['moralgym_sps']:,} ({r['ratio']} times)")


def jaxmarl():
    python = os.environ.get("JAXMARL_PYTHON")
    if not python:
        return
    for envs in (1024, 64):
        out = subprocess.run([python, "scripts/jaxmarl_speed.py", "--moralgym", BIN, "--envs", str(envs)],
                             capture_output=True, text=True, cwd=ROOT, check=True)
        r = json.loads(out.stdout[out.stdout.index("{"):])
        print(f"\nJaxMARL's Coin Game against CoinGame-v1 on its board (3x3 torus, 5 actions), {envs} copies, "
              f"env-steps/s: {r['jaxmarl_env_steps_per_s']:,} (JAX on the CPU, every core) against "
              f"{r['moralgym_1_thread']:,} on 1 thread ({r['ratio_1_thread']} times) and "
              f"{r['moralgym_all_threads']:,} on {r['cores']} ({r['ratio_all_threads']} times)")


if __name__ == "__main__":
    main()
