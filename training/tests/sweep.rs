//! Sweeps: every grid point is trained, sharding then merging equals one unsharded run, and a
//! re-run skips finished points.

use std::path::PathBuf;

use moralgym_training::sweep::{Front, SweepConfig, merge, run_sweep};
use serde_json::{Value, json};

fn config(dir: &PathBuf) -> SweepConfig {
    serde_json::from_value(json!({
        "base": {
            "env": "PrisonersDilemma-v0", "seed": 3, "num_envs": 2, "total_steps": 256,
            "ppo": {"num_steps": 64, "learning_rate": 0.001}, "cost": {"mode": "weighted"},
            "eval": {"episodes": 4, "seed": 1}, "env_config": {"max_steps": 20},
        },
        "grid": {"cost.default_weight": [0.0, 1.0], "seed": [3, 4]},
        "parallel": 2,
        "out_dir": dir,
    }))
    .expect("valid sweep")
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("moralgym-sweep-{}-{name}", std::process::id()))
}

fn without_dirs(points: &[moralgym_training::sweep::PointResult]) -> Vec<Value> {
    points.iter().map(|p| json!([p.index, p.overrides, p.ret, p.costs, p.ret_se, p.costs_se])).collect()
}

#[test]
fn shards_merge_to_the_unsharded_sweep_and_reruns_skip_finished_points() {
    let whole_dir = tmp("whole");
    let whole = config(&whole_dir);
    assert_eq!(whole.points().len(), 4);
    let swept = run_sweep(&whole, 0, 1, true).expect("sweep runs");
    assert_eq!(Front::read(&whole.out_dir).expect("front.json"), swept.front, "the front returned is the one written");
    let all = swept.points;
    assert_eq!(all.len(), 4);
    for f in ["points.csv", "points.json", "front.json", "front.csv", "front.svg", "front.png"] {
        assert!(whole_dir.join(f).exists(), "{f}");
    }
    let front: Value =
        serde_json::from_str(&std::fs::read_to_string(whole_dir.join("front.json")).expect("front")).expect("JSON");
    assert!(front["hypervolume"].as_f64().expect("number") > 0.0);
    assert!(!front["points"].as_array().expect("points").is_empty());
    assert_eq!(front["baselines"][0]["policy"], "random");

    // shards on two "machines", then merged
    let (d0, d1, merged_dir) = (tmp("s0"), tmp("s1"), tmp("merged"));
    let s0 = run_sweep(&config(&d0), 0, 2, true).expect("shard 0").points;
    let s1 = run_sweep(&config(&d1), 1, 2, true).expect("shard 1").points;
    assert_eq!((s0.len(), s1.len()), (2, 2));
    let merged = merge(&config(&merged_dir), &[d0.clone(), d1.clone()]).expect("merge");
    assert_eq!(without_dirs(&merged), without_dirs(&all), "sharded + merged = unsharded");
    let merged_front: Value =
        serde_json::from_str(&std::fs::read_to_string(merged_dir.join("front.json")).expect("front")).expect("JSON");
    assert_eq!(merged_front["hypervolume"], front["hypervolume"]);
    // one shard alone is not the sweep: refused, naming the missing points, and nothing written
    let lone = tmp("lone");
    let e = merge(&config(&lone), std::slice::from_ref(&d0)).expect_err("incomplete");
    assert!(e.to_string().contains("2 of the sweep's 4 points; missing: 1, 3"), "{e}");
    assert!(!lone.join("front.json").exists());
    // a shard of another sweep is refused
    let other_dir = tmp("other");
    let mut other = config(&other_dir);
    other.grid.insert("seed".into(), vec![json!(5), json!(6)]);
    run_sweep(&other, 1, 2, true).expect("other sweep's shard");
    let e = merge(&config(&lone), &[d0.clone(), other_dir.clone()]).expect_err("mixed sweeps");
    assert!(e.to_string().contains("shard of another sweep"), "{e}");
    // merging into a shard is refused; a point whose run was changed or removed is found
    let e = merge(&config(&d0), &[d0.clone(), d1.clone()]).expect_err("onto a shard");
    assert!(e.to_string().contains("--out names the shard"), "{e}");
    let eval = s1[0].run_dir.join("eval.json");
    let kept = std::fs::read_to_string(&eval).expect("eval.json");
    std::fs::write(&eval, kept.replacen("\"length\"", "\"lenght\"", 1)).expect("garble");
    let e = merge(&config(&lone), &[d0.clone(), d1.clone()]).expect_err("garbled run");
    assert!(e.to_string().contains(&format!("point {}", s1[0].index)) && e.to_string().contains("eval.json"), "{e}");
    std::fs::remove_file(&eval).expect("remove");
    let e = merge(&config(&lone), &[d0.clone(), d1.clone()]).expect_err("missing run");
    assert!(e.to_string().contains("eval.json"), "{e}");
    std::fs::write(&eval, &kept).expect("restore");
    assert!(!lone.join("front.json").exists(), "nothing written by a refused merge");

    // a re-run finds every point finished and trains nothing. A point trained again starts over
    // in its folder and removes the old run's checkpoints/, where each point gets a marker.
    let marker = |i: usize| whole_dir.join("points").join(format!("{i:04}")).join("checkpoints").join("marker");
    for i in 0..4 {
        std::fs::write(marker(i), "kept unless trained again").expect("marker");
    }
    let kept = || (0..4).map(|i| marker(i).exists()).collect::<Vec<_>>();
    let again = run_sweep(&whole, 0, 1, true).expect("resume").points;
    assert_eq!(without_dirs(&again), without_dirs(&all));
    assert_eq!(kept(), [true; 4], "no point was trained again");
    // a changed grid puts other settings at the same indices: those points are trained again
    let mut changed = whole.clone();
    changed.grid.insert("cost.default_weight".into(), vec![json!(0.0), json!(2.0)]);
    let redone = run_sweep(&changed, 0, 1, true).expect("changed grid").points;
    assert_eq!(kept(), [true, true, false, false], "weight 0 points are skipped, weight 2 points trained");
    assert_eq!(redone[2].overrides["cost.default_weight"], json!(2.0));
    for d in [whole_dir, d0, d1, merged_dir, lone, other_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn bad_shards_and_keys_are_errors() {
    let dir = tmp("bad");
    assert!(run_sweep(&config(&dir), 2, 2, true).is_err());
    let mut c = config(&dir);
    c.grid.insert("ppo.nonsense".into(), vec![json!(1)]);
    let e = run_sweep(&c, 0, 1, true).expect_err("unknown key");
    assert!(e.to_string().contains("nonsense"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
