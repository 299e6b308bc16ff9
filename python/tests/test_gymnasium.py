"""The Gymnasium side: check_env, costs in info, wrappers, registration, determinism."""

import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from conftest import SINGLE_AGENT
from gymnasium.utils.env_checker import check_env

import moralgym
from moralgym import MoralgymError
from moralgym.wrappers import MultiObjectiveReward, SafetyGymnasiumStep


@pytest.mark.parametrize("env_id", sorted(SINGLE_AGENT))
def test_check_env_passes_for_every_single_agent_env(env_id):
    # masked envs play their first legal action for a sampled illegal one (flagged in info)
    env = moralgym.make(env_id, illegal_action="noop", **SINGLE_AGENT[env_id])
    assert isinstance(env, gymnasium.Env)
    check_env(env, skip_render_check=True)


def test_registered_with_gymnasium():
    env = gymnasium.make("moralgym/Harvest-v1", num_agents=1, max_steps=5)
    obs, info = env.reset(seed=3)
    assert obs.shape == (3, 5, 5)  # wall, apple, the one player
    for _ in range(5):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert truncated and not terminated
    assert set(info["costs"]) == {"depletion", "zap"}
    assert info["cost"] == sum(info["costs"].values())


def test_costs_match_the_rust_values_and_the_trajectory_matches_a_rust_replay():
    # recorded by envs/tests/trajectories.rs, stepping the env directly in Rust
    path = Path(__file__).resolve().parents[2] / "envs/tests/golden/trajectories/Harvest-v1.json"
    record = json.loads(path.read_text())
    env = moralgym.make(record["env"], **record["config"])
    obs, _ = env.reset(seed=record["seed"])
    trace = [obs.ravel()]
    for (a,) in record["actions"]:
        obs, reward, terminated, truncated, info = env.step(a)
        trace += [obs.ravel(), [reward], [info["costs"]["depletion"], info["costs"]["zap"]]]
        if terminated or truncated:
            break
    want = np.asarray(record["trace"], dtype=np.float32)
    np.testing.assert_array_equal(np.concatenate(trace).astype(np.float32), want)


def test_same_seed_same_trajectory():
    def run(seed):
        env = moralgym.make("Cleanup-v1", num_agents=1)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for t in range(100):
            o, r, *_ = env.step(t % 7)
            out += [o, np.array([r])]
        return np.concatenate([x.ravel() for x in out])

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_safety_gymnasium_and_multi_objective_wrappers():
    env = SafetyGymnasiumStep(moralgym.make("Harvest-v1", num_agents=1))
    env.reset(seed=0)
    step = env.step(4)
    assert len(step) == 6 and step[2] == step[5]["cost"]
    mo = MultiObjectiveReward(moralgym.make("Harvest-v1", num_agents=1, map=["A.", "AA"]))
    assert mo.reward_space.shape == (3,)
    mo.reset(seed=0)
    total = np.zeros(3)
    for a in [2, 1, 3, 0] * 3:  # a loop over the patch takes its last apple
        _, vector, *_ = mo.step(a)
        total += vector
    assert total[0] >= 3 and total[1] <= -1, total  # apples eaten, depletion as a negative objective


def test_action_mask_in_info_and_illegal_actions_raise():
    env = moralgym.make("SurvivalDilemma-v1", num_agents=1)
    _, info = env.reset(seed=0)
    mask = info["action_mask"]
    assert mask.dtype == np.int8 and mask[0] == 1
    illegal = int(np.flatnonzero(mask == 0)[0])
    with pytest.raises(MoralgymError, match="illegal action"):
        env.step(illegal)
    np.testing.assert_array_equal(env.action_masks(), mask.astype(bool))
    noop = moralgym.make("SurvivalDilemma-v1", num_agents=1, illegal_action="noop")
    noop.reset(seed=0)
    *_, info = noop.step(illegal)
    assert info["illegal_action"] is True


def test_shaped_rewards_report_the_task_reward():
    env = moralgym.make(
        "SurvivalDilemma-v1",
        num_agents=1,
        start_location="discussion_table",
        esrs={"enabled": True, "satisfaction_weight": 0.5},
    )
    env.reset(seed=0)  # turn 1 opens at the table: satisfaction 5
    _, reward, *_, info = env.step(0)  # turn 2 opens: 5 - 3 + 5 = 7
    assert info["task_reward"] == 1.0 and reward == 1.0 + 0.5 * 7.0


def test_text_games_observe_text_choices_features_and_mask():
    env = moralgym.make("TextGame-v0", game="hospital")
    obs, info = env.reset(seed=0)
    assert "St. Aldhelm's" in obs["text"]
    assert len(obs["choices"]) == int(obs["action_mask"].sum()) == 2
    assert obs["features"].shape == env.observation_space["features"].shape
    assert env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(0)
    assert reward == 5.0 and info["achievements"] == ["handover"]
    assert set(info["costs"]) >= {"deception", "power_money", "disutility"} and len(info["costs"]) == 18
    assert "annotation" in info and info["scenes"] == ["handover", "junior"]


def test_parser_games_take_typed_commands_and_know_their_walkthrough():
    env = moralgym.make("JiminyCricket-v0")
    obs, info = env.reset(seed=0)
    assert obs["text"] == "Nothing happens." and "steal" in obs["choices"]  # after its initial action
    total, steps = 0.0, 0
    while (command := env.unwrapped.walkthrough_command()) is not None:
        obs, reward, terminated, truncated, info = env.step(command)
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            break
    assert terminated and steps == 13 and total == 12.0 == info["score"]
    env.reset(seed=0)
    action = env.unwrapped.command_action("xyzzy")
    assert env.action_masks()[action] and env.step("xyzzy")[1] == 0.0
    # Choice games take the words of an offered choice, and refuse others by name.
    text = moralgym.make("TextGame-v0", game="hospital")
    obs, _ = text.reset(seed=0)
    assert text.step(obs["choices"][0].upper())[1] == 5.0
    with pytest.raises(moralgym.MoralgymError, match="`fly away`"):
        text.step("fly away")


def test_machiavellis_own_games_play_and_count_as_its_env():
    env = moralgym.make("Machiavelli-v0", game="heist", features=False)
    obs, info = env.reset(seed=2417)
    assert "Saint-Malo" in obs["text"] and len(obs["choices"]) == int(obs["action_mask"].sum())
    assert not obs["features"].any(), "features are off"
    total = 0.0
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(0)
        total += reward
        done = terminated or truncated
    assert terminated and info["current_nodes"] and total == info["points"] > 0
    with pytest.raises(Exception, match="no game `nope`"):
        moralgym.make("Machiavelli-v0", game="nope")


def test_a_choicescript_game_folder_plays_like_the_toml_game_it_was_converted_from():
    root = Path(__file__).resolve().parents[2]
    ported = moralgym.make("TextGame-v0", path=str(root / "games" / "choicescript" / "heist"))
    toml = moralgym.make("TextGame-v0", game="heist")
    (a, _), (b, _) = ported.reset(seed=3), toml.reset(seed=3)
    assert a["text"] == b["text"] and a["choices"] == b["choices"]
    for action in (0, 1, 0):
        a, ra, ta, _, ia = ported.step(action)
        b, rb, tb, _, ib = toml.step(action)
        assert (a["choices"], ra, ta, ia["costs"]) == (b["choices"], rb, tb, ib["costs"])
        np.testing.assert_array_equal(a["features"], b["features"])


def test_envs_survive_pickling_for_subprocess_vector_envs():
    import pickle

    for env in (moralgym.make("Harvest-v1", num_agents=1, max_steps=7), moralgym.make("CoinGame-v1")):
        copy = pickle.loads(pickle.dumps(env))
        assert type(copy) is type(env)
        a, _ = env.reset(seed=2)
        b, _ = copy.reset(seed=2)
        if isinstance(a, dict):
            a, b = a["agent_0"], b["agent_0"]
        np.testing.assert_array_equal(a, b)
