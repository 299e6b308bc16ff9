"""Specs and spaces: the Rust spec as a Python object, and its Gymnasium spaces."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from ._moralgym import RawEnv
from .checks import config_json


@dataclass(frozen=True)
class CostComponent:
    """One cost component: name, meaning, unit, default per-episode limit, hypervolume reference."""

    name: str
    meaning: str
    unit: str
    default_limit: float
    reference: float


@dataclass(frozen=True)
class EnvSpec:
    """Everything fixed about a configured environment."""

    id: str
    num_agents: int
    agents: tuple[str, ...]
    observation_shape: tuple[int, ...]
    observation_low: float
    observation_high: float
    num_actions: int
    max_episode_steps: int
    has_action_mask: bool
    costs: tuple[CostComponent, ...]
    return_reference: float

    @property
    def cost_names(self) -> list[str]:
        return [c.name for c in self.costs]

    def observation_space(self) -> spaces.Box:
        return spaces.Box(
            low=np.float32(self.observation_low),
            high=np.float32(self.observation_high),
            shape=self.observation_shape,
            dtype=np.float32,
        )

    def action_space(self) -> spaces.Discrete:
        return spaces.Discrete(self.num_actions)


def parse_spec(spec_json: str) -> EnvSpec:
    s = json.loads(spec_json)
    obs = s["observation_space"]
    if obs["type"] != "box":
        raise ValueError(f"unsupported observation space {obs}")
    high = obs["high"] if obs["high"] is not None else float("inf")
    return EnvSpec(
        id=s["id"],
        num_agents=s["num_agents"],
        agents=tuple(s["agents"]),
        observation_shape=tuple(obs["shape"]),
        observation_low=obs["low"],
        observation_high=high,
        num_actions=s["action_space"]["n"],
        max_episode_steps=s["max_episode_steps"],
        has_action_mask=s["has_action_mask"],
        costs=tuple(CostComponent(**c) for c in s["cost_spec"]["components"]),
        return_reference=s["return_reference"],
    )


def spec_of(env_id: str, **config: Any) -> EnvSpec:
    """The spec of ``env_id`` with these config keys."""
    return parse_spec(RawEnv(env_id, config_json(config)).spec_json())
