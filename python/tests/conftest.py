import moralgym

# Every registered id and, for those that allow one agent, the config that makes them single-agent.
ALL_IDS = sorted(moralgym.envs())
SINGLE_AGENT = {
    "Cleanup-v0": {"num_agents": 1},
    "Harvest-v0": {"num_agents": 1},
    "SequentialStagHunt-v0": {"num_agents": 1},
    "SequentialSnowdrift-v0": {"num_agents": 1},
    "SurvivalDilemma-v0": {"num_agents": 1},
    "TextGame-v0": {"game": "heist"},
}
