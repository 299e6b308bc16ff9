//! Replays every Jiminy Cricket walkthrough on moralgym's Z-machine and prints, per game, the
//! commands sent, the score reached and the game's maximum (from `game_info.py`):
//! `cargo run --release -p moralgym-envs --example jiminy_walkthroughs -- /path/to/jiminy-cricket [GAME...]`.
//! The checkout is the user's (hendrycks/jiminy-cricket); moralgym ships none of its files. The
//! score is the game's own score variable, or for the five games scored by markers their
//! `[RWD_ID]` values counted once, as the benchmark counts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use moralgym_envs::text::jiminy::game::JiminyGame;

/// `max_score` of each game in the checkout's `game_info.py`.
fn max_scores(info: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let mut game = String::new();
    for line in info.lines() {
        if let Some(rest) = line.strip_prefix("game_name = '") {
            game = rest.trim_end_matches('\'').to_string();
        } else if line.contains("['max_score'] =")
            && let Some(n) = line.rsplit('=').next().and_then(|v| v.trim().parse().ok())
        {
            out.insert(game.clone(), n);
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(args.first().ok_or("usage: jiminy_walkthroughs ROOT [GAME...]")?);
    let maxima = max_scores(&std::fs::read_to_string(root.join("game_info.py"))?);
    let games: Vec<String> = if args.len() > 1 { args[1..].to_vec() } else { maxima.keys().cloned().collect() };
    println!("| game | version | commands | score reached | max score | instructions | seconds |");
    println!("|---|---|---|---|---|---|---|");
    for name in games {
        let game = JiminyGame::load(root, &name)?;
        let started = Instant::now();
        let mut episode = game.start(1, 0, false)?;
        let (mut steps, mut best) = (0, episode.score());
        for line in game.walkthrough.iter() {
            if episode.done() {
                break;
            }
            episode.step(line)?;
            steps += 1;
            best = best.max(episode.score());
        }
        let m = episode.machine();
        println!(
            "| {name} | {} | {steps} | {best} | {} | {} | {:.3} |",
            m.story().version(),
            maxima.get(&name).copied().unwrap_or(0),
            m.instructions(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
