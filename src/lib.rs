//! moralgym: reinforcement-learning environments where every step reports a task reward and
//! named ethical-violation costs, kept apart so that what reward costs in harm can be measured.
//!
//! This facade re-exports the workspace crates:
//! - [`envs`]: the env API, the vector layer, the registry and every environment;
//! - [`agents`]: policies and learners;
//! - [`training`]: run settings, rollouts, evaluation and throughput;
//! - [`zmachine`]: the Z-machine interpreter parser games run on.
#![warn(missing_docs)]

pub use moralgym_agents as agents;
pub use moralgym_envs as envs;
pub use moralgym_training as training;
pub use moralgym_zmachine as zmachine;

pub use moralgym_envs::{Env, EnvError, EnvSpec, ParallelEnv, VecEnv, make};

/// The README's example, kept compiling and running.
///
/// ```
/// use moralgym::{make, ParallelEnv, VecEnv};
/// use serde_json::json;
///
/// let mut env = make("CoinGame-v1", &json!({"size": 3, "wrap": true}))?;
/// let obs = env.reset(Some(42));
/// assert_eq!(obs.len(), 2 * env.spec().obs_dim());
/// let step = env.step(&[0, 3])?;
/// for e in &step.events {
///     println!("{e}");
/// }
///
/// let mut venv = VecEnv::make("Cleanup-v1", &json!({}), 256, 2)?;
/// venv.reset(0);
/// venv.step(&vec![4; 256 * 4])?;
/// let (obs, costs) = (venv.obs(), venv.costs());
/// assert_eq!(costs.len(), 256 * 4 * 1);
/// assert_eq!(obs.len(), 256 * 4 * venv.spec().obs_dim());
/// # Ok::<(), moralgym::EnvError>(())
/// ```
pub mod readme {}
