//! Throughput of the vector layer with random actions, as the `bench` command reports it.

use std::time::Instant;

use moralgym_agents::RandomPolicy;
use moralgym_envs::{Rng, VecEnv};
use serde::Serialize;
use serde_json::Value;

use crate::error::ConfigError;

/// One throughput measurement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Throughput {
    /// Environment id.
    pub env: String,
    /// Copies stepped together.
    pub num_envs: usize,
    /// Threads.
    pub threads: usize,
    /// Vector steps timed (each steps every copy once).
    pub steps: usize,
    /// Episodes that ended during the timed steps (counted from the vector env's done flags).
    pub episodes: usize,
    /// Wall time of the timed steps.
    pub seconds: f64,
    /// Environment steps per second (copies x vector steps / seconds).
    pub env_steps_per_sec: f64,
    /// Agent steps per second (env steps x agents).
    pub agent_steps_per_sec: f64,
}

/// Batches of random actions cycled through while timing, so drawing them costs nothing measured.
const ACTION_BATCHES: usize = 64;

/// Times `steps` vector steps of `num_envs` copies of `id` on `threads` threads with uniformly
/// random actions (observations are written every step; finished copies auto-reset). Envs without
/// action masks cycle through pre-drawn action batches; for envs with masks the random legal
/// actions are drawn from each copy's mask inside the timed loop, so their numbers include that.
pub fn measure(
    id: &str,
    config: &Value,
    num_envs: usize,
    threads: usize,
    steps: usize,
    seed: u64,
) -> Result<Throughput, ConfigError> {
    let mut venv = VecEnv::make(id, config, num_envs, threads)?;
    venv.reset(seed);
    let agents = venv.spec().num_agents;
    let per_batch = num_envs * agents;
    let mut episodes = 0;
    let start = if venv.spec().has_action_mask {
        let mut policy = RandomPolicy::new(seed);
        let mut actions = vec![0u32; per_batch];
        let start = Instant::now();
        for _ in 0..steps {
            for (i, chunk) in actions.chunks_mut(agents).enumerate() {
                if let Some(env) = venv.env(i) {
                    policy.act(env, chunk);
                }
            }
            venv.step(&actions)?;
            episodes += venv.done().iter().filter(|&&d| d).count();
        }
        start
    } else {
        let mut rng = Rng::new(seed);
        let n = venv.spec().num_actions();
        let actions: Vec<u32> = (0..ACTION_BATCHES * per_batch).map(|_| rng.below(n) as u32).collect();
        let batch = |s: usize| &actions[(s % ACTION_BATCHES) * per_batch..(s % ACTION_BATCHES + 1) * per_batch];
        // Warm up caches and the thread pool before timing.
        for s in 0..ACTION_BATCHES.min(steps) {
            venv.step(batch(s))?;
        }
        let start = Instant::now();
        for s in 0..steps {
            venv.step(batch(s))?;
            episodes += venv.done().iter().filter(|&&d| d).count();
        }
        start
    };
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let env_steps = (steps * num_envs) as f64;
    Ok(Throughput {
        env: id.into(),
        num_envs,
        threads,
        steps,
        episodes,
        seconds,
        env_steps_per_sec: env_steps / seconds,
        agent_steps_per_sec: env_steps * agents as f64 / seconds,
    })
}
