//! moralgym-agents: policies and learners. They see environments only through the env API;
//! scripted reference policies also read the public layout of the one env they script.
#![warn(missing_docs)]

pub mod buffer;
pub mod burn_rl;
pub mod catalogue;
pub mod conscience;
pub mod error;
pub mod harm_model;
pub mod lagrangian;
pub mod lase;
pub mod llm;
pub mod model;
pub mod partners;
pub mod policy;
pub mod ppo;
pub mod random;
pub mod scripted;
pub mod social;
pub mod trained;
pub mod trainer;

pub use buffer::RolloutBuffer;
pub use catalogue::{POLICIES, Plays, PolicyOptions, is_llm, make_policy, make_policy_with};
pub use conscience::{Applies, ConscienceConfig};
pub use error::AgentError;
pub use lagrangian::{CostConfig, CostMode};
pub use policy::{Policy, PolicyError};
pub use ppo::{Forward, PpoConfig, PpoLearner};
pub use random::RandomPolicy;
pub use trainer::{Iteration, Trainer, TrainerConfig};
