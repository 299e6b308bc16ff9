//! Plays a story file with commands read from standard input, one per line, and prints the
//! game's text: `cargo run --release -p moralgym-zmachine --example transcript -- story.z5 < commands.txt`.

use std::io::Read;

use moralgym_zmachine::{Machine, Options, Stop, Story};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: transcript STORY < commands")?;
    let story = Story::new(std::fs::read(&path)?)?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let mut m = Machine::new(&story, Options::default());
    let first = m.run();
    print!("{}", m.take_output());
    let mut stop = first?;
    for line in input.lines() {
        if stop == Stop::Quit {
            break;
        }
        println!("[{}]", m.status_line().trim());
        println!("> {line}");
        let next = m.send(line);
        print!("{}", m.take_output());
        stop = next?;
    }
    Ok(())
}
