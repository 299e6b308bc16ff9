#!/usr/bin/env python3
"""Training speed side by side: CleanRL's `ppo.py` (PyTorch) and `moralgym train` on the same env and
the same PPO settings, one after the other on this machine.

The configuration is the training speed goal's (docs/training.md): Harvest with the v0 rules, one
agent, 250-step episodes, 8 envs x 128 steps an iteration, 4 epochs x 4 minibatches, actor and critic
64-64 tanh. CleanRL's file runs unmodified from a local checkout, on moralgym's Gymnasium env (the
Python bindings, flattened observations), as a researcher would plug it in; each side runs with its
defaults on the machine's cores.

    CLEANRL=/path/to/cleanrl TORCH_PYTHON=/path/to/venv/bin/python python3 scripts/cleanrl_speed.py

TORCH_PYTHON needs torch, gymnasium, tyro, tensorboard and moralgym's bindings. Prints one JSON
object; `--steps` sets the env steps of each run (default 102,400: 100 iterations).

CleanRL is MIT-licensed; it is run as a comparator from the user's checkout, never shipped.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = str(ROOT / "target/release/moralgym")
ENV_CONFIG = {"num_agents": 1, "max_steps": 250, "player_channels": "self_and_others", "regrowth_radius": 4}

# Runs CleanRL's ppo.py as its own __main__, with the env registered under an id of its own.
SHIM = """
import runpy, sys
import gymnasium, moralgym
config = {config}
gymnasium.register(
    "HarvestGoal-v0",
    entry_point=lambda **_: gymnasium.wrappers.FlattenObservation(moralgym.make("Harvest-v1", **config)),
)
sys.argv = [{ppo!r}] + {args!r}
runpy.run_path({ppo!r}, run_name="__main__")
"""


def cleanrl_sps(cleanrl, python, steps):
    ppo = str(Path(cleanrl) / "cleanrl" / "ppo.py")
    args = ["--env-id", "HarvestGoal-v0", "--num-envs", "8", "--num-steps", "128", "--num-minibatches", "4",
            "--update-epochs", "4", "--total-timesteps", str(steps), "--no-cuda", "--seed", "1"]
    code = SHIM.format(config=repr(ENV_CONFIG), ppo=ppo, args=args)
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=work, check=True)
    sps = [int(s) for s in re.findall(r"^SPS: (\d+)$", out.stdout, re.M)]
    if not sps:
        raise SystemExit(f"CleanRL printed no SPS line:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return sps[-1]


def moralgym_sps(steps):
    config = "\n".join([
        'env = "Harvest-v1"', "seed = 1", "num_envs = 8", f"total_steps = {steps}", "",
        "[env_config]", *(f"{k} = {json.dumps(v)}" for k, v in ENV_CONFIG.items()), "",
        "[ppo]", "num_steps = 128", "num_minibatches = 4", "update_epochs = 4", "",
        "[cost]", 'mode = "none"', "", "[eval]", "episodes = 1", ""])
    with tempfile.TemporaryDirectory() as work:
        path = Path(work, "harvest.toml")
        path.write_text(config)
        subprocess.run([BIN, "train", str(path), "--quiet", "--out", f"{work}/run"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        # Over the whole run, as CleanRL's SPS line counts: every iteration takes the same env
        # steps, so the run's steps/s is the harmonic mean of the iterations' (one a line).
        lines = [json.loads(line) for line in Path(work, "run/metrics.jsonl").read_text().splitlines()]
        return round(statistics.harmonic_mean([m["sps"] for m in lines]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=102_400)
    args = p.parse_args()
    cleanrl, python = os.environ.get("CLEANRL"), os.environ.get("TORCH_PYTHON")
    if not (cleanrl and python):
        raise SystemExit("set CLEANRL (a checkout of vwxyzjn/cleanrl) and TORCH_PYTHON (a python with torch)")
    theirs = cleanrl_sps(cleanrl, python, args.steps)
    ours = moralgym_sps(args.steps)
    version = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    print(json.dumps({"steps": args.steps, "torch": version, "cleanrl_sps": theirs, "moralgym_sps": ours,
                      "ratio": round(ours / theirs, 1)}))


if __name__ == "__main__":
    main()
