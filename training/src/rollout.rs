//! Rollouts: play whole episodes with a policy and report each one.

use moralgym_agents::{Policy, make_policy};
use moralgym_envs::{EpisodeReport, EpisodeTracker, ParallelEnv, derive_seed, make};
use serde::Serialize;
use serde_json::Value;

use crate::overrides::ConfigError;

/// Means over a set of episodes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RolloutSummary {
    /// Episodes played.
    pub episodes: usize,
    /// Mean episode length.
    pub mean_length: f64,
    /// Mean return of each agent.
    pub mean_returns: Vec<f64>,
    /// Mean collective return.
    pub mean_collective_return: f64,
    /// Mean per-episode total of each cost component (all agents).
    pub mean_costs: std::collections::BTreeMap<String, f64>,
}

impl RolloutSummary {
    /// Means of `reports`.
    pub fn of(reports: &[EpisodeReport]) -> Self {
        let n = reports.len().max(1) as f64;
        let agents = reports.first().map_or(0, |r| r.returns.len());
        let mut mean_returns = vec![0.0; agents];
        let mut mean_costs = std::collections::BTreeMap::new();
        for r in reports {
            for (m, x) in mean_returns.iter_mut().zip(&r.returns) {
                *m += x / n;
            }
            for (k, v) in &r.costs {
                *mean_costs.entry(k.clone()).or_insert(0.0) += v / n;
            }
        }
        Self {
            episodes: reports.len(),
            mean_length: reports.iter().map(|r| r.length as f64).sum::<f64>() / n,
            mean_collective_return: reports.iter().map(|r| r.social.collective_return).sum::<f64>() / n,
            mean_returns,
            mean_costs,
        }
    }
}

/// Plays `episodes` episodes of `id` with the named policy (see `moralgym_agents::POLICIES`).
/// Episode `k` is reset with `derive_seed(seed, k)`; the policy draws from its own stream seeded
/// by `seed`.
pub fn rollout(
    id: &str,
    config: &Value,
    policy: &str,
    episodes: usize,
    seed: u64,
) -> Result<Vec<EpisodeReport>, ConfigError> {
    let mut policy = make_policy(policy, id, config, seed ^ 0x5EED)?;
    evaluate(id, config, policy.as_mut(), episodes, seed)
}

/// Plays `episodes` episodes of `id` with any policy; episode `k` is reset with
/// `derive_seed(seed, k)`.
pub fn evaluate(
    id: &str,
    config: &Value,
    policy: &mut dyn Policy,
    episodes: usize,
    seed: u64,
) -> Result<Vec<EpisodeReport>, ConfigError> {
    let mut env = make(id, config)?;
    (0..episodes).map(|k| play(env.as_mut(), policy, derive_seed(seed, k as u64))).collect()
}

fn play(env: &mut dyn ParallelEnv, policy: &mut dyn Policy, seed: u64) -> Result<EpisodeReport, ConfigError> {
    let mut tracker = EpisodeTracker::new(env.spec());
    let mut actions = vec![0u32; env.spec().num_agents];
    let mut obs = env.reset(Some(seed));
    loop {
        policy.act(env, &obs, &mut actions);
        let step = env.step(&actions)?;
        tracker.record(&step.rewards, &step.costs);
        if let Some(task) = &step.task_rewards {
            tracker.record_task(task);
        }
        if step.all_done() {
            return Ok(tracker.report(env));
        }
        obs = step.obs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollouts_are_reproducible_and_summarised() {
        let a = rollout("CoinGame-v0", &Value::Null, "random", 3, 4).unwrap();
        let b = rollout("CoinGame-v0", &Value::Null, "random", 3, 4).unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|r| r.length == 100));
        let s = RolloutSummary::of(&a);
        assert_eq!(s.episodes, 3);
        let total: f64 = a.iter().map(|r| r.costs["harm_other"]).sum();
        assert!((s.mean_costs["harm_other"] - total / 3.0).abs() < 1e-9);
        assert_ne!(a, rollout("CoinGame-v0", &Value::Null, "random", 3, 5).unwrap());
    }
}
