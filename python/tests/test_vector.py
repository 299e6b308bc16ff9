"""The native vector envs: same results as single envs, gymnasium.make_vec, errors."""

import gymnasium
import numpy as np
import pytest

import moralgym
from moralgym import MoralgymError
from moralgym._moralgym import derive_seed


def test_vector_env_matches_single_envs():
    n = 3
    venv = moralgym.make_vec("SequentialSnowdrift-v1", num_envs=n, threads=2)
    obs, _ = venv.reset(seed=9)
    assert obs.shape == (n, 4, 6, 5, 5)  # wall, drift, one channel per player
    singles = [moralgym.make("SequentialSnowdrift-v1") for _ in range(n)]
    for i, env in enumerate(singles):  # copy i is seeded with derive_seed(9, i)
        first, _ = env.reset(seed=derive_seed(9, i))
        np.testing.assert_array_equal(np.stack([first[a] for a in env.possible_agents]), obs[i])
    rng = np.random.default_rng(1)
    episodes = 0
    for _ in range(150):
        actions = rng.integers(0, 5, size=(n, 4))
        obs, rew, costs, term, trunc, infos = venv.step(actions)
        for i, env in enumerate(singles):
            live = list(env.agents)
            o, r, t, tr, inf = env.step({a: actions[i, k] for k, a in enumerate(env.possible_agents) if a in live})
            for k, a in enumerate(env.possible_agents):
                if a in live:
                    assert r[a] == rew[i, k]
                    assert inf[a]["costs"]["free_ride"] == costs[i, k, 0]
            if not env.agents:  # the episode ended: the vector env reset this copy in the same step
                assert infos["done"][i]
                episodes += 1
                np.testing.assert_array_equal(np.stack([o[a] for a in env.possible_agents]), infos["final_obs"][i])
                again, _ = env.reset()  # no seed: the copy's own stream continues
                np.testing.assert_array_equal(np.stack([again[a] for a in env.possible_agents]), obs[i])
            else:
                assert not infos["done"][i]
                np.testing.assert_array_equal(np.stack([o[a] for a in env.possible_agents]), obs[i])
    assert episodes >= 3


def test_vector_copies_equal_separately_stepped_copies():
    # n copies stepped together equal the same copies stepped one vector env at a time
    n, steps = 4, 150
    rng = np.random.default_rng(2)
    actions = rng.integers(0, 4, size=(steps, n, 2))
    together = moralgym.make_vec("CoinGame-v1", num_envs=n, threads=2)
    together.reset(seed=5)
    out_together = [together.step(a)[:3] for a in actions]
    for threads in (1, 3):
        again = moralgym.make_vec("CoinGame-v1", num_envs=n, threads=threads)
        again.reset(seed=5)
        for a, ref in zip(actions, out_together):
            for x, y in zip(again.step(a)[:3], ref):
                np.testing.assert_array_equal(x, y)


def test_gymnasium_make_vec_uses_the_native_vector_env():
    venv = gymnasium.make_vec("moralgym/Harvest-v1", num_envs=4, vectorization_mode="vector_entry_point", num_agents=1, max_steps=10)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (4, 3, 5, 5)
    for t in range(10):
        obs, rew, term, trunc, infos = venv.step(venv.action_space.sample())
    assert trunc.all() and infos["_final_obs"].all()
    assert infos["final_obs"].shape == (4, 3, 5, 5)
    assert set(infos["costs"]) == {"depletion", "zap"}


def test_single_agent_vector_env_equals_single_gymnasium_envs():
    n = 3
    venv = moralgym.make_vec("Cleanup-v1", num_envs=n, num_agents=1, max_steps=30)
    vobs, _ = venv.reset(seed=4)
    singles = [moralgym.make("Cleanup-v1", num_agents=1, max_steps=30) for _ in range(n)]
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=derive_seed(4, i))
        np.testing.assert_array_equal(obs, vobs[i])
    rng = np.random.default_rng(3)
    for a in rng.integers(0, 7, size=(75, n)):
        vobs, vrew, vterm, vtrunc, infos = venv.step(a)
        for i, env in enumerate(singles):
            obs, r, term, trunc, info = env.step(a[i])
            assert (r, term, trunc) == (vrew[i], vterm[i], vtrunc[i])
            assert info["cost"] == infos["cost"][i]
            if term or trunc:
                np.testing.assert_array_equal(obs, infos["final_obs"][i])
                obs, _ = env.reset()
            np.testing.assert_array_equal(obs, vobs[i])


def test_vector_errors():
    venv = moralgym.make_vec("CoinGame-v1", num_envs=2)
    venv.reset(seed=0)
    with pytest.raises(MoralgymError, match="wrong length for actions"):
        venv.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(MoralgymError, match="env 1 of the vector env: illegal action 7"):
        venv.step(np.array([[0, 0], [7, 0]]))
    with pytest.raises(MoralgymError, match="has 2 agents"):
        moralgym.vector.MoralGymVectorEnv("CoinGame-v1", num_envs=2)
    masks = moralgym.make_vec("SurvivalDilemma-v1", num_envs=2).action_masks()
    assert masks.shape == (2, 4, 27)
