//! moralgym-agents: policies and learners. They see environments only through the env API;
//! scripted reference policies also read the public layout of the one env they script.
#![warn(missing_docs)]

pub mod policy;
pub mod random;
pub mod scripted;

pub use policy::{POLICIES, Policy, PolicyError, make_policy};
pub use random::RandomPolicy;
