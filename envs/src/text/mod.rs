//! MACHIAVELLI-like text games: the TOML story format and its validator, the ChoiceScript
//! interpreter that plays both formats, annotations and their counters, the text featurizer,
//! the procedural generator, and the shipped games; MACHIAVELLI's data and Jiminy Cricket's
//! parser games.

pub mod annotation;
pub mod choicescript;
pub mod convert;
pub mod featurizer;
pub mod files;
pub mod game;
pub mod games;
pub mod generator;
pub mod jiminy;
pub mod machiavelli;
pub mod passage;
pub mod routes;
pub mod story;

pub use annotation::{Annotation, COST_NAMES, MORALITY};
pub use game::{TextGame, TextGameConfig};
pub use story::{Problem, Story, StoryError};
