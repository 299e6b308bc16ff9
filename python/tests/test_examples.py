"""The Stable-Baselines3 examples, run when torch and SB3 are installed (the default suite does
not install torch: the tests are skipped with the reason shown by `pytest -rs`)."""

import importlib.util
import pathlib
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

needs_sb3 = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("stable_baselines3") is None,
    reason="torch and stable-baselines3 are not installed (pip install stable-baselines3 supersuit)",
)


@needs_sb3
def test_sb3_ppo_on_the_gymnasium_api_learns():
    import sb3_ppo_gymnasium

    ppo, random = sb3_ppo_gymnasium.main(["--steps", "30000", "--episodes", "5"])
    assert ppo > random, (ppo, random)


@needs_sb3
@pytest.mark.skipif(importlib.util.find_spec("supersuit") is None, reason="supersuit is not installed")
def test_sb3_ppo_on_the_pettingzoo_api_runs():
    import sb3_ppo_pettingzoo

    ppo, random = sb3_ppo_pettingzoo.main(["--steps", "20000", "--episodes", "3"])
    assert ppo > 0 and random > 0
