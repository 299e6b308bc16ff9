//! moralgym-training: run settings from files and the command line, rollouts with episode
//! reports, and throughput measurement. Learners and sweeps build on these.
#![warn(missing_docs)]

pub mod error;
pub mod jiminy;
pub mod lock;
pub mod machiavelli;
pub mod overrides;
pub mod pareto;
pub mod plot;
pub mod progress;
pub mod report;
pub mod rollout;
pub mod run;
pub mod summary;
pub mod sweep;
pub mod tensorboard;
pub mod throughput;

pub use error::ConfigError;
pub use overrides::{apply_set, apply_sets, load_table, load_with_sets};
pub use rollout::{RolloutSummary, evaluate, rollout, rollout_with};
pub use run::{RunConfig, RunResult, evaluate_run, resume, train, train_with};
pub use summary::{EvalFile, EvalSummary, MeanStd};
pub use throughput::{Throughput, measure};
