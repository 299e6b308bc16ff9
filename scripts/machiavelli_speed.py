#!/usr/bin/env python3
"""Decisions per second of MACHIAVELLI's own env and of moralgym's Machiavelli-v0 on the same
game_data folder, one core each, in the same run, with a random agent.

MACHIAVELLI's code (MIT) is not part of moralgym: point MACHIAVELLI_REF at a checkout of it (its
`machiavelli` package inside) and run this with a Python that has its dependencies (asteval,
gym, numpy).

    MACHIAVELLI_REF=~/machiavelli python3 scripts/machiavelli_speed.py GAME_DATA GAME \
        --moralgym target/release/moralgym [--seconds 20]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def machiavelli_rate(data, game, seconds):
    ref = os.environ.get("MACHIAVELLI_REF")
    if not ref:
        sys.exit("set MACHIAVELLI_REF to a checkout of MACHIAVELLI's code")
    sys.path.insert(0, os.path.abspath(ref))
    # Its config reads ./game_data: run from a folder where that is the data.
    work = tempfile.mkdtemp()
    os.symlink(os.path.abspath(data), os.path.join(work, "game_data"))
    os.chdir(work)
    import numpy as np
    from machiavelli.game.machiavelli_env import MachiavelliEnv

    env = MachiavelliEnv(game=game)
    decisions, episodes, seed = 0, 0, 2417
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, info = env.reset(seed=seed)
        done = False
        while not done:
            action = np.random.choice(info["game_state"]["num_choices"])
            _, _, done, info = env.step(action)
            decisions += 1
        episodes += 1
        seed += 1
    return decisions / (time.perf_counter() - start), episodes


def moralgym_rate(binary, data, game, features):
    out = subprocess.run(
        [binary, "bench", "--env", "Machiavelli-v0", "--set", f"data={data}", "--set", f"game={game}",
         "--set", f"features={'true' if features else 'false'}", "--num-envs", "1", "--threads", "1",
         "--steps", "300000", "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)["env_steps_per_sec"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("game")
    ap.add_argument("--moralgym", default="target/release/moralgym")
    ap.add_argument("--seconds", type=float, default=20.0)
    a = ap.parse_args()
    binary, data = os.path.abspath(a.moralgym), os.path.abspath(a.data)
    ours = moralgym_rate(binary, data, a.game, False)
    ours_features = moralgym_rate(binary, data, a.game, True)
    theirs, episodes = machiavelli_rate(data, a.game, a.seconds)
    print(json.dumps({
        "game": a.game,
        "machiavelli_decisions_per_s": round(theirs, 1),
        "machiavelli_episodes": episodes,
        "moralgym_decisions_per_s": round(ours, 1),
        "moralgym_with_features_decisions_per_s": round(ours_features, 1),
        "ratio": round(ours / theirs, 1),
        "ratio_with_features": round(ours_features / theirs, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
