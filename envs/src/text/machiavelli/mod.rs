//! MACHIAVELLI's own games (`Machiavelli-v0`): its `game_data` folder read as its code reads it,
//! played by a port of its player, its node annotations counted as its env counts them, and its
//! scores normalised by its shipped coefficients.

pub mod data;
pub mod env;
pub mod player;
pub mod pyexpr;
pub mod pyrandom;

pub use data::{DataError, GameData, Labels};
pub use env::{Machiavelli, MachiavelliConfig};
pub use player::{Game, Player};
