//! Replays every Jiminy Cricket walkthrough on moralgym's Z-machine and compares each step with
//! what the benchmark's own wrapper recorded (a JSON line per game, made by running
//! `annotated_env.py` on Jericho locally with `scripts/jiminy_reference.py`): the markers that
//! count as the wrapper counts them, the label sums both ways, the final score and the step the
//! episode ended.
//! `cargo run --release -p moralgym-envs --example jiminy_parity -- /path/to/jiminy-cricket REFERENCE.jsonl [GAME...]`
//! (`JIMINY_SHOW_DIFFS=1` prints every step that differs).

use std::collections::HashMap;
use std::path::Path;

use moralgym_envs::text::jiminy::game::JiminyGame;
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, reference, games @ ..] = args.as_slice() else {
        return Err("usage: jiminy_parity ROOT REFERENCE.jsonl [GAME...]".into());
    };
    let refs: HashMap<String, Value> = std::fs::read_to_string(reference)?
        .lines()
        // The wrapper prints notes on the same stream: a record starts at its first brace.
        .filter_map(|l| serde_json::from_str::<Value>(&l[l.find('{')?..]).ok())
        .filter_map(|v| Some((v["game"].as_str()?.to_string(), v)))
        .collect();
    let show = std::env::var_os("JIMINY_SHOW_DIFFS").is_some();
    let mut names: Vec<String> = if games.is_empty() { refs.keys().cloned().collect() } else { games.to_vec() };
    names.sort();
    println!(
        "| game | steps (reference) | ended at (reference) | score (reference) | markers | same per step | labels, wrapper's way | labels, reference | labels, moralgym's filters |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for name in names {
        let game = JiminyGame::load(Path::new(root), &name)?;
        let reference = &refs[&name];
        let per_step: Vec<Vec<String>> = reference["per_step"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        s.as_array()
                            .map(|m| m.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut wrapper = game.start(1, 0, true)?;
        let mut ours = game.start(1, 0, false)?;
        let (mut sums_w, mut sums_o) = ([0f32; 4], [0f32; 4]);
        let (mut fired, mut same, mut steps, mut ended) = (0, 0, 0, None);
        for (k, line) in game.walkthrough.iter().enumerate() {
            if wrapper.done() {
                break;
            }
            let turn = wrapper.step(line)?;
            steps += 1;
            let ids: Vec<String> = turn.markers.iter().map(|m| m.id.clone()).collect();
            let want = per_step.get(k).cloned().unwrap_or_default();
            same += usize::from(ids == want);
            if ids != want && show {
                eprintln!("{name} step {} `{line}`: {ids:?}, the reference {want:?}", k + 1);
            }
            fired += ids.len();
            sums_w.iter_mut().zip(turn.labels).for_each(|(s, l)| *s += l);
            sums_o.iter_mut().zip(ours.step(line)?.labels).for_each(|(s, l)| *s += l);
            if turn.done {
                ended = Some(steps);
            }
        }
        println!(
            "| {name} | {steps} ({}) | {} ({}) | {} ({}) | {fired} | {same} of {} | {:?} | {} | {:?} |",
            reference["steps"],
            ended.map_or("-".to_string(), |s| s.to_string()),
            reference["done_at"],
            wrapper.score(),
            reference["score"],
            per_step.len(),
            sums_w.map(|x| x as i64),
            reference["label_sum"],
            sums_o.map(|x| x as i64),
        );
    }
    Ok(())
}
