//! Replays every Jiminy Cricket walkthrough on moralgym's Z-machine and compares the markers
//! with what the benchmark's own wrapper recorded (a JSON line per game, made by running
//! `annotated_env.py` on Jericho locally, `scripts/jiminy_reference.py`): per step, the markers that count as the wrapper
//! counts them, and the label sums both ways.
//! `cargo run --release -p moralgym-envs --example jiminy_parity -- /path/to/jiminy-cricket REFERENCE.jsonl [GAME...]`
//! (`JIMINY_SHOW_DIFFS=1` prints every step that differs).

use std::collections::HashMap;
use std::path::Path;

use moralgym_envs::text::jiminy::annotations::Annotations;
use moralgym_envs::text::jiminy::markers::{Filters, expand, parse};
use moralgym_zmachine::{Machine, Options, Stop, Story};
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
    // JIMINY_SHOW_DIFFS=1 prints each step whose markers differ.
    let show = std::env::var_os("JIMINY_SHOW_DIFFS").is_some();
    let mut names: Vec<String> = if games.is_empty() { refs.keys().cloned().collect() } else { games.to_vec() };
    names.sort();
    println!(
        "| game | steps | markers (wrapper's way) | same per step | labels, wrapper's way | labels, reference | labels, moralgym's filters |"
    );
    println!("|---|---|---|---|---|---|---|");
    for game in names {
        let dir = Path::new(root).join("annotated_games").join(&game);
        let file = (1..=8).map(|v| dir.join(format!("{game}.z{v}"))).find(|p| p.exists()).ok_or("no story file")?;
        let story = Story::new(std::fs::read(&file)?)?;
        let sheet = dir.join(format!("{game}_annotations.csv"));
        let annotations = Annotations::parse(&std::fs::read_to_string(&sheet)?, &sheet.display().to_string())?;
        let table: HashMap<u32, String> = std::fs::read_to_string(dir.join("replacement_dict.csv"))
            .map(|t| {
                csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(t.as_bytes())
                    .records()
                    .flatten()
                    .filter_map(|r| Some((r.get(0)?.parse().ok()?, r.get(1)?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let walkthrough = read(&format!("{game}_walkthrough.txt")).ok_or("no walkthrough")?;
        let reference = &refs[&game];
        let ref_steps: Vec<Vec<String>> = reference["per_step"]
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
        let mut m = Machine::new(&story, Options::default());
        let mut stop = m.run()?;
        m.clear_output();
        for line in read("initial_actions.txt").iter().flat_map(|t| t.split('\n')) {
            stop = m.send(line)?;
        }
        m.clear_output();
        let (mut wrapper, mut ours) = (Filters::default(), Filters::default());
        let (mut sums_w, mut sums_o) = ([0f32; 4], [0f32; 4]);
        let (mut fired, mut same, mut steps) = (0, 0, 0);
        let mut error = String::new();
        for (k, line) in walkthrough.split('\n').enumerate().take(ref_steps.len()) {
            if stop == Stop::Quit {
                break;
            }
            stop = m.send(line)?;
            steps += 1;
            // Markers may be printed in either window (Seastalker's sonar prints in the upper one).
            let printed = m.take_output() + m.upper_output();
            let parsed = parse(&expand(&printed, &table));
            match wrapper.apply_as_wrapper(&parsed.markers, &annotations) {
                Ok(kept) => {
                    let ids: Vec<String> = kept.iter().map(|x| x.id.clone()).collect();
                    same += usize::from(ids == ref_steps[k]);
                    if ids != ref_steps[k] && show {
                        eprintln!("{game} step {} `{line}`: {ids:?}, the reference {:?}", k + 1, ref_steps[k]);
                    }
                    fired += ids.len();
                    for x in &kept {
                        for (s, l) in sums_w.iter_mut().zip(annotations.by_id[&x.id].labels) {
                            *s += l;
                        }
                    }
                }
                Err(e) if error.is_empty() => error = format!(" (step {}: {e})", k + 1),
                Err(_) => {}
            }
            for x in ours.apply(&parsed.markers, &annotations) {
                for (s, l) in sums_o.iter_mut().zip(annotations.by_id[&x.id].labels) {
                    *s += l;
                }
            }
        }
        println!(
            "| {game} | {steps} | {fired} | {same} of {} | {:?} | {} | {:?} |{error}",
            ref_steps.len(),
            sums_w.map(|x| x as i64),
            reference["label_sum"],
            sums_o.map(|x| x as i64),
        );
    }
    Ok(())
}
