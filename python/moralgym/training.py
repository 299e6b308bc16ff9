"""Training from Python: the Rust trainer and sweeps behind ``moralgym train`` and
``moralgym sweep``, in process.

>>> result = moralgym.train("configs/ppo_coin_game_none.toml", overrides=["total_steps=20000"])
>>> result.eval["return"]["mean"], result.out_dir
>>> front = moralgym.sweep("configs/sweep_coin_game.toml").front

The interpreter lock is released while they train, so other Python threads keep running.
Sweeps across machines: :mod:`moralgym.ray`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, Union

from . import _moralgym

ConfigSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def rollout(
    env_id: str,
    policy: str = "random",
    episodes: int = 5,
    seed: int = 0,
    config: Mapping[str, Any] | None = None,
    llm: Mapping[str, Any] | None = None,
) -> list[dict]:
    """Plays ``episodes`` seeded episodes with a named policy and returns their reports (returns,
    costs per component and agent, social and env metrics, and ``policy_stats``).

    ``policy`` is any name of ``moralgym envs``' catalogue (``random``, scripted ones) or a
    language-model agent: ``llm``, ``llm_ethical``, ``llm_cot``, ``llm_ethical_cot``. ``llm`` holds
    its settings (``base_url``, ``model``, ``temperature``, ``concurrency``, ``cache_dir``, ... as in
    docs/llm.md); left out, they come from ``OPENAI_BASE_URL`` and ``MORALGYM_LLM_MODEL``. The
    interpreter lock is released while it plays.
    """
    text = _moralgym.rollout(
        env_id, json.dumps(dict(config or {})), policy, int(episodes), int(seed), None if llm is None else json.dumps(dict(llm))
    )
    return json.loads(text)


@dataclass(frozen=True)
class TrainResult:
    """A finished run: where its outputs are and its final evaluation."""

    out_dir: Path
    """The run directory (``config.toml``, ``metrics.jsonl``, ``tb/``, ``checkpoints/``, ``eval.json``)."""
    updates: int
    """PPO updates done."""
    global_step: int
    """Env steps done."""
    eval: dict | None
    """The evaluation summary (what ``eval.json`` holds under ``summary``); None when skipped."""


@dataclass(frozen=True)
class SweepResult:
    """What a sweep wrote: its directory, the finished points and the front."""

    out_dir: Path
    points: list[dict]
    """Every finished point (what ``points.json`` holds)."""
    front: dict
    """``front.json``: the non-dominated points, reference point, hypervolume and baselines."""
    failures: dict[int, str]
    """Points that failed (Ray sweeps only), with the last error."""

    @classmethod
    def read(cls, out_dir: str | os.PathLike[str], failures: dict[int, str] | None = None) -> SweepResult:
        """The outputs of the sweep in ``out_dir``."""
        root = Path(out_dir)
        return cls(
            root,
            json.loads((root / "points.json").read_text()),
            json.loads((root / "front.json").read_text()),
            dict(failures or {}),
        )


def _source(config: ConfigSource) -> tuple[str, bool]:
    """A config as the Rust side takes it: a TOML path, or JSON text."""
    if isinstance(config, (str, os.PathLike)):
        return os.fspath(config), True
    if isinstance(config, Mapping):
        return json.dumps(config, default=os.fspath), False
    raise TypeError(f"config must be a TOML path or a mapping, not {type(config).__name__}")


def train(
    config: ConfigSource,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    quiet: bool = True,
    on_iteration: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Trains as ``moralgym train`` does, writing the same outputs.

    ``config`` is a run config: a TOML file or a mapping with the same keys (docs/training.md).
    ``overrides`` are ``key=value`` strings like ``--set``; ``out_dir`` replaces the config's.
    ``on_iteration`` receives each update's statistics (what a line of ``metrics.jsonl`` holds);
    an exception it raises stops the run and propagates. Bad configs raise ``MoralgymError``.
    """
    source, is_path = _source(config)
    hook = None if on_iteration is None else (lambda line: on_iteration(json.loads(line)))
    out = None if out_dir is None else os.fspath(out_dir)
    raw = json.loads(_moralgym.train(source, is_path, list(overrides), out, quiet, hook))
    return TrainResult(Path(raw["out_dir"]), raw["updates"], raw["global_step"], raw["eval"])


def sweep(
    sweep_config: ConfigSource,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    quiet: bool = True,
) -> SweepResult:
    """Runs a sweep on this machine, as ``moralgym sweep`` does, and returns its outputs.

    ``sweep_config`` is a sweep file (TOML) or a mapping with its keys (docs/sweeps.md);
    ``overrides`` are ``key=value`` strings (quote keys with dots: ``grid."cost.default_weight"=[0, 1]``).
    """
    source, is_path = _source(sweep_config)
    out = None if out_dir is None else os.fspath(out_dir)
    config = json.loads(_moralgym.sweep_run(source, is_path, list(overrides), out, quiet))
    return SweepResult.read(config["out_dir"])
