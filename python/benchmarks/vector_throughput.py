"""Env steps/s of moralgym's native vector env from Python, against the Rust vector layer alone
and against a pure-Python loop over single PettingZoo envs, measured in one run.

    python python/benchmarks/vector_throughput.py --env CoinGame-v1 --num-envs 64 \
        --moralgym target/release/moralgym
"""

import argparse
import json
import subprocess
import time

import numpy as np

import moralgym


def native(env_id, n, steps):
    venv = moralgym.make_vec(env_id, num_envs=n)
    venv.reset(seed=0)
    spec = venv.moralgym_spec
    rng = np.random.default_rng(0)
    batches = rng.integers(0, spec.num_actions, size=(64, n, spec.num_agents))
    for b in batches:  # warm-up
        venv.step(b)
    start = time.perf_counter()
    for s in range(steps):
        venv.step(batches[s % 64])
    return steps * n / (time.perf_counter() - start)


def python_loop(env_id, n, steps):
    envs = [moralgym.make(env_id) for _ in range(n)]
    for i, e in enumerate(envs):
        e.reset(seed=i)
    spec = envs[0].moralgym_spec
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        for e in envs:
            if not e.agents:
                e.reset()
            e.step({a: int(x) for a, x in zip(e.agents, rng.integers(0, spec.num_actions, len(e.agents)))})
    return steps * n / (time.perf_counter() - start)


def rust(binary, env_id, n, steps):
    out = subprocess.run(
        [binary, "bench", "--env", env_id, "--num-envs", str(n), "--steps", str(steps), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)["env_steps_per_sec"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env", default="CoinGame-v1")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--moralgym", default="target/release/moralgym", help="the moralgym binary")
    a = p.parse_args()
    rows = [
        ("Rust vector layer (moralgym bench)", rust(a.moralgym, a.env, a.num_envs, a.steps * 5)),
        ("make_vec from Python", native(a.env, a.num_envs, a.steps)),
        ("Python loop over single envs", python_loop(a.env, a.num_envs, max(a.steps // 20, 20))),
    ]
    base = rows[2][1]
    print(f"{a.env}, {a.num_envs} copies, 1 thread")
    for name, sps in rows:
        print(f"  {name:<36} {sps:>14,.0f} env-steps/s  {sps / base:>8.1f}x the Python loop")


if __name__ == "__main__":
    main()
