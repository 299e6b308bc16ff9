"""The shared core of the Gymnasium and PettingZoo classes: one Rust env, its spec, and the
conversion of a step into per-agent observations, rewards, costs and infos."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ._moralgym import MoralgymError, RawEnv, env_family
from .checks import config_json
from .spec import parse_spec

ILLEGAL_ACTION_MODES = ("raise", "noop")


class Core:
    def __init__(self, env_id: str, illegal_action: str, config: dict[str, Any]):
        if illegal_action not in ILLEGAL_ACTION_MODES:
            raise MoralgymError(f"illegal_action must be one of {ILLEGAL_ACTION_MODES}, got {illegal_action!r}")
        self.env_id = env_id
        self.config = dict(config)
        self.raw = RawEnv(env_id, config_json(config))
        self.spec = parse_spec(self.raw.spec_json())
        self.illegal_action = illegal_action
        self.shape = self.spec.observation_shape
        self.n = self.spec.num_agents
        self.is_text = env_family(env_id) in ("text", "parser")

    def split_obs(self, flat: np.ndarray) -> list[np.ndarray]:
        return list(flat.reshape((self.n,) + self.shape))

    def mask(self, agent: int) -> np.ndarray:
        return self.raw.action_mask(agent).astype(np.int8)

    def legalise(self, actions: list[int]) -> tuple[list[int], list[bool]]:
        """Applies the illegal-action mode: ``noop`` swaps an illegal action for the first legal one."""
        replaced = [False] * self.n
        if self.illegal_action == "noop":
            for i, a in enumerate(actions):
                if not self.raw.is_legal(i, a):
                    legal = np.flatnonzero(self.raw.action_mask(i))
                    actions[i] = int(legal[0]) if len(legal) else 0
                    replaced[i] = True
        return actions, replaced

    def step(self, actions: list[int]):
        actions, replaced = self.legalise(actions)
        obs, rewards, costs, terminated, truncated, events, task, extra = self.raw.step(actions)
        extra = json.loads(extra)
        k = len(self.spec.costs)
        costs = costs.reshape(self.n, k) if k else np.zeros((self.n, 0), np.float32)
        infos = []
        for i in range(self.n):
            info: dict[str, Any] = {
                "cost": float(costs[i].sum()),
                "costs": {name: float(costs[i, c]) for c, name in enumerate(self.spec.cost_names)},
                "events": [e for e in events if e.startswith(f"agent {i} ")],
            }
            if task is not None:
                info["task_reward"] = float(task[i])
            if replaced[i]:
                info["illegal_action"] = True
            info.update(extra)
            if self.spec.has_action_mask:
                info["action_mask"] = self.mask(i)
            infos.append(info)
        return self.split_obs(obs), rewards, terminated, truncated, infos


class CoreEnvMixin:
    """What the Gymnasium and PettingZoo classes share: pickling and text rendering."""

    def __getstate__(self):
        # Pickling (for subprocess vector envs) recreates the env from its arguments, unreset.
        return self._init_args

    def __setstate__(self, state):
        env_id, kwargs = state
        self.__init__(env_id, **kwargs)

    def render(self):
        if self.render_mode == "ansi":
            return self._core.raw.render()
        return None

    def _agent_index(self, agent) -> int:
        if isinstance(agent, str):
            names = self._core.spec.agents
            if agent not in names:
                raise MoralgymError(f"no agent {agent!r}; agents: {names}")
            return names.index(agent)
        return int(agent)

    def text_rules(self, agent=0) -> str:
        """What ``agent`` (index or name) is told once per episode: the game, its rules, its goal."""
        return self._core.raw.text_rules(self._agent_index(agent))

    def text_observation(self, agent=0) -> dict:
        """What ``agent`` sees now, in words: ``{"situation": str, "actions": [(action, text), ...]}``
        with only the legal actions, as moralgym's language-model agents read it."""
        situation, actions = self._core.raw.text_observation(self._agent_index(agent))
        return {"situation": situation, "actions": [(int(a), str(t)) for a, t in actions]}
