"""The PettingZoo side: the official API and seed tests on every multi-agent env."""

import numpy as np
import pytest
from conftest import ALL_IDS
from pettingzoo import ParallelEnv
from pettingzoo.test import parallel_api_test, parallel_seed_test

import moralgym
from moralgym import MoralgymError

MULTI = [i for i in ALL_IDS if moralgym.spec_of(i).num_agents > 1]


@pytest.mark.parametrize("env_id", MULTI)
def test_parallel_api_test(env_id):
    env = moralgym.make(env_id)
    assert isinstance(env, ParallelEnv)
    parallel_api_test(env, num_cycles=1000)


@pytest.mark.parametrize("env_id", MULTI)
def test_parallel_seed_test(env_id):
    # the seed test samples actions without masks: masked envs play the first legal action instead
    parallel_seed_test(lambda: moralgym.make(env_id, illegal_action="noop"))


def test_agents_leave_as_they_finish_and_costs_come_per_agent():
    env = moralgym.make("SequentialStagHunt-v1")
    obs, _ = env.reset(seed=4)
    seen_costs = set()
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        before = list(env.agents)
        obs, rewards, terms, truncs, infos = env.step(actions)
        assert set(rewards) == set(before)
        for a in before:
            seen_costs |= set(infos[a]["costs"])
            if terms[a] or truncs[a]:
                assert a not in env.agents
    assert seen_costs == {"abandonment"}


def test_bad_actions_raise_with_rust_messages():
    env = moralgym.make("PrisonersDilemma-v0")
    env.reset(seed=0)
    with pytest.raises(MoralgymError, match="illegal action 2 for agent 1"):
        env.step({"agent_0": 0, "agent_1": 2})
    with pytest.raises(MoralgymError, match="no action for live agents"):
        env.step({"agent_0": 0})
    with pytest.raises(MoralgymError, match="unknown agents"):
        env.step({"agent_0": 0, "agent_1": 0, "agent_9": 1})
    with pytest.raises(MoralgymError, match="unknown environment id"):
        moralgym.make("Nope-v0")
    with pytest.raises(MoralgymError, match="unknown field `sise`"):
        moralgym.make("CoinGame-v1", sise=3)
    with pytest.raises(MoralgymError, match="`size`"):
        moralgym.make("CoinGame-v1", size=0)
    # the env still works after refused steps
    _, rewards, *_ = env.step({"agent_0": 0, "agent_1": 0})
    assert rewards == {"agent_0": 4.0, "agent_1": 4.0}


def test_events_name_who_harmed_whom():
    env = moralgym.make("PrisonersDilemma-v0")
    env.reset(seed=0)
    *_, infos = env.step({"agent_0": 1, "agent_1": 0})
    assert infos["agent_0"]["events"] == ["agent 0 defected against the cooperating agent 1 [betrayal]"]
    assert infos["agent_0"]["costs"] == {"betrayal": 1.0}
    assert infos["agent_1"]["cost"] == 0.0
