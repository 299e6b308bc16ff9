//! moralgym: reinforcement-learning environments where every step reports a task reward and
//! named ethical-violation costs, kept apart so that what reward costs in harm can be measured.
//!
//! This facade re-exports the workspace crates:
//! - [`envs`]: the env API, the vector layer, the registry and every environment;
//! - [`agents`]: policies and learners;
//! - [`training`]: run settings, rollouts, evaluation and throughput.
#![warn(missing_docs)]

pub use moralgym_agents as agents;
pub use moralgym_envs as envs;
pub use moralgym_training as training;

pub use moralgym_envs::{Env, EnvError, EnvSpec, ParallelEnv, VecEnv, make};
