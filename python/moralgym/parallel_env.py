"""The PettingZoo parallel API for multi-agent moralgym environments."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ._moralgym import MoralgymError
from .checks import action as checked_action
from .core import Core, CoreEnvMixin


class MoralGymParallelEnv(CoreEnvMixin, ParallelEnv):
    """A moralgym env as a PettingZoo ``ParallelEnv``: all agents act at once.

    Agents leave ``agents`` when they terminate or are truncated. Rewards are task rewards; each
    agent's info carries ``cost``, ``costs`` and ``events``. In envs with action masks each
    observation is a dict ``{"observation": ..., "action_mask": ...}``, PettingZoo's convention.
    """

    metadata = {"render_modes": ["ansi"], "name": "moralgym", "is_parallelizable": True}

    def __init__(self, env_id: str, *, illegal_action: str = "raise", render_mode: str | None = None, **config: Any):
        self._core = Core(env_id, illegal_action, config)
        self._init_args = (env_id, {"illegal_action": illegal_action, "render_mode": render_mode, **config})
        if render_mode not in (None, "ansi"):
            raise MoralgymError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        spec = self._core.spec
        self.moralgym_spec = spec
        self.cost_names = spec.cost_names
        self.possible_agents = list(spec.agents)
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        box = spec.observation_space()
        if spec.has_action_mask:
            mask = spaces.Box(0, 1, (spec.num_actions,), np.int8)
            self._obs_spaces = {a: spaces.Dict({"observation": box, "action_mask": mask}) for a in self.possible_agents}
        else:
            self._obs_spaces = {a: box for a in self.possible_agents}
        self._act_spaces = {a: spec.action_space() for a in self.possible_agents}

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str):
        return self._obs_spaces[agent]

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str):
        return self._act_spaces[agent]

    def _observe(self, i: int, obs: np.ndarray):
        if self._core.spec.has_action_mask:
            return {"observation": obs, "action_mask": self._core.mask(i)}
        return obs

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        flat = self._core.raw.reset(seed)
        self.agents = self.possible_agents[:]
        obs = self._core.split_obs(flat)
        observations = {a: self._observe(i, obs[i]) for i, a in enumerate(self.possible_agents)}
        return observations, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise MoralgymError("step called with no live agents; call reset first")
        unknown = set(actions) - set(self.possible_agents)
        if unknown:
            raise MoralgymError(f"actions for unknown agents {sorted(unknown)}; agents are {self.possible_agents}")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise MoralgymError(f"no action for live agents {missing}")
        joint = []
        for i, a in enumerate(self.possible_agents):
            if a in self.agents:
                joint.append(checked_action(actions[a]))
            else:  # a finished agent: the env ignores it, so send its first legal action
                legal = np.flatnonzero(self._core.raw.action_mask(i))
                joint.append(int(legal[0]) if len(legal) else 0)
        obs, rewards, terminated, truncated, infos = self._core.step(joint)
        live = self.agents
        out = (
            {a: self._observe(self._index[a], obs[self._index[a]]) for a in live},
            {a: float(rewards[self._index[a]]) for a in live},
            {a: bool(terminated[self._index[a]]) for a in live},
            {a: bool(truncated[self._index[a]]) for a in live},
            {a: infos[self._index[a]] for a in live},
        )
        self.agents = [a for a in live if not (out[2][a] or out[3][a])]
        return out

    def close(self):
        pass
