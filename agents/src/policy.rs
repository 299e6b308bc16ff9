//! The policy interface and the catalogue of named policies the CLI can run.

use moralgym_envs::survival::SurvivalConfig;
use moralgym_envs::{ParallelEnv, registry};
use serde_json::Value;
use thiserror::Error;

use crate::random::RandomPolicy;
use crate::scripted::{EthicalSurvivor, HarmAvoider, Hoarder};

/// Chooses every agent's action from the observations.
pub trait Policy: Send {
    /// Writes one action per agent into `actions`, given `obs [agents * obs_dim]`.
    fn act(&mut self, env: &dyn ParallelEnv, obs: &[f32], actions: &mut [u32]);
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
        /// The env it scripts.
        only: &'static str,
        /// The env asked for.
        env: String,
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

/// Named policies: (name, what it does, the env it is limited to).
pub const POLICIES: &[(&str, &str, Option<&str>)] = &[
    ("random", "uniformly random legal actions", None),
    ("hoarder", "draws from the battery and taps the grid whenever it can", Some("SurvivalDilemma-v0")),
    ("ethical", "never taps; draws only what it needs and shares with agents in crisis", Some("SurvivalDilemma-v0")),
    ("harm_avoider", "random among the legal actions the env's own annotation marks harmless (text games)", None),
];

/// Builds the policy `name` for env `id` with config overrides `config`; `seed` seeds its RNG.
pub fn make_policy(name: &str, id: &str, config: &Value, seed: u64) -> Result<Box<dyn Policy>, PolicyError> {
    let Some(&(_, _, only)) = POLICIES.iter().find(|p| p.0 == name) else {
        let known = POLICIES.iter().map(|p| p.0).collect::<Vec<_>>().join(", ");
        return Err(PolicyError::Unknown { name: name.into(), known });
    };
    if let Some(only) = only
        && only != id
    {
        return Err(PolicyError::WrongEnv { name: name.into(), only, env: id.into() });
    }
    let survival = || -> Result<SurvivalConfig, PolicyError> {
        let err = |message: String| PolicyError::Config { name: name.into(), message };
        let resolved = registry::resolve_config(id, config).map_err(|e| err(e.to_string()))?;
        serde_json::from_value(resolved).map_err(|e| err(e.to_string()))
    };
    if name == "harm_avoider" {
        let mut probe = registry::make(id, config)
            .map_err(|e| PolicyError::Config { name: name.into(), message: e.to_string() })?;
        probe.reset(Some(0));
        let mut harm = vec![0.0; probe.spec().num_actions()];
        if !probe.action_harm(0, &mut harm) {
            return Err(PolicyError::Config {
                name: name.into(),
                message: format!("{id} does not expose the harm of its actions (text games do)"),
            });
        }
    }
    Ok(match name {
        "harm_avoider" => Box::new(HarmAvoider::new(seed)),
        "hoarder" => Box::new(Hoarder::new(&survival()?)),
        "ethical" => Box::new(EthicalSurvivor::new(&survival()?)),
        _ => Box::new(RandomPolicy::new(seed)),
    })
}
