import moralgym

# Every registered id and, for those that allow one agent, the config that makes them single-agent.
ALL_IDS = sorted(moralgym.envs())
SINGLE_AGENT = {
    "Cleanup-v1": {"num_agents": 1},
    "Harvest-v1": {"num_agents": 1},
    "SequentialStagHunt-v1": {"num_agents": 1},
    "SequentialSnowdrift-v1": {"num_agents": 1},
    "SurvivalDilemma-v1": {"num_agents": 1},
    "TextGame-v0": {"game": "heist"},
    "Machiavelli-v0": {"game": "heist"},
}
