"""moralgym: RL environments that report task reward and named ethical-violation costs apart.

>>> import moralgym
>>> env = moralgym.make("CoinGame-v1")            # a PettingZoo ParallelEnv (two agents)
>>> env = moralgym.make("Harvest-v1", num_agents=1)  # a gymnasium.Env (one agent)
>>> venv = moralgym.make_vec("Cleanup-v1", num_envs=64)

Costs follow Safety-Gymnasium's convention: ``info["cost"]`` is the sum of this step's costs and
``info["costs"]`` maps each component to its value. The reward is the task reward only.
"""

from __future__ import annotations

from typing import Any

from ._moralgym import MoralgymError, env_ids, resolve_config
from .spec import EnvSpec, spec_of
from .training import SweepResult, TrainResult, rollout, sweep, train

__all__ = [
    "MoralgymError",
    "EnvSpec",
    "SweepResult",
    "TrainResult",
    "envs",
    "make",
    "make_vec",
    "rollout",
    "spec_of",
    "sweep",
    "train",
]


def envs() -> dict[str, EnvSpec]:
    """Every registered id with its default spec."""
    return {env_id: spec_of(env_id) for env_id in env_ids()}


def make(env_id: str, *, illegal_action: str = "raise", render_mode: str | None = None, **config: Any):
    """A ``gymnasium.Env`` for one-agent configs, a PettingZoo ``ParallelEnv`` otherwise.

    ``config`` holds the env's keys (see its card in docs/envs/). ``illegal_action="noop"`` makes a
    masked action play the first legal one instead of raising, and flags it in the info.
    """
    spec = spec_of(env_id, **config)
    if spec.num_agents == 1:
        from .gym_env import MoralGymEnv

        return MoralGymEnv(env_id, illegal_action=illegal_action, render_mode=render_mode, **config)
    try:
        from .parallel_env import MoralGymParallelEnv
    except ModuleNotFoundError as e:
        if e.name != "pettingzoo":
            raise
        raise ImportError(
            f"{env_id} has {spec.num_agents} agents: its PettingZoo ParallelEnv needs PettingZoo, "
            "an optional extra: pip install 'moralgym[pettingzoo]' (or pettingzoo)"
        ) from e

    return MoralGymParallelEnv(env_id, illegal_action=illegal_action, render_mode=render_mode, **config)


def make_vec(env_id: str, num_envs: int, *, threads: int = 1, seed: int | None = None, **config: Any):
    """``num_envs`` copies stepped together in Rust.

    One-agent configs give a ``gymnasium.vector.VectorEnv``; multi-agent ones a
    :class:`moralgym.vector.ParallelVectorEnv` whose arrays are shaped ``[num_envs, agents, ...]``.
    """
    from .vector import MoralGymVectorEnv, ParallelVectorEnv

    spec = spec_of(env_id, **config)
    cls = MoralGymVectorEnv if spec.num_agents == 1 else ParallelVectorEnv
    return cls(env_id, num_envs=num_envs, threads=threads, seed=seed, **config)


def _register_with_gymnasium() -> None:
    import gymnasium

    for env_id in env_ids():
        name = f"moralgym/{env_id}"
        if name in gymnasium.registry:
            continue
        gymnasium.register(
            id=name,
            entry_point="moralgym.gym_env:MoralGymEnv",
            vector_entry_point="moralgym.vector:MoralGymVectorEnv",
            kwargs={"env_id": env_id},
            disable_env_checker=False,
        )


_register_with_gymnasium()
