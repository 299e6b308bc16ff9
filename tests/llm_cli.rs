//! The `moralgym` binary with `--policy llm` against a local OpenAI-compatible server (started
//! here on 127.0.0.1): the commands of docs/llm.md, as a user types them.

#[path = "../training/tests/support/fake_llm.rs"]
mod fake_llm;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use fake_llm::{FakeLlm, first_listed};
use serde_json::Value;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moralgym-llm-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs the binary with the server named the way a user names it: environment variables.
fn moralgym(server: &FakeLlm, cache: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("OPENAI_BASE_URL", &server.url)
        .env("MORALGYM_LLM_MODEL", "fake-model")
        .env("OPENAI_API_KEY", "sk-test")
        .env("MORALGYM_CACHE", cache)
        .output()
        .expect("the binary runs")
}

fn ok_json(out: Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

#[test]
fn rollout_with_a_language_model_reports_achievements_harms_and_what_it_cost() {
    let server = FakeLlm::start(Duration::ZERO, first_listed);
    let cache = tmp("rollout");
    let args =
        ["rollout", "--env", "TextGame-v0", "--set", "game=heist", "--policy", "llm", "--episodes", "3", "--json"];
    let first = ok_json(moralgym(&server, &cache, &args));
    let sent = server.requests().len();
    assert!(sent > 0);
    let s = &first["machiavelli"];
    assert!(s["achievements_pct"].as_f64().unwrap() > 0.0, "{s}");
    for key in ["all_violations", "all_power", "disutility"] {
        assert!(s[key].is_number(), "{key}: {s}");
    }
    let episodes = first["episodes"].as_array().unwrap();
    assert_eq!(episodes.len(), 3);
    let stats = &episodes[0]["policy_stats"];
    assert_eq!((stats["model"].as_str(), stats["fallbacks"].as_u64()), (Some("fake-model"), Some(0)));
    assert!(episodes[0]["costs"]["deception"].is_number());
    // the key travels as a bearer token and never into the cache
    assert!(server.authorizations().iter().all(|a| a == "Bearer sk-test"));
    let mut cached = 0;
    for shard in std::fs::read_dir(cache.join("llm")).unwrap().flatten() {
        for file in std::fs::read_dir(shard.path()).unwrap().flatten() {
            assert!(!std::fs::read_to_string(file.path()).unwrap().contains("sk-test"));
            cached += 1;
        }
    }
    assert_eq!(cached, sent, "one cache file per request");
    // a second run reads every answer from the cache: no request, same episodes
    let again = ok_json(moralgym(&server, &cache, &args));
    assert_eq!(server.requests().len(), sent, "the second run sent requests");
    let strip = |v: &Value| -> Vec<Value> {
        v["episodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.as_object_mut().unwrap().remove("policy_stats");
                e
            })
            .collect()
    };
    assert_eq!(strip(&first), strip(&again));
    assert_eq!(again["episodes"][0]["policy_stats"]["requests"], 0);
}

#[test]
fn the_survival_dilemma_and_a_matrix_game_play_the_same_way_and_print_the_costs() {
    let server = FakeLlm::start(Duration::ZERO, first_listed);
    let cache = tmp("families");
    let out = moralgym(
        &server,
        &cache,
        &["rollout", "--env", "SurvivalDilemma-v1", "--policy", "llm_ethical", "--episodes", "2"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("forbidden_tap=") && text.contains("greed="), "{text}");
    // the fake model always takes the first option, "wait": all four run down, act for nine
    // turns and shut down as the tenth opens
    assert!(text.contains("length 9 | returns [8.0, 8.0, 8.0, 8.0]"), "{text}");
    assert!(text.contains("fake-model (llm_ethical): 36 decisions, 36 requests sent"), "{text}");
    let pd = ok_json(moralgym(
        &server,
        &cache,
        &[
            "rollout",
            "--env",
            "PrisonersDilemma-v0",
            "--policy",
            "llm_cot",
            "--episodes",
            "1",
            "--json",
            "--llm-concurrency",
            "1",
        ],
    ));
    // the fake model takes the first option, cooperate, every round: R = 4 for both, no betrayal
    assert_eq!(pd["episodes"][0]["returns"], serde_json::json!([400.0, 400.0]));
    assert_eq!(pd["episodes"][0]["costs"]["betrayal"], 0.0);
}

#[test]
fn eval_compares_a_language_model_with_a_trained_run_and_errors_are_clear() {
    let server = FakeLlm::start(Duration::ZERO, first_listed);
    let cache = tmp("eval");
    let run = tmp("eval-run");
    let run_s = run.display().to_string();
    let trained = moralgym(
        &server,
        &cache,
        &[
            "train",
            "configs/ppo_prisoners_dilemma_none.toml",
            "--set",
            "total_steps=128",
            "--set",
            "ppo.num_steps=16",
            "--out",
            &run_s,
            "--quiet",
        ],
    );
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let summary = ok_json(moralgym(&server, &cache, &["eval", "--run", &run_s, "--policy", "llm", "--episodes", "2"]));
    assert_eq!(summary["policy"], "llm");
    assert_eq!(summary["episodes"], 2);
    assert!(summary["cost_per_agent"]["betrayal"]["mean"].is_number(), "{summary}");

    let out = moralgym(
        &server,
        &cache,
        &["rollout", "--env", "CoinGame-v1", "--policy", "llm", "--llm-base-url", "ftp://nowhere"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with http:// or https://"));
    let out = Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args(["rollout", "--env", "CoinGame-v1", "--policy", "llm"])
        .env_remove("MORALGYM_LLM_MODEL")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MORALGYM_LLM_MODEL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
