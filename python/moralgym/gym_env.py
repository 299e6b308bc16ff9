"""The Gymnasium API for one-agent moralgym environments."""

from __future__ import annotations

from typing import Any

import string

import gymnasium
import numpy as np
from gymnasium import spaces

from ._moralgym import MoralgymError
from .checks import action as checked_action
from .core import Core, CoreEnvMixin


# Characters a story may use: printable ASCII, Latin letters with accents, general punctuation.
CHARSET = "".join(
    sorted(set(string.printable) | {chr(c) for c in range(0xA0, 0x250)} | {chr(c) for c in range(0x2000, 0x2070)} | {"\u20ac"})
)
TEXT_MAX = 100_000


class MoralGymEnv(CoreEnvMixin, gymnasium.Env):
    """A one-agent moralgym env as a ``gymnasium.Env``.

    The reward is the task reward; ``info["cost"]`` (sum) and ``info["costs"]`` (per component)
    report the ethical costs, ``info["events"]`` what caused them. Envs with action masks put the
    mask in ``info["action_mask"]`` and answer ``action_masks()`` (sb3-contrib's convention).
    Text games observe a dict: ``text`` (narration), ``choices``, ``features`` (the numeric
    rendering) and ``action_mask``; their info adds the raw ``annotation`` of the scenes passed.
    They also take a command in words as the action: ``env.step("open mailbox")`` plays the
    offered choice with those words, and parser games (``JiminyCricket-v0``) play any command
    (see ``command_action``).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, env_id: str, *, illegal_action: str = "raise", render_mode: str | None = None, **config: Any):
        self._core = Core(env_id, illegal_action, config)
        self._init_args = (env_id, {"illegal_action": illegal_action, "render_mode": render_mode, **config})
        if self._core.n != 1:
            raise MoralgymError(
                f"{env_id} has {self._core.n} agents in this config; use moralgym.make(...) for its PettingZoo "
                "ParallelEnv, or set num_agents=1 where the env allows it"
            )
        if render_mode not in (None, "ansi"):
            raise MoralgymError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.moralgym_spec = self._core.spec
        self.cost_names = self._core.spec.cost_names
        self.action_space = self._core.spec.action_space()
        features = self._core.spec.observation_space()
        if self._core.is_text:
            text = spaces.Text(max_length=TEXT_MAX, min_length=0, charset=CHARSET)
            self.observation_space = spaces.Dict(
                {
                    "text": text,
                    "choices": spaces.Sequence(text, stack=False),
                    "features": features,
                    "action_mask": spaces.Box(0, 1, (self._core.spec.num_actions,), np.int8),
                }
            )
        else:
            self.observation_space = features

    def _observe(self, features: np.ndarray):
        if not self._core.is_text:
            return features
        narration, choices = self._core.raw.text()
        return {
            "text": narration,
            "choices": tuple(choices),
            "features": features,
            "action_mask": self._core.mask(0),
        }

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        obs = self._core.raw.reset(seed).reshape(self._core.shape)
        info: dict[str, Any] = {}
        if self._core.spec.has_action_mask:
            info["action_mask"] = self._core.mask(0)
        return self._observe(obs), info

    def command_action(self, command: str) -> int:
        """The action that plays ``command`` now: text games find the offered choice with these
        words (case aside); parser games take any command, adding it to the offered choices (in
        the last slot when all are taken)."""
        if not isinstance(command, str):
            raise MoralgymError(f"a command is a str, got {type(command).__name__}")
        return self._core.raw.offer_command(0, command)

    def walkthrough_command(self) -> str | None:
        """The command the game's own walkthrough plays at this step (parser games), else None."""
        return self._core.raw.walkthrough_command(0)

    def step(self, action):
        if isinstance(action, str):
            action = self.command_action(action)
        obs, rewards, terminated, truncated, infos = self._core.step([checked_action(action)])
        return self._observe(obs[0]), float(rewards[0]), bool(terminated[0]), bool(truncated[0]), infos[0]

    def action_masks(self) -> np.ndarray:
        """Legal actions now (all True for envs without masks)."""
        return self._core.raw.action_mask(0)
