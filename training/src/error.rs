//! The training crate's one error type: what went wrong reading a config, running, writing or
//! locking a run, each variant naming the key, file or flag at fault.

use moralgym_agents::{AgentError, PolicyError};
use moralgym_envs::EnvError;
use thiserror::Error;

/// A problem with a config file, an override, or the env it configures.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The file is not valid TOML.
    #[error("{path} is not valid TOML: {message}")]
    Toml {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A `--set` entry is malformed.
    #[error("bad --set `{entry}`: {message}")]
    Set {
        /// The entry as given.
        entry: String,
        /// What is wrong.
        message: String,
    },
    /// The environment rejected the config or an action.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A story file has problems (they were printed, one per line).
    #[error("{file}: {problems} problem(s) in the story")]
    Story {
        /// The file.
        file: String,
        /// How many.
        problems: usize,
    },
    /// A run config is malformed (unknown key, wrong type, bad value).
    #[error("invalid run config: {message}")]
    Run {
        /// What is wrong, naming the key.
        message: String,
    },
    /// A sweep file, or the shards to merge, are malformed or do not belong together.
    #[error("invalid sweep: {message}")]
    Sweep {
        /// What is wrong, naming the key, file or shard.
        message: String,
    },
    /// A command-line flag is wrong or flags do not go together.
    #[error("{message}")]
    Usage {
        /// What is wrong, naming the flag.
        message: String,
    },
    /// Another live process owns the run directory.
    #[error("{dir} is in use by another run (lock held by process {owner}); wait for it, or use another --out")]
    Locked {
        /// The run directory.
        dir: String,
        /// The lock's owner: pid and host.
        owner: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The policy does not exist or does not fit the environment.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The learner refused a setting, a partner failed, or a network file could not be used.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// A run has no checkpoint that can be read.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint (or checkpoints) directory.
        path: String,
        /// Why it cannot be used.
        message: String,
    },
    /// The caller's per-update hook stopped the run.
    #[error("stopped by the on_iteration hook: {message}")]
    Hook {
        /// What the hook said.
        message: String,
    },
}
