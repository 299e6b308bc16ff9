//! Throughput of the vector layer with random actions, as the `bench` command reports it.

use std::time::Instant;

use moralgym_envs::{Rng, VecEnv};
use serde::Serialize;
use serde_json::Value;

use crate::overrides::ConfigError;

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
/// random actions (observations are written every step; finished copies auto-reset).
pub fn measure(
    id: &str,
    config: &Value,
    num_envs: usize,
    threads: usize,
    steps: usize,
    seed: u64,
) -> Result<Throughput, ConfigError> {
    let mut venv = VecEnv::make(id, config, num_envs, threads)?;
    let spec = venv.spec().clone();
    let per_batch = num_envs * spec.num_agents;
    let mut rng = Rng::new(seed);
    let actions: Vec<u32> =
        (0..ACTION_BATCHES * per_batch).map(|_| rng.below(spec.num_actions().max(1)) as u32).collect();
    venv.reset(seed);
    // Warm up caches and the thread pool before timing.
    for b in 0..ACTION_BATCHES.min(steps) {
        venv.step(&actions[b * per_batch..(b + 1) * per_batch])?;
    }
    let start = Instant::now();
    for s in 0..steps {
        let b = s % ACTION_BATCHES;
        venv.step(&actions[b * per_batch..(b + 1) * per_batch])?;
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let env_steps = (steps * num_envs) as f64;
    Ok(Throughput {
        env: id.into(),
        num_envs,
        threads,
        steps,
        seconds,
        env_steps_per_sec: env_steps / seconds,
        agent_steps_per_sec: env_steps * spec.num_agents as f64 / seconds,
    })
}
