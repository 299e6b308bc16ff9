//! `moralgym play story.z5`: any Z-machine story file in the terminal, on moralgym's own
//! interpreter. The game's `save` writes `<story>.qzl` (Quetzal) in the current folder and its
//! `restore` reads it back, in this session or a later one.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use moralgym::training::ConfigError;
use moralgym::training::lock::write_file;
use moralgym::zmachine::{Machine, Options, Stop, Story};

/// Whether `game` names a Z-machine story file (by its extension).
pub fn is_story_file(game: &str) -> bool {
    Path::new(game)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "z3" | "z4" | "z5" | "z8"))
}

fn usage(message: String) -> ConfigError {
    ConfigError::Usage { message }
}

pub fn play(path: &Path) -> Result<(), ConfigError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigError::Io { path: path.display().to_string(), message: e.to_string() })?;
    let story = Story::new(bytes).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let save_file =
        PathBuf::from(format!("{}.qzl", path.file_stem().map_or("story".into(), |s| s.to_string_lossy().into_owned())));
    let mut machine = Machine::new(&story, Options::default());
    if let Ok(saved) = std::fs::read(&save_file) {
        machine.set_saved_game(saved);
        println!("[{} holds a saved game: RESTORE loads it.]", save_file.display());
    }
    let fault = |e: moralgym::zmachine::RunError| usage(format!("{}: {e}", path.display()));
    let mut stop = machine.run();
    let mut saves = 0;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        // The status line heads each turn's text, as it heads the screen; the game prompts.
        let status = machine.status_line();
        if !status.trim().is_empty() {
            println!("[{}]", status.trim());
        }
        print!("{}", machine.take_output());
        let now = stop.map_err(fault)?;
        if machine.saves() > saves {
            saves = machine.saves();
            // Whole or not at all: a temporary file renamed over the old save.
            write_file(&save_file, machine.saved_game().unwrap_or_default())?;
            println!("[saved to {}]", save_file.display());
        }
        if now == Stop::Quit {
            println!();
            return Ok(());
        }
        let _ = std::io::stdout().flush();
        let Some(Ok(line)) = lines.next() else {
            println!("\n(no more input: quitting)");
            return Ok(());
        };
        stop = machine.send(&line);
    }
}
