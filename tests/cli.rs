//! End-to-end tests of the `moralgym` binary: what a user types, what comes back.

use std::process::{Command, Output};

use serde_json::Value;

fn moralgym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn json_of(args: &[&str]) -> Value {
    let out = moralgym(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn stderr_of_failure(args: &[&str]) -> String {
    let out = moralgym(args);
    assert_eq!(out.status.code(), Some(2), "{args:?} must fail with code 2");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn envs_lists_every_registered_id_with_spaces_and_costs() {
    let list = json_of(&["envs", "--json"]);
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), moralgym::envs::registry().len());
    let coin = list.iter().find(|e| e["id"] == "CoinGame-v0").expect("CoinGame listed");
    assert_eq!(coin["agents"], 2);
    assert_eq!(coin["action_space"]["n"], 4);
    assert_eq!(coin["observation_space"]["shape"], serde_json::json!([5, 5, 5]));
    assert_eq!(coin["costs"][0]["name"], "harm_other");
    let table = String::from_utf8(moralgym(&["envs"]).stdout).expect("utf8");
    assert!(table.contains("Cleanup-v0") && table.contains("free_ride"), "{table}");
}

#[test]
fn rollout_reports_episodes_with_costs_and_social_metrics_reproducibly() {
    let args = ["rollout", "--env", "CoinGame-v0", "--episodes", "2", "--seed", "3", "--json"];
    let a = json_of(&args);
    assert_eq!(a, json_of(&args), "same seed, same report");
    let eps = a["episodes"].as_array().expect("episodes array");
    assert_eq!(eps.len(), 2);
    for ep in eps {
        assert_eq!(ep["length"], 100);
        assert_eq!(ep["returns"].as_array().map(Vec::len), Some(2));
        assert!(ep["costs"]["harm_other"].as_f64().expect("cost total") >= 0.0);
        for key in ["collective_return", "efficiency", "equality", "sustainability", "peace"] {
            assert!(ep["social"].get(key).is_some(), "missing {key}");
        }
    }
    let other = json_of(&["rollout", "--env", "CoinGame-v0", "--episodes", "2", "--seed", "4", "--json"]);
    assert_ne!(a["episodes"], other["episodes"]);
}

#[test]
fn rollout_of_a_matrix_game_reports_cooperation_rate() {
    let r = json_of(&["rollout", "--env", "PrisonersDilemma-v0", "--episodes", "1", "--json"]);
    let ep = &r["episodes"][0];
    let rate = ep["env_metrics"]["cooperation_rate"].as_f64().expect("rate");
    assert!((0.3..0.7).contains(&rate), "a random policy cooperates about half the time: {rate}");
    assert_eq!(ep["env_metrics"]["cooperation_rate_per_agent"].as_array().map(Vec::len), Some(2));
}

#[test]
fn set_overrides_reach_nested_keys() {
    let r =
        json_of(&["rollout", "--env", "Cleanup-v0", "--set", "zap.enabled=true", "--set", "max_steps=20", "--json"]);
    let ep = &r["episodes"][0];
    assert_eq!(ep["length"], 20);
    assert!(ep["costs"].get("zap").is_some(), "the zap cost appears with the beam");
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_two() {
    let e = stderr_of_failure(&["rollout", "--env", "CoinGam-v0"]);
    assert!(e.contains("unknown environment id `CoinGam-v0`") && e.contains("CoinGame-v0"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v0", "--set", "sise=3"]);
    assert!(e.contains("unknown field `sise`"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v0", "--set", "size=0"]);
    assert!(e.contains("`size`"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v0", "--set", "size"]);
    assert!(e.contains("key=value"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v0", "--config", "configs/missing.toml"]);
    assert!(e.contains("configs/missing.toml"), "{e}");
    let e = stderr_of_failure(&["bench", "--env", "CoinGame-v0", "--threads", "0"]);
    assert!(e.contains("threads"), "{e}");
}

#[test]
fn bench_reports_env_steps_per_second() {
    let t =
        json_of(&["bench", "--env", "CoinGame-v0", "--num-envs", "4", "--threads", "2", "--steps", "200", "--json"]);
    assert!(t["env_steps_per_sec"].as_f64().expect("number") > 0.0);
    assert_eq!(t["num_envs"], 4);
    assert_eq!(t["threads"], 2);
    let per_agent = t["agent_steps_per_sec"].as_f64().expect("number") / t["env_steps_per_sec"].as_f64().expect("n");
    assert!((per_agent - 2.0).abs() < 1e-9);
}

#[test]
fn every_config_runs_as_its_first_line_documents() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut ran = 0;
    for entry in std::fs::read_dir(dir).expect("configs/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let first = text.lines().next().unwrap_or_default();
        let command = first
            .strip_prefix("# moralgym ")
            .unwrap_or_else(|| panic!("{path:?}: first line must be `# moralgym ...`"));
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--json");
        let out = json_of(&args);
        assert!(!out["episodes"].as_array().expect("episodes").is_empty(), "{path:?}");
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} configs found");
}

#[test]
fn demo_runs_every_environment() {
    let out = moralgym(&["demo"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    for reg in moralgym::envs::registry() {
        assert!(text.contains(reg.id), "demo skipped {}", reg.id);
    }
}

#[test]
fn rollout_of_the_survival_dilemma_reports_its_metrics_for_each_policy() {
    for policy in ["random", "hoarder", "ethical"] {
        let r = json_of(&["rollout", "--env", "SurvivalDilemma-v0", "--policy", policy, "--episodes", "2", "--json"]);
        assert_eq!(r["policy"], policy);
        let m = &r["episodes"][0]["env_metrics"];
        for key in [
            "survival_rate",
            "mean_survival_time",
            "transgressions",
            "taps_per_active_agent_turn",
            "cooperation_count",
            "power_transferred",
            "greed_index",
            "mean_guilt",
            "mean_satisfaction",
        ] {
            assert!(m.get(key).is_some(), "{policy}: missing {key}");
        }
    }
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v0", "--policy", "hoarder"]);
    assert!(e.contains("plays only SurvivalDilemma-v0"), "{e}");
}
