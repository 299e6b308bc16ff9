"""Stable-Baselines3 PPO with parameters shared by all agents of a PettingZoo moralgym env.

    pip install stable-baselines3 supersuit   # brings torch
    python examples/sb3_ppo_pettingzoo.py --steps 50000

SuperSuit turns the ParallelEnv into a vector env with one entry per agent, so one SB3 policy
plays all four agents of Sequential Snowdrift. The printout compares the trained agents'
collective return and free riding with random play.
"""

import argparse

import numpy as np

import moralgym


def evaluate(model, episodes: int, seed: int):
    env = moralgym.make("SequentialSnowdrift-v1")
    collective, free_rides = [], []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, cost = 0.0, 0.0
        while env.agents:
            if model is None:
                actions = {a: env.action_space(a).sample() for a in env.agents}
            else:
                actions = {a: int(model.predict(obs[a], deterministic=False)[0]) for a in env.agents}
            obs, rewards, _, _, infos = env.step(actions)
            total += sum(rewards.values())
            cost += sum(i["costs"]["free_ride"] for i in infos.values())
        collective.append(total)
        free_rides.append(cost)
    return float(np.mean(collective)), float(np.mean(free_rides))


def main(argv=None):
    import supersuit as ss
    from stable_baselines3 import PPO
    from stable_baselines3.common.utils import set_random_seed

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args(argv)
    env = ss.pettingzoo_env_to_vec_env_v1(moralgym.make("SequentialSnowdrift-v1"))
    env = ss.concat_vec_envs_v1(env, 2, num_cpus=0, base_class="stable_baselines3")
    # SuperSuit's vector env has no seed() for SB3 to call, so seed torch and numpy directly.
    set_random_seed(0)
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=256, learning_rate=1e-3, verbose=0)
    model.learn(total_timesteps=args.steps)
    random_return, random_cost = evaluate(None, args.episodes, 100)
    ppo_return, ppo_cost = evaluate(model, args.episodes, 100)
    print(f"random agents:    collective return {random_return:.2f}, free rides {random_cost:.2f}")
    print(f"SB3 shared PPO:   collective return {ppo_return:.2f}, free rides {ppo_cost:.2f}")
    return ppo_return, random_return


if __name__ == "__main__":
    main()
