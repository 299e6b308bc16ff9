"""Wrappers for the two common ways other libraries read costs."""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces


class SafetyGymnasiumStep(gymnasium.Wrapper):
    """Safety-Gymnasium's step: ``(obs, reward, cost, terminated, truncated, info)``, where cost
    is the sum of this step's cost components (``info["costs"]`` keeps them apart)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, info["cost"], terminated, truncated, info


class MultiObjectiveReward(gymnasium.Wrapper):
    """MO-Gymnasium's convention: the reward is the vector ``[reward, -cost_1, ..., -cost_k]``
    and ``reward_space`` declares it (all objectives maximised)."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.cost_names = list(env.unwrapped.cost_names)
        k = len(self.cost_names)
        self.reward_space = spaces.Box(low=-np.inf, high=np.inf, shape=(1 + k,), dtype=np.float32)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        vector = np.array([reward] + [-info["costs"][n] for n in self.cost_names], dtype=np.float32)
        return obs, vector, terminated, truncated, info
