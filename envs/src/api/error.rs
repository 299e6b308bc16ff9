//! Typed errors: every problem a user can cause, named.

use thiserror::Error;

/// An error from creating, configuring or stepping an environment.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EnvError {
    /// No environment is registered under this id.
    #[error("unknown environment id `{id}`; registered ids: {known}")]
    UnknownEnv {
        /// The id asked for.
        id: String,
        /// Comma-separated registered ids.
        known: String,
    },
    /// An older version of a registered environment's rules.
    #[error("`{id}` is an older version of these rules; use `{current}` (its {id} rules: {restore})")]
    Superseded {
        /// The id asked for.
        id: String,
        /// The id of the current rules.
        current: String,
        /// The settings of the current id that play the older rules.
        restore: String,
    },
    /// The config could not be read (unknown key, wrong type).
    #[error("invalid config for {env}: {message}")]
    Config {
        /// Environment id.
        env: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A config value is outside its allowed range.
    #[error("invalid config for {env}: `{key}` {message}")]
    OutOfRange {
        /// Environment id.
        env: String,
        /// The offending key.
        key: String,
        /// What the key allows.
        message: String,
    },
    /// An action is not legal for this agent now.
    #[error("illegal action {action} for agent {agent}: {reason}")]
    IllegalAction {
        /// Agent index.
        agent: usize,
        /// The action sent.
        action: u32,
        /// Why it is illegal.
        reason: String,
    },
    /// A typed command the env cannot offer as an action now.
    #[error("agent {agent} cannot play the command `{command}`: {reason}")]
    Command {
        /// Agent index.
        agent: usize,
        /// The command typed.
        command: String,
        /// Why it cannot be played.
        reason: String,
    },
    /// The number of actions or the size of a buffer does not match the spec.
    #[error("wrong length for {what}: expected {expected}, got {got}")]
    Length {
        /// Which input.
        what: &'static str,
        /// Length the spec asks for.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// `step` was called before `reset` or after the episode ended.
    #[error("step called on a finished or never-reset episode; call reset first")]
    NeedsReset,
    /// An error inside one copy of a vector env.
    #[error("env {index} of the vector env: {source}")]
    InVector {
        /// Index of the copy.
        index: usize,
        /// The copy's error.
        #[source]
        source: Box<EnvError>,
    },
}

/// Result type of the env API.
pub type EnvResult<T> = Result<T, EnvError>;
