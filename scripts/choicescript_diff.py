#!/usr/bin/env python3
"""Differential test of moralgym's ChoiceScript interpreter against the reference interpreter.

For each game folder, plays the same routes in both (always the first option, always the last, a
cycle, and N random routes whose picks are drawn here, each taken modulo the options offered) and
reports, per route, the first decision where the narration or the options differ (whitespace
normalised). Prints a Markdown table: game, lines, loads in moralgym, random-play errors in each,
routes identical.

The reference interpreter is never part of moralgym (its licence forbids reuse): point
CHOICESCRIPT_REF at a local clone of dfabulich/choicescript. Needs Node.js, and the moralgym binary
(`cargo build --release`; --moralgym names another).

    CHOICESCRIPT_REF=~/choicescript python3 scripts/choicescript_diff.py GAME_DIR... [--random 20]
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "choicescript_reference.js"


def normalise(text):
    """Collapses whitespace and drops link markup (the reference prints `[url=...]text[/url]`)."""
    text = re.sub(r"\[url=[^\]]*\]|\[/url\]", "", text or "")
    return " ".join(text.split())


def records(cmd, env=None, timeout=120):
    """Runs a transcript command; its JSON lines, or one error record if it failed."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [{"end": "error", "narration": "", "error": f"timed out after {timeout} s"}]
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines or "end" not in lines[-1]:
        err = (out.stderr.strip().splitlines() or ["no output"])[-1]
        lines.append({"end": "error", "narration": "", "error": err})
    return lines


def reference(game, route, max_decisions, seed):
    env = dict(os.environ)
    return records(["node", str(DRIVER), str(game), route, str(max_decisions), str(seed)], env)


def moralgym(binary, game, route, max_decisions, seed):
    cmd = [binary, "story", "transcript", str(game), "--route", route, "--max-decisions", str(max_decisions),
           "--seed", str(seed)]
    return records(cmd)


def around(a, b):
    """The two texts from a little before the first character where they differ."""
    at = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(at - 40, 0)
    return a[start:at + 80], b[start:at + 80]


def first_difference(a, b):
    """Index and description of the first record where two transcripts differ, or None."""
    for k, (x, y) in enumerate(zip(a, b)):
        if x.get("end") == y.get("end") == "error":
            return None  # both stop on an error here: what each printed before it does not count
        ours, theirs = normalise(x.get("narration")), normalise(y.get("narration"))
        if ours != theirs:
            ours, theirs = around(ours, theirs)
            return k, f"narration: moralgym {ours!r} / reference {theirs!r}"
        if x.get("options") != y.get("options"):
            return k, f"options: moralgym {x.get('options')} / reference {y.get('options')}"
        if ("end" in x) != ("end" in y) or x.get("end") != y.get("end"):
            return k, f"end: moralgym {x.get('end')} {x.get('error') or ''} / reference {y.get('end')} {y.get('error') or ''}"
    if len(a) != len(b):
        return min(len(a), len(b)), f"length: moralgym {len(a)} records / reference {len(b)}"
    return None


def label(game):
    """The game's name: its folder, or the first folder above the usual `web/mygame/scenes`."""
    parts = [p for p in Path(game).resolve().parts if p not in ("scenes", "mygame", "web")]
    return parts[-1] if parts else str(game)


def lines_of(game):
    return sum(len(p.read_text(errors="replace").splitlines()) for p in Path(game).glob("*.txt"))


def loads(binary, game):
    out = subprocess.run([binary, "story", "transcript", str(game), "--max-decisions", "0"], capture_output=True,
                         text=True)
    return out.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("games", nargs="+", help="ChoiceScript game folders (startup.txt inside)")
    ap.add_argument("--random", type=int, default=20, help="random routes per game")
    ap.add_argument("--max-decisions", type=int, default=200)
    ap.add_argument("--moralgym", default=str(HERE.parent / "target/release/moralgym"))
    ap.add_argument("--verbose", action="store_true", help="print each differing route")
    ap.add_argument("--record", action="store_true",
                    help="write the reference's first, last and cycle transcripts of each game as ROUTE.expected.jsonl "
                         "in its folder (the test games under envs/tests/choicescript/conformance)")
    args = ap.parse_args()
    if not os.environ.get("CHOICESCRIPT_REF"):
        sys.exit("set CHOICESCRIPT_REF to a local clone of the reference interpreter")
    if args.record:
        for game in args.games:
            for route in ["first", "last", "cycle"]:
                lines = reference(game, route, 20, 0)
                Path(game, f"{route}.expected.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
        return
    rng = random.Random(0)
    print("| game | lines | loads in moralgym | random-play errors (moralgym / reference) | routes identical |")
    print("|---|---|---|---|---|")
    total_same = total_routes = 0
    for game in args.games:
        routes = ["first", "last", "cycle"]
        routes += ["picks:" + ",".join(str(rng.randrange(1 << 20)) for _ in range(args.max_decisions))
                   for _ in range(args.random)]
        errors = [0, 0]
        same = 0
        for k, route in enumerate(routes):
            ours = moralgym(args.moralgym, game, route, args.max_decisions, k)
            theirs = reference(game, route, args.max_decisions, k)
            if route.startswith("picks:"):
                errors[0] += ours[-1].get("end") == "error"
                errors[1] += theirs[-1].get("end") == "error"
            diff = first_difference(ours, theirs)
            same += diff is None
            if diff and args.verbose:
                name = route if len(route) < 20 else f"random {k - 2}"
                print(f"  {label(game)} {name}: decision {diff[0]}: {diff[1]}", file=sys.stderr)
        total_same += same
        total_routes += len(routes)
        print(f"| {label(game)} | {lines_of(game)} | {'yes' if loads(args.moralgym, game) else 'no'} "
              f"| {errors[0]} / {errors[1]} of {args.random} | {same} of {len(routes)} |")
    print(f"\n{total_same} of {total_routes} routes identical ({100 * total_same / max(total_routes, 1):.1f} %)")


if __name__ == "__main__":
    main()
