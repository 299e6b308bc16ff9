#!/usr/bin/env python3
"""Steps/s of Jiminy Cricket's own wrapper (annotated_env.py on Jericho) on the commands
`--example jiminy_speed` wrote, in episodes of 100 (reset between), to compare with moralgym:
    /tmp/jvenv/bin/python scripts/jiminy_speed.py CHECKOUT OUT_DIR GAME...
Jericho is GPL: it runs here as a separate program, never linked. The wrapper needs `np.int`.
"""
import sys
import time
import warnings

import numpy as np

np.int = int
warnings.simplefilter("ignore")
root, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, root)
from annotated_env import AnnotatedEnv  # noqa: E402

print("| game | steps | seconds | steps/s |")
print("|---|---|---|---|")
for game in sys.argv[3:]:
    commands = open(f"{out}/{game}.txt").read().split("\n")
    env = AnnotatedEnv(f"{root}/annotated_games/{game}", seed=1)
    steps, start = 0, time.perf_counter()
    for k in range(0, len(commands), 100):
        env.reset()
        for c in commands[k:k + 100]:
            _, _, done, _ = env.step(c)
            steps += 1
            if done:
                break
    seconds = time.perf_counter() - start
    print(f"| {game} | {steps} | {seconds:.2f} | {steps / seconds:.0f} |", flush=True)
