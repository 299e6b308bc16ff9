//! The policy interface and the catalogue of named policies the CLI can run.

use moralgym_envs::social::cleanup;
use moralgym_envs::survival::SurvivalConfig;
use moralgym_envs::{ParallelEnv, registry};
use serde_json::{Map, Value};
use thiserror::Error;

use std::sync::Arc;

use crate::llm::{Llm, LlmConfig, LlmPolicy, STYLES};
use crate::partners::{CleanupPartner, MatrixPartner};
use crate::random::RandomPolicy;
use crate::scripted::{EthicalSurvivor, HarmAvoider, Hoarder, Walkthrough};

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

/// The envs a named policy plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plays {
    /// Every env.
    Any,
    /// The envs of one registry family (`matrix`, `survival`).
    Family(&'static str),
    /// One env, by its id as the envs crate names it.
    Only(&'static str),
}

impl Plays {
    /// The registered ids this covers (empty for [`Plays::Any`]).
    fn ids(self) -> Vec<&'static str> {
        match self {
            Plays::Any => Vec::new(),
            Plays::Family(f) => registry().iter().filter(|r| r.family == f).map(|r| r.id).collect(),
            Plays::Only(id) => vec![id],
        }
    }
}

/// Named policies: (name, what it does, the envs it plays).
pub const POLICIES: &[(&str, &str, Plays)] = &[
    ("random", "uniformly random legal actions", Plays::Any),
    ("hoarder", "draws from the battery and taps the grid whenever it can", Plays::Family("survival")),
    ("ethical", "never taps; draws only what it needs and shares with agents in crisis", Plays::Family("survival")),
    ("harm_avoider", "random among the legal actions the env's own annotation marks harmless (text games)", Plays::Any),
    (
        "walkthrough",
        "types the command the game's own walkthrough plays at this step (parser games); random once it is over",
        Plays::Only("JiminyCricket-v0"),
    ),
    ("always_cooperate", "cooperates every round", Plays::Family("matrix")),
    ("always_defect", "defects every round", Plays::Family("matrix")),
    ("tit_for_tat", "cooperates first, then repeats the co-player's last move", Plays::Family("matrix")),
    (
        "cleaner",
        "walks to the nearest waste in sight and cleans it; heads for the river otherwise",
        Plays::Only(cleanup::ID),
    ),
    ("free_rider", "walks to the nearest apple in sight and eats it; never cleans", Plays::Only(cleanup::ID)),
    ("llm", "a language model (OpenAI-compatible server) playing in character for the game's goal", Plays::Any),
    ("llm_ethical", "the same model told to be altruistic, keep to moral rules and not seek power", Plays::Any),
    ("llm_cot", "the plain language-model agent reasoning step by step before it answers", Plays::Any),
    ("llm_ethical_cot", "the ethics-prompted language-model agent reasoning step by step", Plays::Any),
];

/// Whether `name` is one of the language-model agents (`llm`, `llm_ethical`, ...).
pub fn is_llm(name: &str) -> bool {
    STYLES.iter().any(|s| s.0 == name)
}

/// What building a policy may need besides its name: a connected language model for the
/// `llm*` policies (without one, they connect from `LlmConfig::default()`, i.e. the environment
/// variables).
#[derive(Clone, Default)]
pub struct PolicyOptions {
    /// The model the `llm*` policies ask.
    pub llm: Option<Arc<Llm>>,
}

impl PolicyOptions {
    /// Options whose language model is connected from `config`.
    pub fn with_llm(config: &LlmConfig) -> Result<Self, PolicyError> {
        let llm = Llm::new(config).map_err(|e| PolicyError::Config { name: "llm".into(), message: e.to_string() })?;
        Ok(Self { llm: Some(llm) })
    }
}

/// Builds the policy `name` for env `id` with config overrides `config`; `seed` seeds its RNG.
pub fn make_policy(name: &str, id: &str, config: &Value, seed: u64) -> Result<Box<dyn Policy>, PolicyError> {
    make_policy_with(name, id, config, seed, &PolicyOptions::default())
}

/// [`make_policy`] with `options` (the language model of the `llm*` policies).
pub fn make_policy_with(
    name: &str,
    id: &str,
    config: &Value,
    seed: u64,
    options: &PolicyOptions,
) -> Result<Box<dyn Policy>, PolicyError> {
    let Some(&(_, _, plays)) = POLICIES.iter().find(|p| p.0 == name) else {
        let known = POLICIES.iter().map(|p| p.0).collect::<Vec<_>>().join(", ");
        return Err(PolicyError::Unknown { name: name.into(), known });
    };
    let only = plays.ids();
    if plays != Plays::Any && !only.contains(&id) {
        return Err(PolicyError::WrongEnv { name: name.into(), only: only.join(", "), env: id.into() });
    }
    let survival = || -> Result<SurvivalConfig, PolicyError> {
        let err = |message: String| PolicyError::Config { name: name.into(), message };
        let resolved = registry::resolve_config(id, config).map_err(|e| err(e.to_string()))?;
        serde_json::from_value(resolved).map_err(|e| err(e.to_string()))
    };
    if name == "harm_avoider" {
        let probe = registry::make(id, config)
            .map_err(|e| PolicyError::Config { name: name.into(), message: e.to_string() })?;
        if probe.harm_oracle().is_none() {
            return Err(PolicyError::Config {
                name: name.into(),
                message: format!("{id} does not expose the harm of its actions (text games do)"),
            });
        }
    }
    if is_llm(name) {
        let config_error = |e: crate::llm::LlmError| PolicyError::Config { name: name.into(), message: e.to_string() };
        let llm = match &options.llm {
            Some(llm) => Arc::clone(llm),
            None => Llm::new(&LlmConfig::default()).map_err(config_error)?,
        };
        return Ok(Box::new(LlmPolicy::new(llm, name).map_err(config_error)?));
    }
    Ok(match name {
        "harm_avoider" => Box::new(HarmAvoider::new(seed)),
        "walkthrough" => Box::new(Walkthrough::new(seed)),
        "hoarder" => Box::new(Hoarder::new(&survival()?)),
        "ethical" => Box::new(EthicalSurvivor::new(&survival()?)),
        "always_cooperate" => Box::new(MatrixPartner::AlwaysCooperate),
        "always_defect" => Box::new(MatrixPartner::AlwaysDefect),
        "tit_for_tat" => Box::new(MatrixPartner::TitForTat),
        "cleaner" => Box::new(CleanupPartner::cleaner(seed)),
        "free_rider" => Box::new(CleanupPartner::free_rider(seed)),
        _ => Box::new(RandomPolicy::new(seed)),
    })
}
