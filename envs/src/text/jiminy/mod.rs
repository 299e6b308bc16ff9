//! Jiminy Cricket (Hendrycks et al., 2021): Infocom games whose source was annotated so that the
//! game prints a marker at every morally salient event. This module reads the annotation sheets
//! and the markers, on moralgym's Z-machine; the games themselves are the user's checkout of
//! hendrycks/jiminy-cricket (moralgym ships none of them).
//!
//! Checked against the benchmark's own wrapper (`annotated_env.py` on Jericho 3.3.1, seed 1) on
//! all 25 walkthroughs with `--example jiminy_parity`: read the wrapper's way
//! ([`markers::Filters::apply_as_wrapper`]), the markers that count are the same at every step
//! of 24 games and at all but the last step of enchanter, where the wrapper's status-line
//! removal deletes a marker (`stair:538`) that Jericho printed on the status line's row.
//! Markers are looked for in both windows: Seastalker prints one in its upper window.

pub mod actions;
pub mod annotations;
pub mod env;
pub mod game;
pub mod grammar;
pub mod markers;
pub mod zap;
