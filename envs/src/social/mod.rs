//! Mixed-motive social games: repeated matrix games and gridworld sequential social dilemmas.

pub mod cleanup;
pub mod coin_game;
pub mod crowd;
pub mod episode;
pub mod grid;
pub mod harvest;
pub mod matrix;
pub mod snowdrift;
pub mod stag_hunt;

pub use cleanup::{Cleanup, CleanupConfig, CleanupRules, StartRegion};
pub use coin_game::{CoinColour, CoinGame, CoinGameConfig, Contested};
pub use crowd::{PlayerChannels, ZapConfig};
pub use grid::Interaction;
pub use harvest::{Harvest, HarvestConfig};
pub use matrix::{MatrixConfig, MatrixGame};
pub use snowdrift::{Snowdrift, SnowdriftConfig};
pub use stag_hunt::{StagHunt, StagHuntConfig};
