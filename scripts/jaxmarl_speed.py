#!/usr/bin/env python3
"""Env-steps/s of JaxMARL's Coin Game beside moralgym's CoinGame-v1 set to the same board (3x3
torus, both players move or stay), in the same run, with random actions.

JaxMARL (Apache-2.0, installed with `pip install jaxmarl`, never part of moralgym) runs on the CPU
here: its step is jit-compiled, vmapped over the copies and scanned over the steps, with its
random actions drawn inside the scan, the way JAX code is benchmarked; XLA may use every core.
moralgym's figure is `moralgym bench` with the same number of copies on 1 thread and on all.

    python scripts/jaxmarl_speed.py --moralgym target/release/moralgym [--envs 1024] [--steps 1000]
"""
import argparse
import json
import os
import subprocess
import time


def jaxmarl_rate(envs, steps, rounds):
    import jax
    import jax.numpy as jnp
    import jaxmarl

    env = jaxmarl.make("coin_game")
    agents = env.agents

    @jax.jit
    def run(key):
        keys = jax.random.split(key, envs)
        _, states = jax.vmap(env.reset)(keys)

        def one(carry, _):
            key, states = carry
            key, k_act, k_step = jax.random.split(key, 3)
            acts = {a: jax.random.randint(jax.random.fold_in(k_act, i), (envs,), 0, 5) for i, a in enumerate(agents)}
            _, states, rewards, _, _ = jax.vmap(env.step)(jax.random.split(k_step, envs), states, acts)
            return (key, states), jnp.sum(rewards[agents[0]])

        _, total = jax.lax.scan(one, (key, states), None, length=steps)
        return total.sum()

    run(jax.random.PRNGKey(0)).block_until_ready()  # compile
    rates = []
    for r in range(rounds):
        start = time.perf_counter()
        run(jax.random.PRNGKey(r + 1)).block_until_ready()
        rates.append(envs * steps / (time.perf_counter() - start))
    return sorted(rates)[len(rates) // 2]


def moralgym_rate(binary, envs, steps, threads):
    cmd = [binary, "bench", "--env", "CoinGame-v1", "--set", "size=3", "--set", "wrap=true", "--set",
           "stay_action=true", "--num-envs", str(envs), "--threads", str(threads), "--steps", str(steps), "--json"]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)["env_steps_per_sec"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moralgym", default="target/release/moralgym")
    ap.add_argument("--envs", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    jax_rate = jaxmarl_rate(args.envs, args.steps, args.rounds)
    one = sorted(moralgym_rate(args.moralgym, args.envs, args.steps, 1) for _ in range(args.rounds))[args.rounds // 2]
    cores = os.cpu_count() or 1
    every = sorted(moralgym_rate(args.moralgym, args.envs, args.steps, cores) for _ in range(args.rounds))[
        args.rounds // 2]
    print(json.dumps({"envs": args.envs, "steps": args.steps, "cores": cores, "jaxmarl_env_steps_per_s": round(jax_rate),
                      "moralgym_1_thread": round(one), "moralgym_all_threads": round(every),
                      "ratio_1_thread": round(one / jax_rate, 1), "ratio_all_threads": round(every / jax_rate, 1)},
                     indent=2))


if __name__ == "__main__":
    main()
