//! Fixed-seed runs whose `metrics.jsonl` (without the timing field `sps`) and `eval.json` must
//! match files recorded earlier: the same keys, the same integers, strings and booleans, and
//! every other number within 1e-6 + 1e-4 of its size. A change to the trainer that is meant to
//! keep behaviour (a reshape, a speed-up) keeps them. The tolerance is for the last bits of
//! floating point that differ between CPUs (gemm picks its kernels at run time: AVX-512 here,
//! AVX2 or NEON elsewhere); a change in what the trainer does moves the numbers far more. The
//! test command runs them again under qemu-user on CPUs without AVX-512 (Nehalem, SSE only;
//! Haswell, AVX2), where up to 177 logged numbers of a run differ from the recorded ones. A
//! change that is meant to alter behaviour re-records them with `MORALGYM_BLESS=1 cargo nextest
//! run -p moralgym-training --test golden_runs` and says why in its commit.

use std::path::PathBuf;

use moralgym_training::{RunConfig, train};
use serde_json::{Value, json};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Trains `config` (a run table without `out_dir`) and compares its outputs with the recorded
/// `tests/golden/<name>.metrics.jsonl` and `<name>.eval.json`.
fn check(name: &str, mut config: Value) {
    let dir = std::env::temp_dir().join(format!("moralgym-golden-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    config["out_dir"] = json!(dir);
    train(&RunConfig::from_table(config).expect("valid run config"), true).expect("trains");
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).expect("metrics.jsonl");
    let metrics: String = metrics
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("a JSON line");
            v.as_object_mut().expect("an object").remove("sps").expect("sps is logged");
            format!("{v}\n")
        })
        .collect();
    let eval = std::fs::read_to_string(dir.join("eval.json")).expect("eval.json");
    let _ = std::fs::remove_dir_all(&dir);
    for (file, got) in [(format!("{name}.metrics.jsonl"), metrics), (format!("{name}.eval.json"), eval)] {
        let path = golden_dir().join(&file);
        if std::env::var_os("MORALGYM_BLESS").is_some() {
            std::fs::write(&path, &got).expect("writes the golden file");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // metrics.jsonl line by line; eval.json as one document.
        let split = |t: &str| -> Vec<String> {
            if file.ends_with(".jsonl") { t.lines().map(str::to_string).collect() } else { vec![t.to_string()] }
        };
        let (got_parts, want_parts) = (split(&got), split(&want));
        assert_eq!(
            got_parts.len(),
            want_parts.len(),
            "{file}: {} lines, recorded {}",
            got_parts.len(),
            want_parts.len()
        );
        for (k, (g, w)) in got_parts.iter().zip(&want_parts).enumerate() {
            let parse =
                |t: &str| serde_json::from_str::<Value>(t).unwrap_or_else(|e| panic!("{file} part {}: {e}", k + 1));
            if let Err(at) = close(&parse(g), &parse(w), String::new()) {
                panic!("{file} differs from the recorded run at line {}, {at}:\n got: {g}\nwant: {w}", k + 1);
            }
        }
    }
}

/// Whether `got` matches `want`: numbers within 1e-6 + 1e-4 of their size (integers exactly),
/// everything else equal. The error names the path of the first difference.
fn close(got: &Value, want: &Value, at: String) -> Result<(), String> {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) if !(g.is_f64() || w.is_f64()) => {
            if g == w {
                Ok(())
            } else {
                Err(format!("`{at}`"))
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap_or(f64::NAN), w.as_f64().unwrap_or(f64::NAN));
            if (g - w).abs() <= 1e-6 + 1e-4 * w.abs() { Ok(()) } else { Err(format!("`{at}` ({g} against {w})")) }
        }
        (Value::Object(g), Value::Object(w)) => {
            if g.keys().ne(w.keys()) {
                return Err(format!("`{at}` (keys differ)"));
            }
            g.iter().try_for_each(|(k, v)| close(v, &w[k], format!("{at}.{k}")))
        }
        (Value::Array(g), Value::Array(w)) => {
            if g.len() != w.len() {
                return Err(format!("`{at}` (lengths differ)"));
            }
            g.iter().zip(w).enumerate().try_for_each(|(i, (a, b))| close(a, b, format!("{at}[{i}]")))
        }
        _ => {
            if got == want {
                Ok(())
            } else {
                Err(format!("`{at}`"))
            }
        }
    }
}

fn small(env: &str, env_config: Value) -> Value {
    json!({
        "env": env, "env_config": env_config, "seed": 3, "num_envs": 2, "total_steps": 192,
        "ppo": {"num_steps": 32, "num_minibatches": 2, "update_epochs": 2},
        "eval": {"episodes": 2, "seed": 99},
    })
}

#[test]
fn coin_game_with_weighted_costs_matches_the_recorded_run() {
    let mut c = small("CoinGame-v1", json!({"max_steps": 20}));
    c["cost"] = json!({"mode": "weighted", "default_weight": 0.5});
    check("coin_game_weighted", c);
}

#[test]
fn coin_game_with_a_shared_policy_and_a_summed_lagrangian_matches_the_recorded_run() {
    let mut c = small("CoinGame-v1", json!({"max_steps": 20}));
    c["shared_policy"] = json!(true);
    c["cost"] = json!({"mode": "lagrangian", "constrain": "sum", "sum_limit": 0.5, "lagrange_init": 0.5});
    check("coin_game_shared_lagrangian_sum", c);
}

#[test]
fn cleanup_with_lase_matches_the_recorded_run() {
    let mut c = small("Cleanup-v1", json!({"max_steps": 20}));
    c["social"] = json!({"mode": "lase"});
    check("cleanup_lase", c);
}

#[test]
fn prisoners_dilemma_against_a_fixed_partner_with_inequity_aversion_matches_the_recorded_run() {
    let mut c = small("PrisonersDilemma-v0", json!({}));
    c["learners"] = json!([0]);
    c["partner_policy"] = json!("tit_for_tat");
    c["social"] = json!({"mode": "inequity_aversion"});
    check("prisoners_dilemma_partner_inequity", c);
}

#[test]
fn heist_with_a_lagrangian_and_a_conscience_matches_the_recorded_run() {
    let mut c = small("TextGame-v0", json!({"game": "heist"}));
    c["cost"] = json!({"mode": "lagrangian", "lagrange_init": 0.5});
    c["conscience"] = json!({"alpha": 10.0, "threshold": 0.0, "predictor": "oracle"});
    check("heist_lagrangian_conscience", c);
}
