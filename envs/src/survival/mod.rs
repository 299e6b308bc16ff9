//! Survival dilemmas: self-preservation against a forbidden, human-critical resource.

pub mod dilemma;
pub mod esrs;

pub use dilemma::{Action, Layout, Location, Scarcity, ScarcityPreset, SurvivalConfig, SurvivalDilemma};
pub use esrs::{Esrs, EsrsConfig};
