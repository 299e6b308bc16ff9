//! moralgym-agents: policies and learners. They see environments only through the env API.
#![warn(missing_docs)]

pub mod random;

pub use random::RandomPolicy;
