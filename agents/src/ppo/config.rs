//! PPO's settings (`[ppo]`), with their checks and budgets, and the statistics an update reports.

use serde::{Deserialize, Serialize};

use crate::error::{AgentError, setting};
use crate::model::{Activation, CnnConfig, Init, PolicyHead, Torso};

/// Logits of illegal actions are pushed this far down (finite, so that 0 * logp stays 0).
pub(crate) const MASKED_LOGIT: f32 = -1e9;

/// PPO hyper-parameters (CleanRL's defaults where it has one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    /// Steps each env copy runs per rollout.
    pub num_steps: usize,
    /// Discount factor.
    pub gamma: f64,
    /// GAE lambda.
    pub gae_lambda: f64,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Epochs over each rollout.
    pub update_epochs: usize,
    /// Normalise advantages per minibatch.
    pub norm_adv: bool,
    /// Surrogate clipping coefficient.
    pub clip_coef: f64,
    /// Clip the value loss like the policy.
    pub clip_vloss: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value loss coefficient.
    pub vf_coef: f64,
    /// Global gradient-norm limit.
    pub max_grad_norm: f64,
    /// Hidden layer sizes of the actor and of the critic.
    pub hidden: Vec<usize>,
    /// Nonlinearity.
    pub activation: Activation,
    /// Adam epsilon (PyTorch's and CleanRL's 1e-5 is burn's default too).
    pub adam_epsilon: f32,
    /// The actor's head: an MLP over the observation, or a shared choice scorer (text games).
    pub policy: PolicyHead,
    /// How the weights start: CleanRL's orthogonal initialisation, or burn's default.
    pub init: Init,
    /// CleanRL's early stop: no further epochs of an update once the approximate KL of an
    /// epoch's last minibatch exceeds this (off when unset).
    pub target_kl: Option<f64>,
    /// What computes the gradient steps: the fused CPU step where it applies, or burn's autodiff.
    pub engine: Engine,
    /// What reads the observation before the hidden layers: nothing, or convolutions.
    pub torso: Torso,
    /// The convolutions of `torso = "cnn"`.
    pub cnn: CnnConfig,
    /// Units of an LSTM after the hidden layers (off when unset).
    pub lstm_size: Option<usize>,
}

/// What computes PPO's gradient steps (the maths is the same; a test checks they agree).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// The fused CPU step ([`crate::fused`]) for an MLP policy on the CPU device, burn's
    /// autodiff otherwise (other devices, the choice scorer, the convolutional torso).
    #[default]
    Auto,
    /// burn's autodiff on the learner's device, always (moralgym v0).
    Burn,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            learning_rate: 2.5e-4,
            anneal_lr: true,
            num_steps: 128,
            gamma: 0.99,
            gae_lambda: 0.95,
            num_minibatches: 4,
            update_epochs: 4,
            norm_adv: true,
            clip_coef: 0.2,
            clip_vloss: true,
            ent_coef: 0.01,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            hidden: vec![64, 64],
            activation: Activation::Tanh,
            adam_epsilon: 1e-5,
            policy: PolicyHead::Mlp,
            init: Init::Orthogonal,
            target_kl: None,
            engine: Engine::Auto,
            torso: Torso::Mlp,
            cnn: CnnConfig::default(),
            lstm_size: None,
        }
    }
}

impl PpoConfig {
    /// Checks that a rollout of `copies` env copies fills every minibatch.
    pub fn check_batch(&self, copies: usize) -> Result<(), AgentError> {
        if self.lstm_size.is_some() && self.num_minibatches > copies {
            let what = format!("must be at most num_envs ({copies}) with an LSTM: minibatches hold whole sequences");
            return Err(setting("ppo.num_minibatches", what));
        }
        if self.num_minibatches > self.num_steps * copies {
            let what = format!("must be at most the batch, num_steps x num_envs = {} x {copies}", self.num_steps);
            return Err(setting("ppo.num_minibatches", what));
        }
        Ok(())
    }

    /// Checks every setting, naming the first one at fault (`ppo.<key>`) and what it allows.
    pub fn validate(&self) -> Result<(), AgentError> {
        let fail = |key: &str, what: &str| Err(setting(format!("ppo.{key}"), what));
        let finite = |x: f64| x.is_finite();
        for (key, n) in [
            ("num_steps", self.num_steps),
            ("num_minibatches", self.num_minibatches),
            ("update_epochs", self.update_epochs),
        ] {
            if n == 0 {
                return fail(key, "must be at least 1");
            }
        }
        if self.update_epochs > MAX_UPDATE_EPOCHS {
            return fail("update_epochs", &format!("must be 1 to {MAX_UPDATE_EPOCHS} (CleanRL's is 4)"));
        }
        if !(finite(self.learning_rate) && self.learning_rate > 0.0) {
            return fail("learning_rate", "must be a finite number > 0");
        }
        for (key, x) in [("gamma", self.gamma), ("gae_lambda", self.gae_lambda)] {
            if !(0.0..=1.0).contains(&x) {
                return fail(key, "must be in [0, 1]");
            }
        }
        for (key, x) in
            [("clip_coef", self.clip_coef), ("vf_coef", self.vf_coef), ("max_grad_norm", self.max_grad_norm)]
        {
            if !(finite(x) && x > 0.0) {
                return fail(key, "must be a finite number > 0");
            }
        }
        if !(finite(self.ent_coef) && self.ent_coef >= 0.0) {
            return fail("ent_coef", "must be a finite number >= 0 (0 turns the entropy bonus off)");
        }
        if !(self.adam_epsilon.is_finite() && self.adam_epsilon > 0.0) {
            return fail("adam_epsilon", "must be a finite number > 0");
        }
        if self.lstm_size.is_some_and(|n| n == 0 || n > 4096) {
            return fail("lstm_size", "must be 1 to 4096 units (leave it out for no recurrent layer)");
        }
        if self.target_kl.is_some_and(|k| !(k.is_finite() && k > 0.0)) {
            return fail("target_kl", "must be a finite number > 0 (leave it out to turn the early stop off)");
        }
        if self.hidden.contains(&0) || self.hidden.iter().any(|&h| h > 65_536) || self.hidden.len() > 64 {
            return fail("hidden", "must list at most 64 layer sizes of 1 to 65536");
        }
        Ok(())
    }
}

/// Most epochs over one rollout: past it an update runs for hours and says nothing.
pub const MAX_UPDATE_EPOCHS: usize = 1000;

/// Most parameters of one PPO learner's networks (actor and critic together): 64 million, which
/// with their gradients and Adam's two moments are 1 GiB of f32.
pub const MAX_PARAMETERS: u128 = 64 << 20;

impl PpoConfig {
    /// Refuses networks over [`MAX_PARAMETERS`] for `inputs` observation floats, `actions` and
    /// `costs` value heads, naming `ppo.hidden` (and `ppo.lstm_size`).
    pub fn check_size(&self, inputs: usize, actions: usize, costs: usize) -> Result<(), AgentError> {
        let network = |outputs: usize| {
            let (mut n, mut prev) = (0u128, inputs as u128);
            for &h in &self.hidden {
                n += (prev + 1) * h as u128;
                prev = h as u128;
            }
            if let Some(l) = self.lstm_size {
                n += 4 * (prev + l as u128 + 1) * l as u128;
                prev = l as u128;
            }
            n + (prev + 1) * outputs as u128
        };
        let total = network(actions) + network(1 + costs);
        if total > MAX_PARAMETERS {
            return Err(setting(
                "ppo.hidden",
                format!(
                    "(with ppo.lstm_size) gives {total} parameters for {inputs} inputs, over the budget of {MAX_PARAMETERS} (1 GiB with gradients and Adam's moments)"
                ),
            ));
        }
        Ok(())
    }
}

/// Losses and diagnostics of one update (CleanRL's `losses/*` tags).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UpdateStats {
    /// Value loss.
    pub value_loss: f64,
    /// Policy (surrogate) loss.
    pub policy_loss: f64,
    /// Mean policy entropy.
    pub entropy: f64,
    /// KL estimate before the update's first step.
    pub old_approx_kl: f64,
    /// KL estimate (k3) of the last minibatch.
    pub approx_kl: f64,
    /// Fraction of samples whose ratio was clipped.
    pub clipfrac: f64,
    /// Explained variance of the reward value head.
    pub explained_variance: f64,
    /// Global gradient norm before clipping (mean over minibatches).
    pub grad_norm: f64,
    /// Epochs run (fewer than `update_epochs` when `target_kl` stopped the update early).
    pub epochs: usize,
}

/// One gradient step's losses and diagnostics.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StepStats {
    pub policy: f64,
    pub value: f64,
    pub entropy: f64,
    pub old_approx_kl: f64,
    pub approx_kl: f64,
    pub clipfrac: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}
