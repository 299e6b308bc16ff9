//! moralgym-envs: environments that report a task reward and named ethical-violation costs.
//!
//! ```
//! use moralgym_envs::{make, ParallelEnv};
//! let mut env = make("PrisonersDilemma-v0", &serde_json::Value::Null).unwrap();
//! env.reset(Some(0));
//! let step = env.step(&[0, 1]).unwrap();
//! assert_eq!(step.rewards, vec![0.0, 5.0]); // the defector is tempted...
//! assert_eq!(step.costs, vec![0.0, 1.0]); // ...and its betrayal is a cost, not a reward
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod registry;
pub mod social;
pub mod survival;
pub mod text;
pub mod vector;

pub use api::*;
pub use registry::{make, registry};
pub use vector::VecEnv;
