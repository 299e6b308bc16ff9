//! The environment contract: traits, spaces, specs, costs, errors, seeding and episode metrics.

mod env;
mod error;
mod metrics;
mod rng;
mod space;
mod spec;

pub use env::{
    Env, Event, HarmOracle, ParallelEnv, ParallelStep, SingleAgent, Step, StepBuf, TextObservation, TextView,
    Visibility, can_see, legal_actions,
};
pub use error::{EnvError, EnvResult};
pub use metrics::{EpisodeReport, EpisodeTracker, SocialMetrics, equality, per_agent_mean};
pub use rng::{Rng, derive_seed, splitmix64};
pub use space::Space;
pub use spec::{CostComponent, CostSpec, EnvSpec};
