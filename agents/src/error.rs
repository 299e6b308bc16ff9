//! The agents crate's error: every way building, running or saving a learner can fail, by cause.

use crate::policy::PolicyError;

/// What went wrong in a learner or a policy.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// A setting the learner cannot use, named by its dotted key (`ppo.clip_coef`).
    #[error("invalid training setting `{key}`: {message}")]
    Setting {
        /// The setting.
        key: String,
        /// What is wrong and what it allows.
        message: String,
    },
    /// A policy could not be built, or failed to choose an action.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// An update's losses or gradients stopped being finite numbers: training diverged.
    #[error(
        "training diverged at update {update}: {what} is not a finite number (a smaller ppo.learning_rate or ppo.max_grad_norm may help); the checkpoints written before it are kept"
    )]
    Diverged {
        /// The update that diverged (1-based).
        update: u64,
        /// Which quantity of which learner.
        what: String,
    },
    /// A network's or optimizer's file could not be written or read.
    #[error("checkpoint file {path}: {message}")]
    Checkpoint {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// A [`AgentError::Setting`] for `key`.
pub(crate) fn setting(key: impl Into<String>, message: impl Into<String>) -> AgentError {
    AgentError::Setting { key: key.into(), message: message.into() }
}
