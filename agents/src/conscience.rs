//! An action-level conscience in MACHIAVELLI's style: the policy's logits are lowered by `alpha`
//! for every action whose predicted harm exceeds a threshold. By default the penalty is part of
//! the policy in rollout, update and evaluation; with `applies = "selection"` it only shapes
//! which action is picked (rollout and evaluation), and the update learns the unpenalised policy,
//! as MACHIAVELLI's DRRN leaves its learning target unchanged. The predictions come from the
//! env's own annotation (the oracle) or from a classifier fitted on logged random play (see
//! [`crate::harm_model`]).

use moralgym_envs::ParallelEnv;
use serde::{Deserialize, Serialize};

use crate::error::{AgentError, setting};
use crate::harm_model::HarmClassifier;

/// Where a conscience's harm predictions come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HarmPredictor {
    /// The environment's own annotation of each action (text games expose it).
    #[default]
    Oracle,
    /// A logistic regression trained, before learning starts, on logged random play: the
    /// probability that an action incurs a cost (see `harm_model`).
    Learned,
}

/// Where the conscience's penalty acts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applies {
    /// In the logits the policy samples from and the PPO update differentiates (moralgym's form).
    #[default]
    RolloutAndUpdate,
    /// Only when an action is selected (MACHIAVELLI's form): the rollout stores the unpenalised
    /// log-probabilities and the update never sees the penalty.
    Selection,
}

/// The `[conscience]` settings of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConscienceConfig {
    /// Logit penalty of a flagged action.
    pub alpha: f64,
    /// Predicted harm above which an action is flagged: violations for the oracle (default 0), a
    /// probability for the learned predictor (default 0.5).
    pub threshold: Option<f64>,
    /// Source of the harm predictions.
    pub predictor: HarmPredictor,
    /// Learned predictor: logged transitions it is trained on.
    pub samples: usize,
    /// Where the penalty acts: `rollout_and_update` or `selection`.
    pub applies: Applies,
}

impl Default for ConscienceConfig {
    fn default() -> Self {
        Self {
            alpha: 10.0,
            threshold: None,
            predictor: HarmPredictor::Oracle,
            samples: 20_000,
            applies: Applies::RolloutAndUpdate,
        }
    }
}

impl ConscienceConfig {
    /// Checks every setting, naming the first one at fault (`conscience.<key>`).
    pub fn validate(&self) -> Result<(), AgentError> {
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(setting("conscience.alpha", "must be a finite number > 0 (the logit penalty)"));
        }
        if self.threshold.is_some_and(|t| !t.is_finite()) {
            return Err(setting("conscience.threshold", "must be a finite number"));
        }
        if self.samples > 10_000_000 {
            return Err(setting("conscience.samples", "must be at most 10,000,000"));
        }
        Ok(())
    }
}

/// A conscience ready to act: its settings and, for the learned predictor, the fitted model.
#[derive(Clone, Debug)]
pub struct Conscience {
    alpha: f32,
    /// Where the penalty acts.
    pub applies: Applies,
    threshold: f64,
    model: Option<HarmClassifier>,
    /// Training accuracy of the learned predictor, if any.
    pub accuracy: Option<f64>,
}

impl Conscience {
    /// Builds the conscience for `env` (its spec and config), fitting the learned predictor if asked.
    pub fn new(c: &ConscienceConfig, id: &str, env_config: &serde_json::Value, seed: u64) -> Result<Self, AgentError> {
        let mut env = moralgym_envs::make(id, env_config).map_err(|e| setting("conscience", e.to_string()))?;
        let (model, accuracy, default_threshold) = match c.predictor {
            HarmPredictor::Oracle => {
                if env.harm_oracle().is_none() {
                    return Err(setting(
                        "conscience",
                        format!(
                            "the oracle needs an env that exposes each action's harm, and {id} does not (text games do; try predictor = \"learned\")"
                        ),
                    ));
                }
                (None, None, 0.0)
            }
            HarmPredictor::Learned => {
                if c.samples == 0 {
                    return Err(setting("conscience.samples", "must be at least 1"));
                }
                let (m, acc) = HarmClassifier::fit(env.as_mut(), c.samples, seed);
                (Some(m), Some(acc), 0.5)
            }
        };
        Ok(Self {
            alpha: c.alpha as f32,
            applies: c.applies,
            threshold: c.threshold.unwrap_or(default_threshold),
            model,
            accuracy,
        })
    }

    /// Appends one row of logit penalties for `agent` of `env`, whose observation is `obs`.
    pub(crate) fn penalties(
        &self,
        env: &dyn ParallelEnv,
        agent: usize,
        obs: &[f32],
        scratch: &mut [f32],
        feats: &mut Vec<f32>,
        out: &mut Vec<f32>,
    ) {
        match &self.model {
            None => {
                if let Some(oracle) = env.harm_oracle() {
                    oracle.action_harm(agent, scratch);
                }
            }
            Some(m) => {
                for (a, s) in scratch.iter_mut().enumerate() {
                    *s = m.predict(obs, a, feats);
                }
            }
        }
        out.extend(scratch.iter().map(|&h| if h as f64 > self.threshold { self.alpha } else { 0.0 }));
    }
}
