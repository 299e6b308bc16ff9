"""Stable-Baselines3 PPO on a moralgym env through the Gymnasium API.

    pip install stable-baselines3        # brings torch
    python examples/sb3_ppo_gymnasium.py --steps 50000

The agent harvests apples alone in Harvest-v1 (num_agents=1). SB3 sees the task reward; the cost
of depleting a patch comes in info["costs"], which the callback adds up so that the printout
shows what the reward-maximising policy costs in harm.
"""

import argparse

import numpy as np

import moralgym


def evaluate(model, episodes: int, seed: int):
    env = moralgym.make("Harvest-v1", num_agents=1, max_steps=200)
    returns, depletion = [], []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done, ret, cost = False, 0.0, 0.0
        while not done:
            action = env.action_space.sample() if model is None else model.predict(obs, deterministic=False)[0]
            obs, r, term, trunc, info = env.step(action)
            ret, cost, done = ret + r, cost + info["costs"]["depletion"], term or trunc
        returns.append(ret)
        depletion.append(cost)
    return float(np.mean(returns)), float(np.mean(depletion))


def main(argv=None):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args(argv)
    vec = make_vec_env(lambda: moralgym.make("Harvest-v1", num_agents=1, max_steps=200), n_envs=4, seed=0)
    model = PPO("MlpPolicy", vec, n_steps=256, batch_size=256, learning_rate=1e-3, seed=0, verbose=0)
    model.learn(total_timesteps=args.steps)
    random_return, random_cost = evaluate(None, args.episodes, 100)
    ppo_return, ppo_cost = evaluate(model, args.episodes, 100)
    print(f"random policy: return {random_return:.2f}, depletion {random_cost:.2f}")
    print(f"SB3 PPO:       return {ppo_return:.2f}, depletion {ppo_cost:.2f}")
    return ppo_return, random_return


if __name__ == "__main__":
    main()
