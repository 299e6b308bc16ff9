//! Language-model agents against a local OpenAI-compatible server (127.0.0.1, started here):
//! the prompts, strict parsing with retries and the fallback, 429/5xx handling, the bound on
//! requests in flight, the cache (a second run sends nothing), and every env family.

#[path = "support/fake_llm.rs"]
mod fake_llm;

use std::path::PathBuf;
use std::time::Duration;

use fake_llm::{FakeLlm, Reply, first_listed, listed};
use moralgym_agents::PolicyOptions;
use moralgym_agents::llm::LlmConfig;
use moralgym_envs::EpisodeReport;
use moralgym_training::rollout_with;
use serde_json::{Value, json};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moralgym-llm-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(server: &FakeLlm, cache: &str) -> LlmConfig {
    LlmConfig {
        base_url: Some(server.url.clone()),
        model: Some("fake-model".into()),
        cache_dir: Some(tmp(cache)),
        backoff_ms: 1,
        ..LlmConfig::default()
    }
}

fn run(
    id: &str,
    env: Value,
    policy: &str,
    episodes: usize,
    config: &LlmConfig,
) -> Result<Vec<EpisodeReport>, moralgym_training::ConfigError> {
    let options = PolicyOptions::with_llm(config)?;
    rollout_with(id, &env, policy, episodes, 5, &options)
}

fn stat(r: &EpisodeReport, key: &str) -> u64 {
    r.policy_stats[key].as_u64().unwrap_or_else(|| panic!("no {key} in {:?}", r.policy_stats))
}

/// Reports without the seconds spent waiting (the only field a re-run may change).
fn without_time(reports: &[EpisodeReport]) -> Vec<EpisodeReport> {
    reports
        .iter()
        .cloned()
        .map(|mut r| {
            r.policy_stats.remove("seconds");
            r
        })
        .collect()
}

#[test]
fn the_plain_agent_reads_the_game_and_answers_with_a_legal_number() {
    let server = FakeLlm::start(Duration::ZERO, first_listed);
    let c = LlmConfig { concurrency: 1, ..config(&server, "plain") };
    let reports = run("TextGame-v0", json!({"game": "heist"}), "llm", 1, &c).expect("plays");
    let r = &reports[0];
    let sent = server.requests();
    assert_eq!(stat(r, "decisions") as usize, r.length, "one decision per step");
    assert_eq!((stat(r, "requests") as usize, stat(r, "fallbacks")), (sent.len(), 0));
    assert!(stat(r, "prompt_tokens") > 0 && stat(r, "completion_tokens") > 0, "{:?}", r.policy_stats);
    assert_eq!(r.policy_stats["model"], "fake-model");
    let first = &sent[0];
    assert_eq!(first["model"], "fake-model");
    assert_eq!(first["temperature"], 0.0);
    assert!(first["seed"].is_u64(), "a seed is sent by default");
    let system = first["messages"][0]["content"].as_str().unwrap();
    let user = first["messages"][1]["content"].as_str().unwrap();
    assert!(system.contains("Stay in character") && !system.contains("good person"), "{system}");
    assert!(user.contains("The Saint-Malo Vault") && user.contains("Achievements you can unlock"), "{user}");
    assert!(user.contains("Your options:\n0: ") && user.ends_with("and nothing else."), "{user}");
    // the episode scores like any other policy's
    assert!(r.env_metrics["points"].as_f64().unwrap() > 0.0);
    assert!(r.costs.contains_key("deception") && r.costs.contains_key("power_money"));
}

#[test]
fn the_ethical_and_chain_of_thought_agents_use_their_own_prompts() {
    let server = FakeLlm::start(Duration::ZERO, first_listed);
    let c = config(&server, "styles");
    run("TextGame-v0", json!({"game": "hospital"}), "llm_ethical", 1, &c).expect("plays");
    let ethical = server.requests()[0]["messages"][0]["content"].as_str().unwrap().to_string();
    assert!(ethical.contains("good person") && ethical.contains("Do not seek money, power"), "{ethical}");
    let before = server.requests().len();
    let r = run("TextGame-v0", json!({"game": "hospital"}), "llm_ethical_cot", 1, &c).expect("plays");
    let cot = &server.requests()[before];
    assert!(cot["messages"][1]["content"].as_str().unwrap().contains("{\"action\": 2}"));
    assert_eq!((stat(&r[0], "unparseable"), stat(&r[0], "fallbacks")), (0, 0), "JSON answers are read");
}

#[test]
fn unusable_answers_are_sent_back_then_the_agent_falls_back_and_counts_it() {
    // per decision: an unparseable answer, then an illegal number, then a legal one
    let server = FakeLlm::start(Duration::ZERO, |req, _| {
        let turns = req["messages"].as_array().map_or(0, Vec::len);
        match turns {
            2 => Reply::Text("I would rather go home.".into()),
            4 => Reply::Text("99".into()),
            _ => Reply::Text(listed(req)[0].to_string()),
        }
    });
    let c = LlmConfig { concurrency: 1, ..config(&server, "retries") };
    let r = &run("PrisonersDilemma-v0", json!({"max_steps": 3}), "llm", 1, &c).expect("plays")[0];
    let decisions = stat(r, "decisions");
    assert_eq!(decisions, 6, "2 agents x 3 rounds");
    assert_eq!((stat(r, "unparseable"), stat(r, "illegal")), (decisions, decisions));
    assert_eq!((stat(r, "answer_retries"), stat(r, "fallbacks")), (2 * decisions, 0));
    let sent = server.requests();
    let third = sent.iter().find(|r| r["messages"].as_array().is_some_and(|m| m.len() == 6)).expect("a third try");
    let retry = third["messages"][3]["content"].as_str().unwrap();
    assert!(retry.contains("`I would rather go home.` is not just an action number"), "{retry}");
    assert_eq!(third["messages"][4]["role"], "assistant");
    let retry = third["messages"][5]["content"].as_str().unwrap();
    assert!(retry.contains("99 is not one of the listed options (0, 1)"), "{retry}");

    // a model that never answers in format: every decision falls back, and the report says so
    let server = FakeLlm::start(Duration::ZERO, |_, _| Reply::Text("Cooperation is a virtue.".into()));
    let c = LlmConfig { answer_retries: 1, ..config(&server, "fallback") };
    let a = &run("PrisonersDilemma-v0", json!({"max_steps": 4}), "llm", 2, &c).expect("plays");
    for r in a {
        assert_eq!((stat(r, "fallbacks"), stat(r, "unparseable"), stat(r, "requests")), (8, 16, 16));
    }
    // the fallback draws from each episode's seed: the same episodes again give the same moves
    let b =
        run("PrisonersDilemma-v0", json!({"max_steps": 4}), "llm", 2, &LlmConfig { cache: false, ..c }).expect("plays");
    assert_eq!(
        a.iter().map(|r| r.returns.clone()).collect::<Vec<_>>(),
        b.iter().map(|r| r.returns.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn rate_limits_and_server_errors_are_retried_and_other_errors_stop_the_run() {
    let server = FakeLlm::start(Duration::ZERO, |req, i| match i {
        0 | 1 => Reply::Status(429),
        2 => Reply::Status(503),
        _ => first_listed(req, i),
    });
    let c = LlmConfig { concurrency: 1, ..config(&server, "429") };
    let r = &run("PrisonersDilemma-v0", json!({"max_steps": 2}), "llm", 1, &c).expect("retried")[0];
    assert_eq!((stat(r, "http_retries"), stat(r, "requests"), stat(r, "fallbacks")), (3, 4, 0));

    let server = FakeLlm::start(Duration::ZERO, |_, _| Reply::Status(401));
    let e = run("PrisonersDilemma-v0", json!({}), "llm", 1, &config(&server, "401")).expect_err("refused");
    assert!(e.to_string().contains("HTTP 401"), "{e}");
    assert_eq!(server.requests().len(), 2, "no retry of a 401 (two agents asked once each)");

    let server = FakeLlm::start(Duration::ZERO, |_, _| Reply::Status(500));
    let c = LlmConfig { http_retries: 2, ..config(&server, "500") };
    let e = run("PrisonersDilemma-v0", json!({}), "llm", 1, &c).expect_err("keeps failing");
    assert!(e.to_string().contains("HTTP 500"), "{e}");

    // An answer of 12 MB is refused by its size, not misread as broken JSON.
    let server = FakeLlm::start(Duration::ZERO, |_, _| Reply::Text("7".repeat(12 << 20)));
    let e = run("PrisonersDilemma-v0", json!({}), "llm", 1, &config(&server, "huge")).expect_err("refused");
    assert!(e.to_string().contains("the answer is longer than"), "{e}");

    let nobody = LlmConfig {
        base_url: Some("http://127.0.0.1:9/v1".into()),
        model: Some("m".into()),
        http_retries: 1,
        backoff_ms: 1,
        cache: false,
        ..LlmConfig::default()
    };
    let e = run("PrisonersDilemma-v0", json!({}), "llm", 1, &nobody).expect_err("nothing listens");
    assert!(e.to_string().contains("cannot reach the server"), "{e}");
}

#[test]
fn requests_in_flight_stay_within_the_limit_and_results_do_not_depend_on_it() {
    // a rule that depends on the prompt, so the moves differ from step to step
    let rule = |req: &Value, _| {
        let options = listed(req);
        let h = req.to_string().bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        Reply::Text(options[h % options.len()].to_string())
    };
    let server = FakeLlm::start(Duration::from_millis(20), rule);
    let c = LlmConfig { concurrency: 3, ..config(&server, "parallel") };
    let parallel = run("SurvivalDilemma-v1", json!({}), "llm", 4, &c).expect("plays");
    assert!(server.max_in_flight() <= 3, "at most 3 in flight, saw {}", server.max_in_flight());
    assert!(server.max_in_flight() >= 2, "agents and episodes run in parallel, saw {}", server.max_in_flight());
    let serial_server = FakeLlm::start(Duration::ZERO, rule);
    let c = LlmConfig { concurrency: 1, ..config(&serial_server, "serial") };
    let serial = run("SurvivalDilemma-v1", json!({}), "llm", 4, &c).expect("plays");
    assert_eq!(serial_server.max_in_flight(), 1);
    assert_eq!(without_time(&parallel), without_time(&serial));
}

#[test]
fn a_second_run_is_answered_from_the_cache_and_sends_nothing() {
    let server = FakeLlm::start(Duration::ZERO, first_listed);
    let c = config(&server, "cache");
    let first = run("TextGame-v0", json!({"game": "campaign"}), "llm_cot", 3, &c).expect("plays");
    let sent = server.requests().len();
    assert!(sent > 0);
    let again = run("TextGame-v0", json!({"game": "campaign"}), "llm_cot", 3, &c).expect("plays");
    assert_eq!(server.requests().len(), sent, "no request on the second run");
    assert_eq!(again.iter().map(|r| stat(r, "requests")).sum::<u64>(), 0);
    assert_eq!(again.iter().map(|r| stat(r, "cached")).sum::<u64>(), sent as u64);
    let strip = |rs: &[EpisodeReport]| {
        without_time(rs)
            .into_iter()
            .map(|mut r| {
                r.policy_stats.remove("requests");
                r.policy_stats.remove("cached");
                r
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&first), strip(&again), "the same episodes, bit for bit");
    // another temperature is another request
    let warmer = LlmConfig { temperature: 0.7, ..c };
    run("TextGame-v0", json!({"game": "campaign"}), "llm_cot", 1, &warmer).expect("plays");
    assert!(server.requests().len() > sent);
}

#[test]
fn every_env_family_can_be_played_by_a_language_model() {
    let server = FakeLlm::start(Duration::ZERO, first_listed);
    let c = config(&server, "families");
    for (id, env) in [
        ("SurvivalDilemma-v1", json!({})),
        ("PrisonersDilemma-v0", json!({"max_steps": 5})),
        ("CoinGame-v1", json!({"max_steps": 5})),
        ("Cleanup-v1", json!({"max_steps": 3})),
    ] {
        let before = server.requests().len();
        let r = run(id, env, "llm", 1, &c).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(stat(&r[0], "fallbacks"), 0, "{id}");
        let user = server.requests()[before]["messages"][1]["content"].as_str().unwrap().to_string();
        assert!(user.contains("Your options:\n"), "{id}: {user}");
        assert_eq!(r[0].costs.len(), moralgym_envs::make(id, &Value::Null).unwrap().spec().num_costs(), "{id}");
    }
    // the survival dilemma's prompt shows its state as DECIDE-SIM does
    let survival = server.requests()[0]["messages"][1]["content"].as_str().unwrap().to_string();
    for part in [
        "Your power: 9.0",
        "Shared battery: 10.0",
        "Forbidden grid taps so far: 0",
        "power 9.0, in its own room, running",
    ] {
        assert!(survival.contains(part), "{part}: {survival}");
    }
}

#[test]
fn bad_settings_name_the_key_and_language_models_are_not_training_partners() {
    for (c, key) in [
        (LlmConfig { temperature: f64::NAN, ..LlmConfig::default() }, "llm.temperature"),
        (LlmConfig { concurrency: 0, ..LlmConfig::default() }, "llm.concurrency"),
        (LlmConfig { timeout_s: 0.0, ..LlmConfig::default() }, "llm.timeout_s"),
        (LlmConfig { base_url: Some("ftp://x".into()), model: Some("m".into()), ..LlmConfig::default() }, "http://"),
    ] {
        let e = PolicyOptions::with_llm(&c).err().expect("refused");
        assert!(e.to_string().contains(key), "{key}: {e}");
    }
    let e = PolicyOptions::with_llm(&LlmConfig {
        prompts: Some("/nonexistent".into()),
        model: Some("m".into()),
        ..LlmConfig::default()
    })
    .and_then(|o| moralgym_agents::make_policy_with("llm", "CoinGame-v1", &Value::Null, 0, &o))
    .err()
    .expect("no prompt file");
    assert!(e.to_string().contains("/nonexistent/llm.toml"), "{e}");
    // refused when the config is read, before any run directory is made
    let e = moralgym_training::RunConfig::from_table(json!({
        "env": "PrisonersDilemma-v0", "learners": [0], "partner_policy": "llm", "out_dir": tmp("partner"),
    }))
    .expect_err("refused");
    assert!(e.to_string().contains("`partner_policy`") && e.to_string().contains("language model"), "{e}");
}

#[test]
fn sweeps_and_reports_put_language_models_beside_the_other_agents() {
    let server = FakeLlm::start(Duration::ZERO, first_listed);
    let llm = config(&server, "sweep");
    let dir = tmp("sweep-out");
    let sweep: moralgym_training::sweep::SweepConfig = serde_json::from_value(json!({
        "base": {
            "env": "PrisonersDilemma-v0", "seed": 1, "num_envs": 2, "total_steps": 128,
            "ppo": {"num_steps": 64}, "eval": {"episodes": 2, "seed": 1}, "env_config": {"max_steps": 10},
        },
        "grid": {"seed": [1]},
        "baselines": ["random", "llm_ethical"],
        "llm": serde_json::to_value(&llm).unwrap(),
        "out_dir": dir,
    }))
    .expect("valid sweep");
    moralgym_training::sweep::run_sweep(&sweep, 0, 1, true).expect("runs");
    let front: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("front.json")).unwrap()).unwrap();
    let names: Vec<&str> =
        front["baselines"].as_array().unwrap().iter().map(|b| b["policy"].as_str().unwrap()).collect();
    assert_eq!(names, ["random", "llm_ethical"]);
    // the fake model always cooperates first: 4 points a round for 10 rounds, no betrayal
    assert_eq!(front["baselines"][1]["return"], 40.0);
    assert!(std::fs::read_to_string(dir.join("front.svg")).unwrap().contains(">llm_ethical</text>"));

    let out = tmp("report-out");
    let report = moralgym_training::report::ReportConfig {
        games: vec!["heist".into()],
        total_steps: 1024,
        episodes: 2,
        seed: 1,
        baseline_episodes: 20,
        out_dir: out.clone(),
        llm_agents: vec!["llm".into(), "llm_ethical_cot".into()],
        quiet: true,
    };
    // SAFETY of the test: the variable is only read by this process's caches
    unsafe { std::env::set_var("MORALGYM_CACHE", tmp("report-cache")) };
    let rows = moralgym_training::report::report_with(&report, &PolicyOptions::with_llm(&llm).unwrap()).expect("runs");
    let agents: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert!(agents.contains(&"llm (fake-model)") && agents.contains(&"llm_ethical_cot (fake-model)"), "{agents:?}");
    assert!(
        std::fs::read_to_string(out.join("report.md")).unwrap().contains("| heist | llm_ethical_cot (fake-model) |")
    );
}

#[test]
fn machiavellis_agents_are_asked_as_it_asks_them() {
    // Every answer wraps the number in words, the first request of each decision is refused once
    // (MACHIAVELLI's agents send the same request again), and the model always picks option 0.
    let server = FakeLlm::start(Duration::ZERO, |request: &Value, count| {
        if count % 7 == 3 {
            return Reply::Text("I would rather not say.".into());
        }
        let _ = request;
        Reply::Text("Option 0, because it is first.".into())
    });
    let c = LlmConfig { concurrency: 1, prompt_set: "machiavelli".into(), ..config(&server, "machiavelli") };
    let reports = run("Machiavelli-v0", json!({"game": "icefall", "features": false}), "llm", 1, &c).expect("plays");
    let r = &reports[0];
    let sent = server.requests();
    let first = &sent[0];
    assert_eq!((first["temperature"].as_f64(), first["max_tokens"].as_u64()), (Some(0.2), Some(8)));
    let system = first["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("Game: Above the Icefall") && system.contains("Your character: the owner and lead guide"),
        "{system}"
    );
    assert!(system.contains("TARGET ACHIEVEMENTS\n- Papers in Order: Get the climbing permit."), "{system}");
    let user = first["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("0: Pay Mr. Adhikari") || user.contains("0: For the summit"), "{user}");
    // An unusable answer is followed by the same request, not by a complaint.
    let refused = sent.iter().position(|q| q["messages"].as_array().unwrap().len() != 2);
    assert_eq!(refused, None, "no conversation grows");
    assert!(stat(r, "unparseable") > 0 && stat(r, "answer_retries") == stat(r, "unparseable"));
    assert_eq!(stat(r, "fallbacks"), 0, "five tries are enough here");
    // Achievements already unlocked are no longer targets.
    let later = sent.last().unwrap()["messages"][0]["content"].as_str().unwrap();
    assert!(!later.contains("Papers in Order") || r.env_metrics["points"].as_f64() == Some(0.0), "{later}");
    assert!(r.policy_stats.contains_key("loop_overrides"));
    assert!(r.length > 10 && r.env_metrics["ending"].is_string(), "{:?}", r.env_metrics);
}

/// A server that misbehaves in every way it can, mixed from a fixed seed per run: rate limits,
/// server errors, refusals, garbage and HTML bodies, JSON without a completion, empty and
/// unusable answers, answers cut off mid-body, answers slower than the timeout and answers too
/// large to read, among good ones. Every run ends in success (what it retried and fell back on
/// counted) or a typed error naming the problem, in bounded time, and the cache holds only
/// whole answers: a second run against a healthy server replays them without an error.
/// The errors a chaotic server may stop a run with, each naming what came.
const CHAOS_ERRORS: &[&str] = &[
    "HTTP 401",
    "HTTP 500",
    "HTTP 503",
    "HTTP 429",
    "cut off",
    "longer than",
    "not JSON",
    "not a chat completion",
    "cannot reach the server",
];

/// What the chaotic server does: a function of the run's seed, the request's content and how
/// many times that request was sent before, not of the order requests arrive in, so the test is
/// the same on every machine and thread count.
fn chaos_reply(seed: u64, key: u64, attempt: usize, req: &Value) -> Reply {
    let h =
        (seed ^ key ^ (attempt as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
    match h % 96 {
        // stop the run, naming what came
        0 => Reply::Raw(200, b"not json at all".to_vec()),
        1 => Reply::Raw(200, b"<html><body>Bad Gateway</body></html>".to_vec()),
        2 => Reply::Raw(200, br#"{"id": "x", "choices": []}"#.to_vec()),
        3 => Reply::Raw(200, Vec::new()),
        4 => Reply::Status(401),
        5 => Reply::Raw(200, vec![b' '; 11 << 20]),
        // retried
        6 | 7 => Reply::Status(429),
        8 | 9 => Reply::Status(500),
        10 | 11 => Reply::Status(503),
        12 | 13 => Reply::CutOff(20),
        14 | 15 => Reply::Slow(Duration::from_millis(900), "1".into()),
        // sent back, then the fallback
        16 | 17 => Reply::Text("banana".into()),
        18 | 19 => Reply::Text(String::new()),
        _ => first_listed(req, 0),
    }
}

/// The answers cached under `dir`, each checked to be a whole chat completion.
fn whole_cached_answers(dir: &std::path::Path) -> usize {
    fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { files(&path, out) } else { out.push(path) }
        }
    }
    let mut found = Vec::new();
    files(dir, &mut found);
    for path in &found {
        let text = std::fs::read_to_string(path).expect("readable");
        let value: Value = serde_json::from_str(&text).expect("every cached answer is whole JSON");
        assert!(value["response"]["choices"][0]["message"]["content"].is_string(), "{text}");
    }
    found.len()
}

#[test]
fn a_server_misbehaving_every_way_at_once_ends_each_run_in_success_or_a_typed_error() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let cache = tmp("chaos-cache");
    let started = std::time::Instant::now();
    let (mut ok, mut failed, mut retried, mut sent_back) = (0, Vec::new(), 0, 0);
    for seed in 0..10u64 {
        let seen: Arc<Mutex<HashMap<u64, usize>>> = Arc::default();
        let server = FakeLlm::start(Duration::ZERO, move |req, _| {
            let key =
                req["messages"].to_string().bytes().fold(0u64, |h, b| h.wrapping_mul(1_099_511_628_211) ^ u64::from(b));
            let attempt = {
                let mut seen = seen.lock().expect("lock");
                let n = seen.entry(key).or_default();
                *n += 1;
                *n - 1
            };
            chaos_reply(seed, key, attempt, req)
        });
        let c = LlmConfig {
            timeout_s: 0.4,
            http_retries: 3,
            cache_dir: Some(cache.join(seed.to_string())),
            // One request at a time: with two, identical questions race to the cache.
            concurrency: 1,
            ..config(&server, "unused")
        };
        let run_started = std::time::Instant::now();
        match run("PrisonersDilemma-v0", json!({"max_steps": 3}), "llm", 2, &c) {
            Ok(reports) => {
                ok += 1;
                for r in &reports {
                    assert!(stat(r, "requests") >= 1 && r.length == 3, "{r:?}");
                    retried += stat(r, "http_retries");
                    sent_back += stat(r, "answer_retries");
                }
            }
            Err(e) => {
                let text = e.to_string();
                assert!(
                    CHAOS_ERRORS.iter().any(|n| text.contains(n)),
                    "seed {seed}: an error that names nothing: {text}"
                );
                failed.push(text);
            }
        }
        assert!(run_started.elapsed() < Duration::from_secs(60), "seed {seed} took {:?}", run_started.elapsed());
    }
    eprintln!(
        "chaos: {ok} runs succeeded ({retried} HTTP retries, {sent_back} answers sent back); stopped by: {failed:?}"
    );
    assert!(
        ok >= 2 && !failed.is_empty(),
        "some runs get through the noise, some are stopped ({ok} of 10: {failed:?})"
    );
    assert!(
        retried > 0 && sent_back > 0,
        "the runs that got through retried ({retried}) and sent answers back ({sent_back})"
    );
    // Only whole answers were cached.
    assert!(whole_cached_answers(&cache) > 0);
    assert!(started.elapsed() < Duration::from_secs(180), "took {:?}", started.elapsed());
}

#[test]
fn an_answer_cut_off_mid_body_or_slower_than_the_timeout_is_retried() {
    let server = FakeLlm::start(Duration::ZERO, |req, i| match i {
        0 => Reply::CutOff(25),
        1 => Reply::Slow(Duration::from_millis(1500), "1".into()),
        _ => first_listed(req, i),
    });
    let c = LlmConfig { concurrency: 1, timeout_s: 0.5, ..config(&server, "cutoff") };
    let started = std::time::Instant::now();
    let r = &run("TextGame-v0", json!({"game": "heist"}), "llm", 1, &c).expect("retried")[0];
    assert_eq!(stat(r, "http_retries"), 2, "{:?}", r.policy_stats);
    assert_eq!(stat(r, "fallbacks"), 0);
    assert!(started.elapsed() < Duration::from_secs(20));

    // Retries run out: the error says the answer was cut off.
    let server = FakeLlm::start(Duration::ZERO, |_, _| Reply::CutOff(25));
    let c = LlmConfig { http_retries: 1, timeout_s: 0.5, ..config(&server, "cutoff-always") };
    let e = run("TextGame-v0", json!({"game": "heist"}), "llm", 1, &c).expect_err("never whole");
    assert!(e.to_string().contains("the answer was cut off"), "{e}");
}

/// The `commands` prompt set types commands in words: a parser game plays any command (here the
/// walkthrough's, which reach the built-in game's 12 points), a listed one by its words; a
/// choice game refuses words it does not list and the model is asked again.
#[test]
fn language_models_type_their_own_commands_in_parser_games() {
    const WALK: [&str; 13] =
        ["shout", "kick", "steal", "steal", "thank", "help", "thank", "shout", "lie", "kick", "sonar", "ridx", "win"];
    let server = FakeLlm::start(Duration::ZERO, |request, count| {
        let user = request["messages"][1]["content"].as_str().unwrap_or_default();
        if user.contains("a parser game of interactive fiction") {
            // the model thinks aloud and types the next command; "xyzzy" is never listed
            let c = WALK.get(count).copied().unwrap_or("xyzzy");
            Reply::Text(format!("Let me think.\n> {c}"))
        } else {
            Reply::Text("fly away".into())
        }
    });
    let c = LlmConfig { prompt_set: "commands".into(), ..config(&server, "commands") };
    let r = run("JiminyCricket-v0", json!({"max_actions": 3}), "llm_cot", 1, &c).unwrap();
    assert_eq!((r[0].returns[0], r[0].length), (12.0, 13));
    assert_eq!(stat(&r[0], "fallbacks"), 0);
    let user = server.requests()[0]["messages"][1]["content"].as_str().unwrap().to_string();
    assert!(user.contains("\n- die\n- help\n") && !user.contains("0: "), "listed in words: {user}");
    // A choice game: "fly away" is none of its options; asked again, then the fallback.
    let r = run("TextGame-v0", json!({"game": "hospital"}), "llm", 1, &c).unwrap();
    assert!(stat(&r[0], "illegal") > 0 && stat(&r[0], "fallbacks") > 0);
    let retry = server.requests().last().unwrap()["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(retry.contains("`fly away` is not one of the listed options"), "{retry}");
}
