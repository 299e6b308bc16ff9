"""Sweeps on a Ray cluster: every grid point of a sweep file is a Ray Tune trial.

    import moralgym.ray
    result = moralgym.ray.sweep("configs/sweep_coin_game.toml", address="auto")

or from a shell, on any machine of the cluster:

    python -m moralgym.ray configs/sweep_coin_game.toml --address auto

Each trial trains one point with the Rust trainer (``moralgym.train``) in a scratch directory on
whichever node runs it, reports the training statistics to Tune after every update and the
evaluated return and costs at the end, with the whole run directory as its Tune checkpoint. The
driver copies each checkpoint back to ``out_dir/points/NNNN`` and writes ``points.csv``,
``points.json``, ``front.csv``, ``front.json`` (with the hypervolume) and the plots with the same
Rust code as ``moralgym sweep``, so both give the same files for the same sweep. A trial that
fails (an error, or its worker process dying) is retried from scratch up to ``max_failures``
times; points that still fail are listed in ``failures.json`` and raised as
:class:`SweepFailed` after the outputs of the other points are written. Points already finished
in ``out_dir`` (by either kind of sweep) are not trained again. Needs ``pip install "ray[tune]"``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from . import _moralgym
from ._moralgym import MoralgymError
from .training import ConfigSource, SweepResult, _source, train


class SweepFailed(MoralgymError):
    """Some points failed on every try; ``failures`` maps their index to the last error."""

    def __init__(self, message: str, failures: dict[int, str], result: SweepResult):
        super().__init__(message)
        self.failures = failures
        self.result = result


def _trial(config: dict, points: dict[int, dict], objective_agents: list[int], on_iteration) -> None:
    """Trains one point inside a Tune trial and reports it, with the run directory as checkpoint."""
    from ray import tune

    index = config["index"]
    point = points[index]
    scratch = Path(tempfile.mkdtemp(prefix=f"moralgym-point-{index:04d}-"))
    run_dir = scratch / "run"

    def report(it: dict) -> None:
        if on_iteration is not None:
            on_iteration(index, it)
        metrics = {"update": it["update"], "global_step": it["global_step"]}
        if it.get("episodic_return") is not None:
            metrics["episodic_return"] = it["episodic_return"]
        metrics.update({f"episodic_cost/{k}": v for k, v in it.get("costs", {}).items()})
        tune.report(metrics)

    try:
        train(point["run_config"], out_dir=run_dir, on_iteration=report)
        summary = json.loads((run_dir / "eval.json").read_text())["summary"]
        n = max(len(objective_agents), 1)
        final = {
            "index": index,
            "return": sum(summary["return_per_agent"][i]["mean"] for i in objective_agents) / n,
            **{
                f"cost/{name}": sum(by_agent[i] for i in objective_agents) / n
                for name, by_agent in summary["cost_by_agent"].items()
            },
        }
        tune.report(final, checkpoint=tune.Checkpoint.from_directory(str(run_dir)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def sweep(
    sweep_config: ConfigSource,
    address: str | None = None,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    resources_per_trial: Mapping[str, float] | None = None,
    max_concurrent_trials: int | None = None,
    max_failures: int = 2,
    storage_path: str | os.PathLike[str] | None = None,
    on_iteration: Callable[[int, dict], Any] | None = None,
    verbose: int = 0,
) -> SweepResult:
    """Runs every unfinished point of ``sweep_config`` as a Ray Tune trial and writes the outputs.

    ``sweep_config`` is a sweep file (TOML) or a mapping with its keys (docs/sweeps.md);
    ``overrides`` are ``key=value`` strings as for ``moralgym sweep --set``; ``out_dir`` replaces
    the file's. ``address`` is the Ray cluster to join (``"auto"``, ``"ray://host:10001"``);
    ``None`` joins the running instance if there is one, else starts a local one. Each trial asks
    for ``resources_per_trial`` (default one CPU); ``max_concurrent_trials`` defaults to the
    file's ``parallel`` on a local instance and to no limit on a cluster. ``storage_path`` is
    where Tune keeps trial checkpoints (default ``out_dir/ray``; on a multi-node cluster it must be
    reachable from every node, e.g. a shared filesystem or ``s3://...``). ``on_iteration(index,
    stats)`` runs in the trial after every update.
    """
    import ray
    from ray import tune

    source, is_path = _source(sweep_config)
    out = None if out_dir is None else os.fspath(out_dir)
    plan = json.loads(_moralgym.sweep_plan(source, is_path, list(overrides), out))
    config = plan["config"]
    root = Path(config["out_dir"]).resolve()
    points = {p["index"]: p for p in plan["points"]}
    todo = [p["index"] for p in plan["points"] if not p["finished"]]
    failures: dict[int, str] = {}
    if todo:
        started = not ray.is_initialized()
        if started:
            ray.init(address=address, log_to_driver=verbose > 0, include_dashboard=False)
        try:
            limit = max_concurrent_trials
            if limit is None and address is None:
                limit = config.get("parallel", 1)
            objective = plan["agents"]
            trainable = tune.with_parameters(_trial, points=points, objective_agents=objective, on_iteration=on_iteration)
            trainable = tune.with_resources(trainable, dict(resources_per_trial or {"cpu": 1}))
            tuner = tune.Tuner(
                trainable,
                param_space={"index": tune.grid_search(todo)},
                tune_config=tune.TuneConfig(max_concurrent_trials=limit),
                run_config=tune.RunConfig(
                    name=time.strftime("moralgym_sweep_%Y%m%d_%H%M%S"),
                    storage_path=os.fspath(storage_path) if storage_path is not None else str(root / "ray"),
                    failure_config=tune.FailureConfig(max_failures=max_failures),
                    verbose=verbose,
                ),
            )
            for result in tuner.fit():
                index = result.config["index"]
                if result.error is not None or result.checkpoint is None:
                    failures[index] = str(result.error or "the trial ended without a checkpoint")
                    continue
                point = points[index]
                run_dir = Path(point["run_dir"])
                shutil.rmtree(run_dir, ignore_errors=True)
                result.checkpoint.to_directory(str(run_dir))
                (run_dir / "point.json").write_text(point["identity"])
        finally:
            if started:
                ray.shutdown()
    _moralgym.sweep_collect(json.dumps(config))
    result = SweepResult.read(root, failures)
    failures_path = root / "failures.json"
    if failures:
        failures_path.write_text(json.dumps({str(k): v for k, v in sorted(failures.items())}, indent=2))
        listed = ", ".join(str(i) for i in sorted(failures))
        raise SweepFailed(
            f"{len(failures)} of {len(points)} points failed after {max_failures} retries: {listed} "
            f"(errors in {failures_path}; the other points' outputs are written)",
            failures,
            result,
        )
    failures_path.unlink(missing_ok=True)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m moralgym.ray", description="Run a moralgym sweep on Ray Tune.")
    p.add_argument("sweep", help="sweep file (TOML)")
    p.add_argument("--address", default=None, help='Ray cluster to join ("auto", "ray://host:10001"); default: local')
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", default=None, help="output directory (replaces the file's out_dir)")
    p.add_argument("--cpus-per-trial", type=float, default=1.0)
    p.add_argument("--max-failures", type=int, default=2)
    p.add_argument("--storage-path", default=None, help="where Tune keeps checkpoints (shared on a cluster)")
    args = p.parse_args(argv)
    result = sweep(
        args.sweep,
        args.address,
        out_dir=args.out,
        overrides=args.overrides,
        resources_per_trial={"cpu": args.cpus_per_trial},
        max_failures=args.max_failures,
        storage_path=args.storage_path,
    )
    front = result.front
    print(
        f"{len(result.points)} points, {len(front.get('points', []))} on the front, "
        f"hypervolume {front.get('hypervolume')}; outputs in {result.out_dir}"
    )


if __name__ == "__main__":
    main()
