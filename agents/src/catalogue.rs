//! The catalogue of named policies the CLI, rollouts, reports and sweeps run: each entry carries
//! its name, what it does, the envs it plays and its constructor, so no name can lack a policy.

use std::sync::Arc;

use moralgym_envs::registry;
use moralgym_envs::social::cleanup;
use moralgym_envs::survival::SurvivalConfig;
use serde_json::Value;

use crate::llm::{Llm, LlmConfig, LlmPolicy, STYLES};
use crate::partners::{CleanupPartner, MatrixPartner};
use crate::policy::{Policy, PolicyError};
use crate::random::RandomPolicy;
use crate::scripted::{EthicalSurvivor, HarmAvoider, Hoarder, Walkthrough};

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

/// What a policy's constructor is given.
pub struct Build<'a> {
    /// The policy's name (the language-model agents share one constructor).
    pub name: &'a str,
    /// The env it will play.
    pub id: &'a str,
    /// The env's config overrides.
    pub config: &'a Value,
    /// Seeds the policy's RNG.
    pub seed: u64,
    /// The language model of the `llm*` policies.
    pub options: &'a PolicyOptions,
}

impl Build<'_> {
    fn error(&self, message: impl ToString) -> PolicyError {
        PolicyError::Config { name: self.name.into(), message: message.to_string() }
    }

    /// The survival env's config, resolved with its defaults.
    fn survival(&self) -> Result<SurvivalConfig, PolicyError> {
        let resolved = registry::resolve_config(self.id, self.config).map_err(|e| self.error(e))?;
        serde_json::from_value(resolved).map_err(|e| self.error(e))
    }
}

/// One named policy.
pub struct Entry {
    /// The name the CLI and configs use.
    pub name: &'static str,
    /// What it does, in a line.
    pub what: &'static str,
    /// The envs it plays.
    pub plays: Plays,
    /// Builds it.
    pub build: fn(&Build) -> Result<Box<dyn Policy>, PolicyError>,
}

/// The named policies.
pub const POLICIES: &[Entry] = &[
    Entry {
        name: "random",
        what: "uniformly random legal actions",
        plays: Plays::Any,
        build: |b| Ok(Box::new(RandomPolicy::new(b.seed))),
    },
    Entry {
        name: "hoarder",
        what: "draws from the battery and taps the grid whenever it can",
        plays: Plays::Family("survival"),
        build: |b| Ok(Box::new(Hoarder::new(&b.survival()?))),
    },
    Entry {
        name: "ethical",
        what: "never taps; draws only what it needs and shares with agents in crisis",
        plays: Plays::Family("survival"),
        build: |b| Ok(Box::new(EthicalSurvivor::new(&b.survival()?))),
    },
    Entry {
        name: "harm_avoider",
        what: "random among the legal actions the env's own annotation marks harmless (text games)",
        plays: Plays::Any,
        build: harm_avoider,
    },
    Entry {
        name: "walkthrough",
        what: "types the command the game's own walkthrough plays at this step (parser games); random once it is over",
        plays: Plays::Only("JiminyCricket-v0"),
        build: |b| Ok(Box::new(Walkthrough::new(b.seed))),
    },
    Entry {
        name: "always_cooperate",
        what: "cooperates every round",
        plays: Plays::Family("matrix"),
        build: |_| Ok(Box::new(MatrixPartner::AlwaysCooperate)),
    },
    Entry {
        name: "always_defect",
        what: "defects every round",
        plays: Plays::Family("matrix"),
        build: |_| Ok(Box::new(MatrixPartner::AlwaysDefect)),
    },
    Entry {
        name: "tit_for_tat",
        what: "cooperates first, then repeats the co-player's last move",
        plays: Plays::Family("matrix"),
        build: |_| Ok(Box::new(MatrixPartner::TitForTat)),
    },
    Entry {
        name: "cleaner",
        what: "walks to the nearest waste in sight and cleans it; heads for the river otherwise",
        plays: Plays::Only(cleanup::ID),
        build: |b| Ok(Box::new(CleanupPartner::cleaner(b.seed))),
    },
    Entry {
        name: "free_rider",
        what: "walks to the nearest apple in sight and eats it; never cleans",
        plays: Plays::Only(cleanup::ID),
        build: |b| Ok(Box::new(CleanupPartner::free_rider(b.seed))),
    },
    Entry {
        name: "llm",
        what: "a language model (OpenAI-compatible server) playing in character for the game's goal",
        plays: Plays::Any,
        build: language_model,
    },
    Entry {
        name: "llm_ethical",
        what: "the same model told to be altruistic, keep to moral rules and not seek power",
        plays: Plays::Any,
        build: language_model,
    },
    Entry {
        name: "llm_cot",
        what: "the plain language-model agent reasoning step by step before it answers",
        plays: Plays::Any,
        build: language_model,
    },
    Entry {
        name: "llm_ethical_cot",
        what: "the ethics-prompted language-model agent reasoning step by step",
        plays: Plays::Any,
        build: language_model,
    },
];

fn harm_avoider(b: &Build) -> Result<Box<dyn Policy>, PolicyError> {
    let probe = registry::make(b.id, b.config).map_err(|e| b.error(e))?;
    if probe.harm_oracle().is_none() {
        return Err(b.error(format!("{} does not expose the harm of its actions (text games do)", b.id)));
    }
    Ok(Box::new(HarmAvoider::new(b.seed)))
}

fn language_model(b: &Build) -> Result<Box<dyn Policy>, PolicyError> {
    let llm = match &b.options.llm {
        Some(llm) => Arc::clone(llm),
        None => Llm::new(&LlmConfig::default()).map_err(|e| b.error(e))?,
    };
    Ok(Box::new(LlmPolicy::new(llm, b.name).map_err(|e| b.error(e))?))
}

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

/// [`make_policy`] with `options` (the language model of the `llm*` policies). An unknown name
/// is an error listing the names; a policy that scripts other envs is an error naming them.
pub fn make_policy_with(
    name: &str,
    id: &str,
    config: &Value,
    seed: u64,
    options: &PolicyOptions,
) -> Result<Box<dyn Policy>, PolicyError> {
    let Some(entry) = POLICIES.iter().find(|p| p.name == name) else {
        let known = POLICIES.iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
        return Err(PolicyError::Unknown { name: name.into(), known });
    };
    let only = entry.plays.ids();
    if entry.plays != Plays::Any && !only.contains(&id) {
        return Err(PolicyError::WrongEnv { name: name.into(), only: only.join(", "), env: id.into() });
    }
    (entry.build)(&Build { name, id, config, seed, options })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_and_every_language_model_style_is_listed() {
        for (style, ..) in STYLES {
            assert!(POLICIES.iter().any(|p| p.name == *style), "{style}");
        }
        let mut names: Vec<_> = POLICIES.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), POLICIES.len());
    }

    #[test]
    fn every_policy_but_the_language_models_builds_for_an_env_it_plays() {
        for p in POLICIES.iter().filter(|p| !is_llm(p.name)) {
            let id = match p.plays {
                Plays::Any if p.name == "harm_avoider" => "TextGame-v0",
                Plays::Any => "PrisonersDilemma-v0",
                other => other.ids()[0],
            };
            make_policy(p.name, id, &Value::Null, 0).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
    }

    /// Runs in a build without the client (`cargo test -p moralgym-agents --no-default-features`).
    #[cfg(not(feature = "llm"))]
    #[test]
    fn without_the_llm_feature_a_language_model_policy_names_what_is_missing() {
        let e = make_policy("llm", "PrisonersDilemma-v0", &Value::Null, 0).err().expect("no client");
        assert!(e.to_string().contains("without its `llm` feature"), "{e}");
    }

    #[test]
    fn an_unknown_name_lists_the_names() {
        let e = make_policy("nobody", "PrisonersDilemma-v0", &Value::Null, 0).err().expect("unknown");
        let text = e.to_string();
        assert!(POLICIES.iter().all(|p| text.contains(p.name)), "{text}");
    }
}
