//! The policy interface: what every policy, named or trained, implements.

use moralgym_envs::ParallelEnv;
use serde_json::{Map, Value};
use thiserror::Error;

/// Chooses every agent's action from the observations.
pub trait Policy: Send {
    /// Writes one action per agent into `actions`, given `obs [agents * obs_dim]`. Fails only
    /// where the policy depends on something outside the process (a language model's server).
    fn act(&mut self, env: &dyn ParallelEnv, obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError>;

    /// Commands the policy typed in its last [`Policy::act`], as (agent, command), for envs that
    /// take typed commands: the caller plays each through `ParallelEnv::offer_command` in place
    /// of the action `act` wrote for that agent (which stays legal, for callers that do not).
    /// Empty for policies that only choose.
    fn take_commands(&mut self) -> Vec<(usize, String)> {
        Vec::new()
    }

    /// Called before each episode with the seed the env is reset with. Policies whose choices
    /// must not depend on which episodes came before (language models, played in parallel)
    /// restart their state here; the default keeps one stream across episodes.
    fn start_episode(&mut self, seed: u64) {
        let _ = seed;
    }

    /// Statistics of the episode just played (a language model's requests, tokens and
    /// fallbacks), taken and cleared; empty for most policies.
    fn episode_stats(&mut self) -> Map<String, Value> {
        Map::new()
    }
}

/// A policy name that does not exist or does not fit the environment.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PolicyError {
    /// No policy has this name.
    #[error("unknown policy `{name}`; policies: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// Comma-separated names.
        known: String,
    },
    /// The policy scripts another environment.
    #[error("policy `{name}` plays only {only}, not {env}")]
    WrongEnv {
        /// The policy.
        name: String,
        /// The envs it scripts, comma-separated.
        only: String,
        /// The env asked for.
        env: String,
    },
    /// The policy could not choose an action (a language model's server failed for good).
    #[error("policy `{name}` failed: {message}")]
    Failed {
        /// The policy.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The env config could not be read.
    #[error("policy `{name}`: {message}")]
    Config {
        /// The policy.
        name: String,
        /// What went wrong.
        message: String,
    },
}
