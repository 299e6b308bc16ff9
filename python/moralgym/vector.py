"""Native vector envs: all copies stepped in Rust with the interpreter lock released, results
copied once per buffer into numpy arrays, finished copies reset in the same step."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ._moralgym import MoralgymError, RawVecEnv
from .checks import action_array, config_json
from .spec import parse_spec


def _seed(seed: int | None) -> int:
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]) if seed is None else int(seed)


class _Batched:
    def __init__(self, env_id: str, num_envs: int, threads: int, config: dict[str, Any]):
        self._raw = RawVecEnv(env_id, config_json(config), num_envs, threads)
        self.moralgym_spec = parse_spec(self._raw.spec_json())
        self.cost_names = self.moralgym_spec.cost_names
        self.num_envs = num_envs
        spec = self.moralgym_spec
        self._shape = (num_envs, spec.num_agents) + spec.observation_shape
        self._k = len(spec.costs)

    def _arrays(self, actions):
        acts = action_array(actions)
        obs, rew, costs, term, trunc, done, final = self._raw.step(acts)
        n, a = self.num_envs, self.moralgym_spec.num_agents
        return (
            obs.reshape(self._shape),
            rew.reshape(n, a),
            costs.reshape(n, a, self._k),
            term.reshape(n, a),
            trunc.reshape(n, a),
            done,
            final.reshape(self._shape),
        )

    def action_masks(self) -> np.ndarray:
        """Legal actions ``[num_envs, agents, actions]``."""
        spec = self.moralgym_spec
        return np.stack(
            [np.stack([self._raw.action_mask(e, i) for i in range(spec.num_agents)]) for e in range(self.num_envs)]
        )


class MoralGymVectorEnv(_Batched, VectorEnv):
    """A ``gymnasium.vector.VectorEnv`` over one-agent moralgym envs (same-step autoreset: the
    last observation of a finished episode is in ``infos["final_obs"]``)."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, env_id: str, num_envs: int, *, threads: int = 1, seed: int | None = None, **config: Any):
        _Batched.__init__(self, env_id, num_envs, threads, config)
        spec = self.moralgym_spec
        if spec.num_agents != 1:
            raise MoralgymError(f"{env_id} has {spec.num_agents} agents; use moralgym.make_vec for a multi-agent vector env")
        self.single_observation_space = spec.observation_space()
        self.single_action_space = spec.action_space()
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._default_seed = seed

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        seed = self._default_seed if seed is None else seed
        self._default_seed = None  # later resets without a seed draw a fresh one
        obs = self._raw.reset(_seed(seed)).reshape(self._shape)[:, 0]
        return obs, {}

    def step(self, actions):
        obs, rew, costs, term, trunc, done, final = self._arrays(actions)
        infos = {
            "cost": costs[:, 0].sum(axis=1),
            "costs": {name: costs[:, 0, k] for k, name in enumerate(self.cost_names)},
            "final_obs": final[:, 0],
            "_final_obs": done,
        }
        return obs[:, 0], rew[:, 0], term[:, 0], trunc[:, 0], infos


class ParallelVectorEnv(_Batched):
    """``num_envs`` copies of a multi-agent env; every array is shaped ``[num_envs, agents, ...]``.

    ``step`` returns ``(obs, rewards, costs, terminated, truncated, infos)`` with
    ``infos["done"]`` (copies that finished an episode and were reset) and ``infos["final_obs"]``.
    """

    def __init__(self, env_id: str, num_envs: int, *, threads: int = 1, seed: int | None = None, **config: Any):
        _Batched.__init__(self, env_id, num_envs, threads, config)
        self.single_observation_space = self.moralgym_spec.observation_space()
        self.single_action_space = self.moralgym_spec.action_space()
        self._default_seed = seed

    def reset(self, *, seed: int | None = None):
        seed = self._default_seed if seed is None else seed
        self._default_seed = None
        return self._raw.reset(_seed(seed)).reshape(self._shape), {}

    def step(self, actions):
        obs, rew, costs, term, trunc, done, final = self._arrays(actions)
        return obs, rew, costs, term, trunc, {"done": done, "final_obs": final}

    def close(self):
        pass
