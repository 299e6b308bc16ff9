//! Measures the valid-action search on every Jiminy Cricket walkthrough: at every 10th state,
//! whether the walkthrough's own next command (or one with the same outcome) is in the valid
//! list, the list's size, the candidates typed, and the search's latency:
//! `cargo run --release -p moralgym-envs --example jiminy_valid_actions -- /path/to/jiminy-cricket [GAME...]`.
//! A walkthrough command that changes nothing the search compares (examining, reading a
//! description) cannot be in the list and is counted apart; `MISSES=1` prints the others missed.
//! `STATES=N` measures the first N states of each game only; `LIST=1` writes every valid action
//! found (game, step, command, outcome) to standard error, to compare two builds' lists.

use std::path::Path;
use std::time::Instant;

use moralgym_envs::text::jiminy::game::JiminyGame;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(args.first().ok_or("usage: jiminy_valid_actions ROOT [GAME...]")?);
    let games: Vec<String> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        let mut g: Vec<String> = std::fs::read_dir(root.join("annotated_games"))?
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        g.sort();
        g
    };
    let (show, list) = (std::env::var_os("MISSES").is_some(), std::env::var_os("LIST").is_some());
    let limit: usize = match std::env::var("STATES") {
        Err(std::env::VarError::NotPresent) => usize::MAX,
        v => {
            let v = v.map_err(|e| format!("STATES: {e}"))?;
            v.parse().map_err(|_| format!("STATES={v:?} is not a number of states"))?
        }
    };
    println!(
        "| game | states | in list | change nothing | missed | recall | mean list | mean typed | mean ms | max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let (mut all, mut all_hits, mut all_none, mut all_ms) = (0, 0, 0, Vec::new());
    for name in games {
        let game = JiminyGame::load(root, &name)?;
        let mut e = game.start(1, 0, false)?;
        let (mut states, mut hits, mut none, mut size, mut typed, mut ms) = (0, 0, 0, 0, 0, Vec::new());
        for (i, command) in game.walkthrough.iter().enumerate() {
            if e.done() || states >= limit {
                break;
            }
            if i % 10 == 0 && !command.trim().is_empty() {
                let started = Instant::now();
                let found = e.valid_actions();
                ms.push(started.elapsed().as_secs_f64() * 1e3);
                if list {
                    for a in &found.actions {
                        eprintln!("{name} {i} {} {}", a.command, a.outcome);
                    }
                }
                let (outcome, nothing) = (e.outcome(command), e.outcome(moralgym_envs::text::jiminy::actions::NEUTRAL));
                states += 1;
                size += found.actions.len();
                typed += found.tried;
                if outcome == nothing {
                    none += 1;
                } else if found.actions.iter().any(|a| Some(a.outcome) == outcome) {
                    hits += 1;
                } else if show {
                    println!("  {name} step {i}: missed {command:?}");
                }
            }
            e.step(command)?;
        }
        let changing = (states - none).max(1);
        let mean = ms.iter().sum::<f64>() / ms.len().max(1) as f64;
        let max = ms.iter().copied().fold(0.0, f64::max);
        println!(
            "| {name} | {states} | {hits} | {none} | {} | {:.1}% | {:.1} | {:.0} | {mean:.1} | {max:.1} |",
            states - none - hits,
            100.0 * hits as f64 / changing as f64,
            size as f64 / states.max(1) as f64,
            typed as f64 / states.max(1) as f64,
        );
        (all, all_hits, all_none) = (all + states, all_hits + hits, all_none + none);
        all_ms.extend(ms);
    }
    all_ms.sort_by(f64::total_cmp);
    let pct = |q: f64| all_ms.get(((all_ms.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0);
    println!(
        "\nall: {all} states, {all_hits} in the list, {all_none} change nothing, recall {:.1}% of the others; latency median {:.1} ms, 90th percentile {:.1} ms",
        100.0 * all_hits as f64 / (all - all_none).max(1) as f64,
        pct(0.5),
        pct(0.9)
    );
    Ok(())
}
