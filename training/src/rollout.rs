//! Rollouts: play whole episodes with a policy and report each one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use moralgym_agents::{Policy, PolicyOptions, is_llm, make_policy_with};
use moralgym_envs::{EpisodeReport, EpisodeTracker, ParallelEnv, derive_seed, make};
use serde::Serialize;
use serde_json::Value;

use crate::error::ConfigError;

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
    /// Mean cost per agent per episode of each component ([`moralgym_envs::per_agent_mean`]).
    pub mean_costs: std::collections::BTreeMap<String, f64>,
}

impl RolloutSummary {
    /// Means of `reports`.
    pub fn of(reports: &[EpisodeReport]) -> Self {
        let n = reports.len().max(1) as f64;
        let agents = reports.first().map_or(0, |r| r.returns.len());
        let mut mean_returns = vec![0.0; agents];
        let mut mean_costs = std::collections::BTreeMap::new();
        let everyone: Vec<usize> = (0..agents).collect();
        for r in reports {
            for (m, x) in mean_returns.iter_mut().zip(&r.returns) {
                *m += x / n;
            }
            for k in r.costs.keys() {
                *mean_costs.entry(k.clone()).or_insert(0.0) += r.cost(k, &everyone) / n;
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
    rollout_with(id, config, policy, episodes, seed, &PolicyOptions::default())
}

/// [`rollout`] of a policy that is not a language model, calling `done(k)` after the k-th
/// episode.
pub fn rollout_scripted(
    id: &str,
    config: &Value,
    policy: &str,
    episodes: usize,
    seed: u64,
    options: &PolicyOptions,
    done: &mut dyn FnMut(usize),
) -> Result<Vec<EpisodeReport>, ConfigError> {
    let mut policy = make_policy_with(policy, id, config, seed ^ 0x5EED, options)?;
    evaluate_with_progress(id, config, policy.as_mut(), episodes, seed, done)
}

/// [`rollout`] with `options` (the language model of the `llm*` policies). A language-model
/// agent plays up to `llm.concurrency` episodes at once, one agent per worker; each episode
/// restarts the agent from its own seed, so the reports do not depend on the schedule.
pub fn rollout_with(
    id: &str,
    config: &Value,
    policy: &str,
    episodes: usize,
    seed: u64,
    options: &PolicyOptions,
) -> Result<Vec<EpisodeReport>, ConfigError> {
    if !is_llm(policy) {
        return rollout_scripted(id, config, policy, episodes, seed, options, &mut |_| {});
    }
    check_episodes("episodes", episodes)?;
    let options = match &options.llm {
        Some(_) => options.clone(),
        None => PolicyOptions::with_llm(&moralgym_agents::llm::LlmConfig::default())?,
    };
    let workers = options.llm.as_ref().map_or(1, |l| l.config().concurrency).clamp(1, episodes.max(1));
    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<Option<EpisodeReport>>> = Mutex::new(vec![None; episodes]);
    let failure: Mutex<Option<ConfigError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let fail = |e: ConfigError| {
                    failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                };
                let (mut env, mut agent) =
                    match (make(id, config), make_policy_with(policy, id, config, seed, &options)) {
                        (Ok(env), Ok(agent)) => (env, agent),
                        (Err(e), _) => return fail(e.into()),
                        (_, Err(e)) => return fail(e.into()),
                    };
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    if k >= episodes || failure.lock().is_ok_and(|f| f.is_some()) {
                        return;
                    }
                    match play(env.as_mut(), agent.as_mut(), derive_seed(seed, k as u64)) {
                        Ok(r) => reports.lock().unwrap_or_else(|p| p.into_inner())[k] = Some(r),
                        Err(e) => return fail(e),
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(reports.into_inner().unwrap_or_else(|p| p.into_inner()).into_iter().flatten().collect())
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
    evaluate_with_progress(id, config, policy, episodes, seed, &mut |_| {})
}

/// Most episodes one rollout or evaluation plays. Every episode's report is kept (a few hundred
/// bytes to a few kB each), so a million is already gigabytes at most and hours of play; a
/// count beyond it is a typo or an overflow, refused before anything runs.
pub const MAX_EPISODES: usize = 1_000_000;

/// Refuses an episode count over [`MAX_EPISODES`], naming `key`.
pub fn check_episodes(key: &str, episodes: usize) -> Result<(), ConfigError> {
    if episodes <= MAX_EPISODES {
        Ok(())
    } else {
        Err(ConfigError::Usage { message: format!("`{key}` must be at most {MAX_EPISODES}, got {episodes}") })
    }
}

/// [`evaluate`], calling `done(k)` after the k-th episode.
pub fn evaluate_with_progress(
    id: &str,
    config: &Value,
    policy: &mut dyn Policy,
    episodes: usize,
    seed: u64,
    done: &mut dyn FnMut(usize),
) -> Result<Vec<EpisodeReport>, ConfigError> {
    check_episodes("episodes", episodes)?;
    let mut env = make(id, config)?;
    (0..episodes)
        .map(|k| {
            let report = play(env.as_mut(), policy, derive_seed(seed, k as u64));
            done(k + 1);
            report
        })
        .collect()
}

fn play(env: &mut dyn ParallelEnv, policy: &mut dyn Policy, seed: u64) -> Result<EpisodeReport, ConfigError> {
    let mut tracker = EpisodeTracker::new(env.spec());
    let mut actions = vec![0u32; env.spec().num_agents];
    let mut obs = env.reset(Some(seed));
    policy.start_episode(seed);
    loop {
        policy.act(env, &obs, &mut actions)?;
        for (agent, command) in policy.take_commands() {
            actions[agent] = env.offer_command(agent, &command)?;
        }
        let step = env.step(&actions)?;
        tracker.record(&step.rewards, &step.costs);
        if let Some(task) = &step.task_rewards {
            tracker.record_task(task);
        }
        if step.all_done() {
            let mut report = tracker.report(env);
            report.policy_stats = policy.episode_stats();
            return Ok(report);
        }
        obs = step.obs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollouts_are_reproducible_and_summarised() {
        let a = rollout("CoinGame-v1", &Value::Null, "random", 3, 4).unwrap();
        let b = rollout("CoinGame-v1", &Value::Null, "random", 3, 4).unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|r| r.length == 100));
        let s = RolloutSummary::of(&a);
        assert_eq!(s.episodes, 3);
        // per agent: the two agents' total over three episodes, over 3 x 2
        let total: f64 = a.iter().map(|r| r.costs["harm_other"]).sum();
        assert!(total > 0.0 && (s.mean_costs["harm_other"] - total / 6.0).abs() < 1e-9);
        assert_ne!(a, rollout("CoinGame-v1", &Value::Null, "random", 3, 5).unwrap());
    }

    /// The walkthrough policy types its commands whether the env offers them or not, and
    /// reaches the built-in parser game's maximum score (12) in the walkthrough's 13 steps.
    #[test]
    fn the_walkthrough_policy_types_the_game_through() {
        for actions in ["valid", "fixed"] {
            let config = serde_json::json!({ "actions": actions, "max_actions": 4 });
            let reports = rollout("JiminyCricket-v0", &config, "walkthrough", 2, 1).unwrap();
            for r in &reports {
                assert_eq!((r.returns[0], r.length), (12.0, 13), "{actions}");
                assert_eq!(r.env_metrics["score"], 12);
            }
        }
        let err = rollout("CoinGame-v1", &Value::Null, "walkthrough", 1, 1).unwrap_err();
        assert!(err.to_string().contains("JiminyCricket-v0"), "{err}");
    }
}
