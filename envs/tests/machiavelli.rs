//! `Machiavelli-v0` against what MACHIAVELLI's own env measured on moralgym's icefall and heist
//! (`tests/fixtures/machiavelli`, made by MACHIAVELLI's code at upstream 5796a59): every recorded
//! episode replayed by its actions gives the same options offered, the same nodes, the same
//! counts under both trajectory conventions, the same endings and achievements; and moralgym's
//! random agent matches its random agent's means.

use std::io::Read;

use moralgym_envs::text::COST_NAMES;
use moralgym_envs::text::machiavelli::env::score_names;
use moralgym_envs::{ParallelEnv, Rng, make};
use serde_json::{Value, json};

const GAMES: [&str; 2] = ["icefall", "heist"];

fn fixture(game: &str, file: &str) -> String {
    let path = format!("{}/tests/fixtures/machiavelli/{game}/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if file.ends_with(".gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s).expect("gzip");
        s
    } else {
        String::from_utf8(bytes).expect("utf-8")
    }
}

fn episodes(game: &str, file: &str) -> Vec<Value> {
    fixture(game, file).lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

fn env(game: &str, count_final_step: bool) -> Box<dyn ParallelEnv> {
    make("Machiavelli-v0", &json!({"game": game, "count_final_step": count_final_step, "features": false}))
        .expect("the demo folder loads")
}

/// What one episode measured: counts by MACHIAVELLI's names, points %, options offered per
/// decision, ending, unlocked achievements.
struct Played {
    counts: Vec<f64>,
    points_pct: f64,
    offered: Vec<usize>,
    ending: Option<String>,
    nodes: Vec<Vec<String>>,
}

fn play(env: &mut dyn ParallelEnv, seed: u64, actions: &[u64]) -> Played {
    env.reset(Some(seed));
    let mut counts = vec![0.0; COST_NAMES.len()];
    let mut offered = Vec::new();
    let mut info = serde_json::Map::new();
    env.step_info(&mut info);
    let mut nodes = vec![serde_json::from_value(info["current_nodes"].clone()).unwrap()];
    for (i, &a) in actions.iter().enumerate() {
        let mut mask = vec![false; env.spec().num_actions()];
        env.action_mask(0, &mut mask);
        offered.push(mask.iter().filter(|m| **m).count());
        let s = env.step(&[a as u32]).unwrap_or_else(|e| panic!("seed {seed} decision {i}: {e}"));
        for (c, x) in counts.iter_mut().zip(&s.costs) {
            *c += *x as f64;
        }
        nodes.push(serde_json::from_value(s.info["current_nodes"].clone()).unwrap());
        if s.all_done() {
            assert_eq!(i + 1, actions.len(), "seed {seed}: the episode ended after {} of {} decisions", i + 1, actions.len());
        }
    }
    let mut m = serde_json::Map::new();
    env.episode_metrics(&mut m);
    assert!(m.get("error").is_none(), "seed {seed}: {:?}", m.get("error"));
    Played {
        counts,
        points_pct: m["achievements_pct"].as_f64().unwrap(),
        offered,
        ending: m["ending"].as_str().map(String::from),
        nodes,
    }
}

/// The label an ending (`scene:index` of the player's lines) is under.
fn ending_label(game: &str, ending: Option<&str>) -> Option<&'static str> {
    use std::sync::OnceLock;
    static SOURCES: OnceLock<std::collections::HashMap<String, Value>> = OnceLock::new();
    let sources = SOURCES.get_or_init(|| {
        GAMES
            .iter()
            .map(|g| {
                let path = format!("{}/data/machiavelli/source/{g}.json", env!("CARGO_MANIFEST_DIR"));
                (g.to_string(), serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
            })
            .collect()
    });
    let (scene, idx) = ending?.split_once(':')?;
    let lines = sources[game]["scenes"][scene].as_array()?;
    let idx: usize = idx.parse().ok()?;
    lines[..idx.min(lines.len())].iter().rev().find_map(|l| l[0].as_str()?.strip_prefix("*label "))
}

fn expected_counts(recorded: &Value) -> (Vec<f64>, f64) {
    let names = score_names();
    let counts = names.iter().map(|n| recorded.get(n).and_then(Value::as_f64).unwrap_or(0.0)).collect();
    (counts, recorded["game.score"].as_f64().unwrap())
}

#[test]
fn every_recorded_episode_replays_with_the_same_options_counts_and_ending() {
    for game in GAMES {
        let mut counted = env(game, true);
        let mut readme = env(game, false);
        for file in ["episodes_seeds_2417_3416.jsonl.gz", "episodes_seeds_0_999.jsonl.gz"] {
            let eps = episodes(game, file);
            assert_eq!(eps.len(), 1000);
            for e in &eps {
                let seed = e["seed"].as_u64().unwrap();
                let actions: Vec<u64> = serde_json::from_value(e["actions"].clone()).unwrap();
                let offered: Vec<usize> = serde_json::from_value(e["num_choices"].clone()).unwrap();
                let p = play(counted.as_mut(), seed, &actions);
                assert_eq!(p.offered, offered, "{game} seed {seed}: options offered");
                // The fixture names an ending by the `*label` it is under.
                assert_eq!(ending_label(game, p.ending.as_deref()), e["ending_label"].as_str(), "{game} seed {seed}: ending");
                let (want, score) = expected_counts(&e["counts_run_trajectories"]);
                assert_eq!(p.counts, want, "{game} seed {seed}: counts with the final step");
                assert!((p.points_pct - score).abs() < 1e-9, "{game} seed {seed}: points {} vs {score}", p.points_pct);
                let q = play(readme.as_mut(), seed, &actions);
                let (want, score) = expected_counts(&e["counts_env_trajectory"]);
                assert_eq!(q.counts, want, "{game} seed {seed}: counts without the final step");
                assert!((q.points_pct - score).abs() < 1e-9, "{game} seed {seed}: README points {} vs {score}", q.points_pct);
            }
        }
    }
}

#[test]
fn recorded_traces_pass_the_same_nodes_step_by_step() {
    for game in GAMES {
        let traces: Vec<Value> = serde_json::from_str(&fixture(game, "trace_seeds_2417_2426.json")).unwrap();
        let mut env = env(game, true);
        for t in traces {
            let seed = t["seed"].as_u64().unwrap();
            let steps = t["steps"].as_array().unwrap();
            let actions: Vec<u64> = steps[1..].iter().map(|s| s["action"].as_u64().unwrap()).collect();
            let p = play(env.as_mut(), seed, &actions);
            for (i, s) in steps.iter().enumerate() {
                let want: Vec<String> = serde_json::from_value(s["current_nodes"].clone()).unwrap();
                assert_eq!(p.nodes[i], want, "{game} seed {seed} step {i}: nodes");
            }
        }
    }
}

#[test]
fn the_random_agent_matches_machiavellis_means_within_three_standard_errors() {
    for game in GAMES {
        let expected: Value = serde_json::from_str(&fixture(game, "expected.json")).unwrap();
        let metrics = &expected["seeds_2417_3416"]["metrics"]["run_trajectories"];
        let mut env = env(game, true);
        let mut rng = Rng::new(7);
        let n = 1000;
        let names = score_names();
        let mut sums = vec![0.0; names.len() + 1];
        for i in 0..n {
            env.reset(Some(10_000 + i));
            loop {
                let mut mask = vec![false; env.spec().num_actions()];
                env.action_mask(0, &mut mask);
                let legal: Vec<usize> = (0..mask.len()).filter(|&k| mask[k]).collect();
                let s = env.step(&[legal[rng.below(legal.len())] as u32]).unwrap();
                for (c, x) in sums.iter_mut().zip(&s.costs) {
                    *c += *x as f64;
                }
                if s.all_done() {
                    break;
                }
            }
            let mut m = serde_json::Map::new();
            env.episode_metrics(&mut m);
            sums[names.len()] += m["achievements_pct"].as_f64().unwrap();
        }
        let mut checked = 0;
        for (k, name) in names.iter().chain(["game.score".to_string()].iter()).enumerate() {
            let Some(stat) = metrics.get(name) else { continue };
            let (mean, sd) = (stat["mean"].as_f64().unwrap(), stat["stddev"].as_f64().unwrap());
            let ours = sums[k] / n as f64;
            // Two independent samples of 1,000: the difference's standard error.
            let se = (2.0 * sd * sd / n as f64).sqrt();
            assert!((ours - mean).abs() <= 3.0 * se + 1e-9, "{game} {name}: ours {ours:.3}, MACHIAVELLI {mean:.3} (se {se:.3})");
            checked += 1;
        }
        assert!(checked >= 10, "{game}: only {checked} metrics compared");
    }
}

#[test]
fn expressions_parsed_at_load_play_as_the_text_rewriting_does() {
    use moralgym_envs::text::machiavelli::data::DataFolder;
    use moralgym_envs::text::machiavelli::{Game, GameData, Player};
    use std::sync::Arc;
    for game in GAMES {
        let fast = Arc::new(Game::new(GameData::load(&DataFolder::Demo, game).unwrap()).unwrap());
        let mut slow = Game::new(GameData::load(&DataFolder::Demo, game).unwrap()).unwrap();
        slow.fast = false;
        let slow = Arc::new(slow);
        for e in episodes(game, "episodes_seeds_2417_3416.jsonl.gz").iter().take(300) {
            let seed = e["seed"].as_u64().unwrap();
            let actions: Vec<u64> = serde_json::from_value(e["actions"].clone()).unwrap();
            let (mut a, mut b) = (Player::new(Arc::clone(&fast), seed), Player::new(Arc::clone(&slow), seed));
            let (mut na, mut nb) = (Vec::new(), Vec::new());
            a.run_to_choice(&mut na);
            b.run_to_choice(&mut nb);
            for &k in &actions {
                let (mut ta, mut tb) = (String::new(), String::new());
                let (ka, kb) = (a.take_output(&mut ta), b.take_output(&mut tb));
                assert_eq!((a.num_choices(), &na, ta, ka), (b.num_choices(), &nb, tb, kb), "{game} seed {seed}");
                assert_eq!(a.stats(), b.stats(), "{game} seed {seed}");
                na.clear();
                nb.clear();
                a.choose(k as usize, &mut na);
                b.choose(k as usize, &mut nb);
            }
            assert!(a.done() && b.done() && a.error().is_none() && b.error().is_none(), "{game} seed {seed}");
        }
    }
}
