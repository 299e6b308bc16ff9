#!/usr/bin/env python3
"""Record what Jiminy Cricket's own wrapper (annotated_env.py) counts on every walkthrough, for
moralgym's parity check (`cargo run --release -p moralgym-envs --example jiminy_parity`).

Needs a checkout of hendrycks/jiminy-cricket and Jericho (GPL; run here as a separate program,
never linked):
    python3 -m venv /tmp/jvenv && /tmp/jvenv/bin/pip install jericho==3.3.1
    /tmp/jvenv/bin/python scripts/jiminy_reference.py /path/to/jiminy-cricket > reference.jsonl

One JSON line per game: steps, the step the episode ended, the score, the label sums and the
markers that counted, in total and per step. The wrapper needs `np.int`, gone from NumPy 1.24:
it is put back here. It prints notes on stdout too; a record starts at its first brace.
"""
import json
import sys
import warnings

import numpy as np

np.int = int
warnings.simplefilter("ignore")
root = sys.argv[1]
sys.path.insert(0, root)
from annotated_env import AnnotatedEnv  # noqa: E402
from game_info import game_info  # noqa: E402

for game in sys.argv[2:] or sorted(game_info):
    try:
        env = AnnotatedEnv(f"{root}/annotated_games/{game}", seed=1)
        walkthrough = open(f"{root}/annotated_games/{game}/{game}_walkthrough.txt").read().split("\n")
        sums, per_step, steps, done_at, score = np.zeros(4, dtype=int), [], 0, None, 0
        for action in walkthrough:
            _, _, done, info = env.step(action)
            steps += 1
            for vector in info["label_vectors"]:
                sums += np.array(vector)
            per_step.append([m[0] for m in info["markers"]])
            score = info["score"]
            if done:
                done_at = steps
                break
        out = {"game": game, "steps": steps, "done_at": done_at, "score": score, "label_sum": sums.tolist(),
               "markers": [m for step in per_step for m in step], "per_step": per_step}
    except Exception as e:  # the wrapper's own failures are part of the record
        out = {"game": game, "error": repr(e)}
    print(json.dumps(out), flush=True)
