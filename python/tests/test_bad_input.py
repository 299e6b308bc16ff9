"""Generated bad input through the Python constructors and step: every case gives a moralgym
error (or works), never a Rust panic or another exception type. Seeded, so CI sees the same cases;
set MORALGYM_FUZZ_CASES for more."""

import json
import os
import random

import pytest

import moralgym

VALUES = [None, True, -1, 0, 1, 2**62, -(2**62), 0.5, -0.5, 1e300, "", "x", [], [1], {}, {"a": 1}]


def test_constructors_and_steps_refuse_bad_input_with_typed_errors():
    rng = random.Random(20261201)
    ids = sorted(moralgym.envs())
    for _ in range(int(os.environ.get("MORALGYM_FUZZ_CASES", "300"))):
        env_id = rng.choice(ids)
        keys = list(json.loads(moralgym.resolve_config(env_id, "{}")))
        config = {}
        if rng.random() < 0.7:
            for _ in range(rng.randint(1, 3)):
                key = rng.choice(keys + ["num_agents", "max_steps", "size", "not_a_key"])
                config[key] = rng.choice(VALUES)
        try:
            env = moralgym.make(env_id, **config)
        except (moralgym.MoralgymError, ValueError, TypeError):
            continue
        env.reset(seed=rng.randint(0, 10))
        agents = getattr(env, "possible_agents", None)
        for _ in range(5):
            raw = [rng.choice([-1, 0, 1, 3, 7, 2**40, 0.5, "a", None]) for _ in range(len(agents) if agents else 1)]
            try:
                if agents:
                    env.step(dict(zip(agents, raw)))
                else:
                    env.step(raw[0])
            except (moralgym.MoralgymError, ValueError, TypeError, KeyError, OverflowError):
                pass
            except BaseException as e:  # a Rust panic arrives as pyo3's PanicException
                pytest.fail(f"{env_id} {config} {raw}: {type(e).__name__}: {e}")


def test_nan_config_values_and_actions_are_named_before_they_reach_rust():
    with pytest.raises(moralgym.MoralgymError, match=r"config key `max_steps` is not a finite number"):
        moralgym.make("PrisonersDilemma-v0", max_steps=float("nan"))
    with pytest.raises(moralgym.MoralgymError, match=r"config key `zap.reward` is not a finite number"):
        moralgym.make_vec("PrisonersDilemma-v0", 2, zap={"reward": float("inf")})
    env = moralgym.make("TextGame-v0")
    env.reset(seed=0)
    with pytest.raises(moralgym.MoralgymError, match=r"actions must be whole numbers .* got nan"):
        env.step(float("nan"))
    venv = moralgym.make_vec("TextGame-v0", 2)
    venv.reset(seed=0)
    with pytest.raises(moralgym.MoralgymError, match=r"actions must be whole numbers .* got 0.5"):
        venv.step([0.5, 0])


def test_a_multi_agent_env_without_pettingzoo_says_which_extra_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pettingzoo(name, *args, **kwargs):
        if name == "pettingzoo" or name.startswith("pettingzoo."):
            raise ModuleNotFoundError("No module named 'pettingzoo'", name="pettingzoo")
        return real_import(name, *args, **kwargs)

    import sys

    monkeypatch.delitem(sys.modules, "moralgym.parallel_env", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pettingzoo)
    with pytest.raises(ImportError, match=r"CoinGame-v1 has 2 agents: .*pip install 'moralgym\[pettingzoo\]'"):
        moralgym.make("CoinGame-v1")
