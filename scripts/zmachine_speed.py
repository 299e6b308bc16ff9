#!/usr/bin/env python3
"""moralgym's Z-machine beside Jericho on the same story files and the same commands.

Run with a Python that has Jericho (GPL: used here only as a comparator, never linked):
    python3 -m venv /tmp/jvenv && /tmp/jvenv/bin/pip install jericho==3.3.1
    cargo build --release -p moralgym-zmachine --example speed
    /tmp/jvenv/bin/python scripts/zmachine_speed.py STORY.z5 [STORY...]

For each story: 500 commands drawn with a fixed seed from a list of common verbs and the
story's own dictionary words; raw steps/s in episodes of 100 commands (as Jiminy Cricket's
experiments run; restarting early at a game's end), the cost of saving and restoring a state
(moralgym two ways: saving into a fork it keeps and going back to it, each after a turn, which
copies the pages the turns wrote; and a new fork, which copies all of dynamic memory, put back
with nothing played), and of state + one step + restore. Both sides run in this one process
tree, one after the other, so the ratios compare like with like.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEED = ROOT / "target" / "release" / "examples" / "speed"
VERBS = ["look", "inventory", "north", "south", "east", "west", "up", "down", "wait", "take all",
         "examine", "take", "drop", "open", "close", "read", "push", "turn on"]


def commands(env, seed=1, n=500):
    rng = random.Random(seed)
    words = [w.word for w in env.get_dictionary()] or ["door"]
    out = []
    for _ in range(n):
        verb = rng.choice(VERBS)
        if verb in ("examine", "take", "drop", "open", "close", "read", "push", "turn on"):
            verb = f"{verb} {rng.choice(words)}"
        out.append(verb)
    return out


def jericho(path, cmds):
    # frotz writes some games' bells straight to standard output, into the table: silence it.
    out = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        return _jericho(path, cmds)
    finally:
        sys.stdout.flush()
        os.dup2(out, 1)
        os.close(null)
        os.close(out)


def _jericho(path, cmds):
    from jericho import FrotzEnv
    env = FrotzEnv(str(path), seed=1)
    env.reset()
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for i, c in enumerate(cmds):
            _, _, done, _ = env.step(c)
            steps += 1
            if done or i % 100 == 99:
                env.reset()
    steps_per_s = steps / (time.perf_counter() - start)
    env.reset()
    for c in cmds[:20]:
        env.step(c)
    n = 5000
    t = time.perf_counter()
    for _ in range(n):
        s = env.get_state()
    get_us = (time.perf_counter() - t) * 1e6 / n
    t = time.perf_counter()
    for _ in range(n):
        env.set_state(s)
    set_us = (time.perf_counter() - t) * 1e6 / n
    k = 2000
    t = time.perf_counter()
    for i in range(k):
        env.set_state(s)
        env.step(cmds[i % len(cmds)])
    fsr_us = (time.perf_counter() - t) * 1e6 / k
    return {"steps_per_s": steps_per_s, "fork_us": get_us, "restore_us": set_us, "fork_step_restore_us": fsr_us}


def main():
    import warnings
    warnings.simplefilter("ignore")
    from jericho import FrotzEnv
    if not SPEED.exists():
        sys.exit(f"build it first: cargo build --release -p moralgym-zmachine --example speed ({SPEED})")
    print("| story | Jericho steps/s | moralgym steps/s | ratio | Jericho get+set state (us) "
          "| moralgym save+restore into a kept fork (us) | ratio | moralgym new fork+restore (us) | ratio "
          "| Jericho state+step+restore (us) | moralgym fork+step+restore (us) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for story in sys.argv[1:]:
        path = Path(story)
        env = FrotzEnv(str(path), seed=1)
        cmds = commands(env)
        env.close()
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(cmds))
        j = jericho(path, cmds)
        m = json.loads(subprocess.run([str(SPEED), str(path), f.name], check=True, capture_output=True,
                                      text=True).stdout)
        jstate = j["fork_us"] + j["restore_us"]
        kept = m["save_us"] + m["back_us"]
        new = m["fork_us"] + m["restore_us"]
        print(f"| {path.name} | {j['steps_per_s']:.0f} | {m['steps_per_s']:.0f} "
              f"| {m['steps_per_s'] / j['steps_per_s']:.1f}x | {jstate:.1f} | {kept:.2f} | {jstate / kept:.0f}x "
              f"| {new:.2f} | {jstate / new:.0f}x | {j['fork_step_restore_us']:.1f} | {m['fork_step_restore_us']:.1f} "
              f"| {j['fork_step_restore_us'] / m['fork_step_restore_us']:.1f}x |", flush=True)

if __name__ == "__main__":
    main()
