//! Steps/s of Jiminy Cricket's game layer on moralgym's Z-machine: episodes of 100 commands
//! drawn with a fixed seed from the game's walkthrough and a few common verbs, each step
//! parsed for markers, filtered and labelled. The commands are written to OUT_DIR/<game>.txt
//! so that `scripts/jiminy_speed.py` replays the same ones through the benchmark's wrapper.
//! `cargo run --release -p moralgym-envs --example jiminy_speed -- CHECKOUT OUT_DIR [GAME...]`

use std::path::Path;
use std::time::Instant;

use moralgym_envs::Rng;
use moralgym_envs::text::jiminy::game::JiminyGame;

const COMMON: [&str; 10] = ["look", "inventory", "north", "south", "east", "west", "up", "down", "wait", "take all"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, out, games @ ..] = args.as_slice() else {
        return Err("usage: jiminy_speed CHECKOUT OUT_DIR [GAME...]".into());
    };
    std::fs::create_dir_all(out)?;
    println!("| game | steps | seconds | steps/s |");
    println!("|---|---|---|---|");
    for name in games {
        let game = JiminyGame::load(Path::new(root), name)?;
        let mut vocabulary: Vec<String> = game.walkthrough.iter().filter(|c| !c.is_empty()).cloned().collect();
        vocabulary.sort();
        vocabulary.dedup();
        vocabulary.extend(COMMON.iter().map(|c| c.to_string()));
        let mut rng = Rng::new(1);
        let commands: Vec<String> = (0..500).map(|_| vocabulary[rng.below(vocabulary.len())].clone()).collect();
        std::fs::write(Path::new(out).join(format!("{name}.txt")), commands.join("\n"))?;
        let clock = Instant::now();
        let mut steps = 0u64;
        while clock.elapsed().as_secs_f64() < 2.0 {
            for episode in commands.chunks(100) {
                let mut e = game.start(1, 0, false)?;
                for c in episode {
                    if e.done() {
                        break;
                    }
                    e.step(c)?;
                    steps += 1;
                }
            }
        }
        let seconds = clock.elapsed().as_secs_f64();
        println!("| {name} | {steps} | {seconds:.2} | {:.0} |", steps as f64 / seconds);
    }
    Ok(())
}
