//! The environment contract: traits, spaces, specs, costs, errors, seeding, episode metrics, and
//! the one hash written to disk, and the project's cache folder.

mod cache;
mod env;
mod error;
mod hash;
mod metrics;
mod rng;
mod space;
mod spec;

pub use cache::cache_root;
pub use env::{
    Env, Event, HarmOracle, ParallelEnv, ParallelStep, SingleAgent, Step, StepBuf, TextObservation, TextView,
    Visibility, can_see, legal_actions,
};
pub use error::{EnvError, EnvResult};
pub use hash::{Fnv1a64, fnv1a64};
pub use metrics::{EpisodeReport, EpisodeTracker, SocialMetrics, equality, per_agent_mean};
pub use rng::{Rng, derive_seed, splitmix64};
pub use space::Space;
pub use spec::{CostComponent, CostSpec, EnvSpec};
