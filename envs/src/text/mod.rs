//! MACHIAVELLI-like text games: the story format and validator, the engine, annotations and
//! their counters, the text featurizer, the procedural generator, and the shipped games.

pub mod annotation;
pub mod choicescript;
pub mod convert;
pub mod engine;
pub mod featurizer;
pub mod files;
pub mod game;
pub mod games;
pub mod generator;
pub mod jiminy;
pub mod machiavelli;
pub mod routes;
pub mod script;
pub mod story;

pub use annotation::{Annotation, COST_NAMES, MORALITY};
pub use game::{TextGame, TextGameConfig};
pub use story::{Problem, Story, StoryError};
