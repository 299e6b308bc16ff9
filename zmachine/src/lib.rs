//! moralgym's Z-machine: an interpreter for story files of versions 3, 4, 5 and 8 (the
//! Z-Machine Standards Document 1.1), built to be an environment's engine.
//!
//! - [`Story::new`] checks a story file once; [`Machine::new`] starts a game on it.
//! - [`Machine::run`] executes until the game waits for input (or quits) and
//!   [`Machine::send`] gives it a line; the printed text is [`Machine::output`], the status line
//!   [`Machine::status_line`], kept apart.
//! - [`Machine::clone`] forks a game: a plain copy of dynamic memory, stack and registers.
//! - Globals, objects, attributes, properties and the dictionary can be read at any stop.
//! - Random numbers come from frotz's generator, seeded by [`Options::seed`], so recorded
//!   walkthroughs replay as they do under frotz and Jericho.
//! - Each call runs at most [`Options::budget`] instructions: a runaway game is an error, not
//!   a hang. A malformed story file is a [`StoryError`] and a fault while playing a
//!   [`RunError`]; nothing panics.
//!
//! Written from the Standard; no other interpreter's code is copied.
//!
//! ```
//! use moralgym_zmachine::{Machine, Options, Stop, Story};
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stories/lighthouse.z5");
//! let story = Story::new(std::fs::read(path)?)?;           // checked once, shared
//! let mut game = Machine::new(&story, Options::default());  // seed 1, as Jiminy Cricket
//! game.run()?;                                               // to the first prompt
//! assert!(game.take_output().contains("LIGHTHOUSE"));
//! let fork = game.clone();                                   // memory, stack, registers
//! assert_eq!(game.send("north")?, Stop::Line);
//! assert!(game.take_output().contains("Inside the Lighthouse"));
//! assert!(game.status_line().contains("Moves: 1"));          // kept apart from the text
//! game.restore_from(&fork);                                  // back, without allocating
//! assert!(game.status_line().contains("Moves: 0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod exec;
mod io;
mod machine;
mod objects;
mod quetzal;
mod random;
mod story;
mod text;

pub use machine::{Machine, Options, Stop};
pub use objects::Object;
pub use story::{MAX_STORY_LEN, Story};

/// A story file that cannot be played.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoryError {
    #[error("story file is {0} bytes: a Z-machine header alone is 64")]
    TooShort(usize),
    #[error("story file is {0} bytes: no supported version allows more than 512 kB")]
    TooLong(usize),
    #[error("Z-machine version {0} is not supported (versions 3, 4, 5 and 8 are)")]
    Version(u8),
    #[error("header field `{field}` is {value:#x}, outside the story's memory (limit {limit:#x})")]
    Header { field: &'static str, value: usize, limit: usize },
}

/// What went wrong while the game ran. The machine keeps its state as of the faulting
/// instruction; after any fault but [`Fault::Budget`] it refuses to run on.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[error("at pc {pc:#07x}: {fault}")]
pub struct RunError {
    /// Address of the instruction that faulted.
    pub pc: usize,
    pub fault: Fault,
}

/// The kinds of runtime fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum Fault {
    #[error("address {0:#x} is outside the story's memory")]
    Memory(usize),
    #[error("write to {0:#x}, outside dynamic memory")]
    WriteStatic(usize),
    #[error("illegal opcode {0}")]
    IllegalOpcode(String),
    #[error("stack underflow")]
    StackUnderflow,
    #[error("stack overflow (more than {0} entries)")]
    StackOverflow(usize),
    #[error("division by zero")]
    DivisionByZero,
    #[error("return from the main routine")]
    ReturnFromMain,
    #[error("routine at {0:#x} declares {1} locals (at most 15)")]
    BadRoutine(usize, u8),
    #[error("object {0}: {1}")]
    Object(u16, &'static str),
    #[error("string at {0:#x}: {1}")]
    Text(usize, &'static str),
    #[error("output stream 3 nested more than 16 deep")]
    StreamDepth,
    #[error("ran {0} instructions without needing input (the budget; see Options::budget)")]
    Budget(u64),
    #[error("the game has ended")]
    Halted,
    #[error("the game is not waiting for input")]
    NotWaiting,
    /// A routine called on a fork ([`Machine::call_routine`]) stopped for input or quit before
    /// it returned (a question to the player: `Do you really want to...?`); the error's pc is
    /// that of the instruction that stopped it.
    #[error("the routine stopped the game ({0:?}) before it returned")]
    Stopped(Stop),
    #[error("saved state: {0}")]
    Save(String),
}
