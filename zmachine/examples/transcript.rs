//! Plays a story file with commands read from standard input, one per line, and prints the
//! game's text: `cargo run --release -p moralgym-zmachine --example transcript -- story.z5 < commands.txt`.
//! Each command is shown after the status line; `--plain` prints the game's text alone (as a
//! dumb terminal would, for regression scripts such as regtest.py, which type as they read).

use std::io::{BufRead, Write};

use moralgym_zmachine::{Machine, Options, Stop, Story};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let plain = std::env::args().any(|a| a == "--plain");
    let path =
        std::env::args().skip(1).find(|a| a != "--plain").ok_or("usage: transcript [--plain] STORY < commands")?;
    let story = Story::new(std::fs::read(&path)?)?;
    let mut m = Machine::new(&story, Options::default());
    let mut stop = m.run();
    let mut out = std::io::stdout();
    let mut lines = std::io::stdin().lock().lines();
    loop {
        write!(out, "{}", m.take_output())?;
        out.flush()?;
        if stop? == Stop::Quit {
            return Ok(());
        }
        let Some(line) = lines.next() else { return Ok(()) };
        let line = line?;
        if !plain {
            writeln!(out, "[{}]\n> {line}", m.status_line().trim())?;
        }
        stop = m.send(&line);
    }
}
