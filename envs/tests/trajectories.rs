//! Reference trajectories for the bindings: a seeded episode of random actions, stepped directly
//! in Rust, recorded as `tests/golden/trajectories/<id>.json` (env, config, seed, actions and the
//! flat trace of every step's observations, rewards and costs). The Python wrappers replay the
//! same actions and must produce the same trace (python/tests/test_gymnasium.py), so no test
//! helper needs to live in the extension.
//!
//! `MORALGYM_BLESS=1 cargo test -p moralgym-envs --test trajectories` rewrites the files.

use std::path::PathBuf;

use moralgym_envs::{ParallelEnv, Rng, make};
use serde_json::{Value, json};

/// The trace of `actions` (one joint action per step) from a reset with `seed`.
fn trace(env: &mut dyn ParallelEnv, seed: u64, actions: &[Vec<u32>]) -> Vec<f32> {
    let mut trace = env.reset(Some(seed));
    for joint in actions {
        let s = env.step(joint).expect("legal actions");
        trace.extend(&s.obs);
        trace.extend(&s.rewards);
        trace.extend(&s.costs);
        if s.all_done() {
            break;
        }
    }
    trace
}

#[test]
fn recorded_trajectories_replay_exactly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/trajectories");
    for (id, config, seed, steps) in [("Harvest-v1", json!({"num_agents": 1, "max_steps": 200}), 11u64, 200)] {
        let mut env = make(id, &config).expect("env");
        let (a, k) = (env.spec().num_agents, env.spec().num_actions());
        let mut rng = Rng::new(0);
        let actions: Vec<Vec<u32>> = (0..steps).map(|_| (0..a).map(|_| rng.below(k) as u32).collect()).collect();
        let got = trace(env.as_mut(), seed, &actions);
        let path = dir.join(format!("{id}.json"));
        if std::env::var_os("MORALGYM_BLESS").is_some() {
            let record = json!({"env": id, "config": config, "seed": seed, "actions": actions, "trace": got});
            std::fs::write(&path, serde_json::to_string(&record).expect("json")).expect("write");
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let record: Value = serde_json::from_str(&text).expect("a trajectory file");
        let want: Vec<f32> = serde_json::from_value(record["trace"].clone()).expect("a trace");
        let recorded: Vec<Vec<u32>> = serde_json::from_value(record["actions"].clone()).expect("actions");
        assert_eq!(recorded, actions, "{id}: the recorded actions");
        assert_eq!(got, want, "{id}: the trace changed; re-record with MORALGYM_BLESS=1 if that is intended");
    }
}

/// Harvest-v0's rules stay reachable on Harvest-v1 with the settings its `Superseded` error
/// names: the trajectory recorded by the v0 code (`Harvest-v0-rules.json`) replays exactly.
#[test]
fn the_v0_settings_replay_a_trajectory_recorded_by_the_v0_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/trajectories/Harvest-v0-rules.json");
    let record: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("JSON");
    assert_eq!(record["env"], "Harvest-v0");
    let mut config = record["config"].clone();
    config["player_channels"] = json!("self_and_others");
    config["regrowth_radius"] = json!(4);
    let mut env = make("Harvest-v1", &config).expect("env");
    let actions: Vec<Vec<u32>> = serde_json::from_value(record["actions"].clone()).expect("actions");
    let want: Vec<f32> = serde_json::from_value(record["trace"].clone()).expect("a trace");
    let seed = record["seed"].as_u64().expect("seed");
    assert_eq!(trace(env.as_mut(), seed, &actions), want);
    let err = make("Harvest-v0", &Value::Null).err().expect("superseded");
    assert!(err.to_string().contains("use `Harvest-v1`") && err.to_string().contains("regrowth_radius = 4"), "{err}");
}
