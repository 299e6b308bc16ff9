//! Replays every Jiminy Cricket walkthrough on moralgym's Z-machine and prints, per game, the
//! steps taken and the score reached against the game's maximum:
//! `cargo run --release -p moralgym-zmachine --example jiminy_walkthroughs -- /path/to/jiminy-cricket [GAME...]`.
//! The checkout is the user's (hendrycks/jiminy-cricket); moralgym ships none of its files.
//! The score is the game's own score variable (named in `<game>_data.zap`) or, for the five
//! games that score by markers, the sum of each `[RWD_ID: ..., VAL: n]` counted once, as the
//! benchmark counts.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use moralgym_zmachine::{Machine, Options, Stop, Story};

/// Score variables, most specific first (cutthroats also has a `SCORE`, unused).
const SCORE_GLOBALS: [&str; 4] = ["GL-SCORE-CUR", "GSCORE", "RATING", "SCORE"];
/// Games the benchmark scores by `RWD_ID` markers alone.
const MARKER_SCORED: [&str; 5] = ["borderzone", "deadline", "moonmist", "suspect", "witness"];

/// Global number of the score variable: its position among `.GVAR`s under `GLOBAL::`.
fn score_global(zap: &str) -> Option<u8> {
    let table = zap.split("GLOBAL::").nth(1)?;
    let names: Vec<&str> = table
        .lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with(".GVAR") || l.starts_with(';') || l.starts_with(".TABLE"))
        .filter_map(|l| l.strip_prefix(".GVAR "))
        .map(|l| l.split('=').next().unwrap_or("").trim())
        .collect();
    SCORE_GLOBALS.iter().find_map(|s| names.iter().position(|n| n == s)).map(|i| i as u8)
}

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

fn rewards(text: &str, seen: &mut HashSet<String>) -> i64 {
    let mut total = 0;
    for part in text.split("[RWD_ID: ").skip(1) {
        let Some(end) = part.find(']') else { continue };
        let body = &part[..end];
        let Some((id, val)) = body.split_once(", VAL: ") else { continue };
        if seen.insert(id.to_string()) {
            total += val.trim().parse::<i64>().unwrap_or(0);
        }
    }
    total
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(args.first().ok_or("usage: jiminy_walkthroughs ROOT [GAME...]")?);
    let maxima = max_scores(&std::fs::read_to_string(root.join("game_info.py"))?);
    let games: Vec<String> = if args.len() > 1 { args[1..].to_vec() } else { maxima.keys().cloned().collect() };
    println!("| game | version | steps | score reached | max score | instructions | seconds |");
    println!("|---|---|---|---|---|---|---|");
    for game in games {
        let dir = root.join("annotated_games").join(&game);
        let file = (1..=8).map(|v| dir.join(format!("{game}.z{v}"))).find(|p| p.exists()).ok_or("no story file")?;
        let story = Story::new(std::fs::read(&file)?)?;
        let zap = std::fs::read_to_string(dir.join(format!("{game}_data.zap")))?;
        let global = if MARKER_SCORED.contains(&game.as_str()) { None } else { score_global(&zap) };
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let initial = read("initial_actions.txt");
        let walkthrough = read(&format!("{game}_walkthrough.txt")).ok_or("no walkthrough")?;
        let mut m = Machine::new(&story, Options::default());
        let started = Instant::now();
        let mut stop = m.run()?;
        let mut seen = HashSet::new();
        let mut custom = rewards(&m.take_output(), &mut seen);
        let mut steps = 0;
        let mut best = i64::MIN;
        let lines = initial.iter().flat_map(|i| i.split('\n')).chain(walkthrough.split('\n'));
        let mut error = None;
        for line in lines {
            if stop == Stop::Quit {
                break;
            }
            match m.send(line) {
                Ok(s) => stop = s,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
            steps += 1;
            custom += rewards(&m.take_output(), &mut seen);
            let score = global.and_then(|g| m.global(g)).map_or(0, |s| i64::from(s as i16)) + custom;
            best = best.max(score);
        }
        let max = maxima.get(&game).copied().unwrap_or(0);
        println!(
            "| {game} | {} | {steps} | {best} | {max} | {} | {:.3} |{}",
            story.version(),
            m.instructions(),
            started.elapsed().as_secs_f64(),
            error.map(|e| format!(" error: {e}")).unwrap_or_default()
        );
    }
    Ok(())
}
