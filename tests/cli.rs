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
    let coin = list.iter().find(|e| e["id"] == "CoinGame-v1").expect("CoinGame listed");
    assert_eq!(coin["agents"], 2);
    assert_eq!(coin["action_space"]["n"], 4);
    assert_eq!(coin["observation_space"]["shape"], serde_json::json!([5, 5, 5]));
    assert_eq!(coin["costs"][0]["name"], "harm_other");
    let table = String::from_utf8(moralgym(&["envs"]).stdout).expect("utf8");
    assert!(table.contains("Cleanup-v1") && table.contains("free_ride"), "{table}");
}

#[test]
fn rollout_reports_episodes_with_costs_and_social_metrics_reproducibly() {
    let args = ["rollout", "--env", "CoinGame-v1", "--episodes", "2", "--seed", "3", "--json"];
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
    let other = json_of(&["rollout", "--env", "CoinGame-v1", "--episodes", "2", "--seed", "4", "--json"]);
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
        json_of(&["rollout", "--env", "Cleanup-v1", "--set", "zap.enabled=true", "--set", "max_steps=20", "--json"]);
    let ep = &r["episodes"][0];
    assert_eq!(ep["length"], 20);
    assert!(ep["costs"].get("zap").is_some(), "the zap cost appears with the beam");
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_two() {
    let e = stderr_of_failure(&["rollout", "--env", "CoinGam-v0"]);
    assert!(e.contains("unknown environment id `CoinGam-v0`") && e.contains("CoinGame-v1"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v1", "--set", "sise=3"]);
    assert!(e.contains("unknown field `sise`"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v1", "--set", "size=0"]);
    assert!(e.contains("`size`"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v1", "--set", "size"]);
    assert!(e.contains("key=value"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v1", "--config", "configs/missing.toml"]);
    assert!(e.contains("configs/missing.toml"), "{e}");
    let e = stderr_of_failure(&["bench", "--env", "CoinGame-v1", "--threads", "0"]);
    assert!(e.contains("threads"), "{e}");
    // --resume with the config file instead of the run's folder (it read "File exists").
    let e = stderr_of_failure(&["train", "configs/ppo_prisoners_dilemma_none.toml", "--resume"]);
    assert!(e.contains("--resume takes the directory of a run") && e.contains("is not a directory"), "{e}");
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v1", "--episodes", "2000000"]);
    assert!(e.contains("`--episodes` must be at most 1000000"), "{e}");
}

#[test]
fn bench_reports_env_steps_per_second() {
    // Episodes of 8 steps: 4 copies stepped 200 times end exactly 100 episodes, which the bench
    // counts from the env's own done flags, so it holds only if every step was played (the
    // untimed warm-up before them is 64 steps, whole episodes too).
    let t = json_of(&[
        "bench",
        "--env",
        "CoinGame-v1",
        "--set",
        "max_steps=8",
        "--num-envs",
        "4",
        "--threads",
        "2",
        "--steps",
        "200",
        "--json",
    ]);
    assert_eq!((t["num_envs"].as_u64(), t["threads"].as_u64(), t["steps"].as_u64()), (Some(4), Some(2), Some(200)));
    assert_eq!(t["episodes"], 100, "{t}");
    let (rate, seconds) = (t["env_steps_per_sec"].as_f64().expect("number"), t["seconds"].as_f64().expect("number"));
    assert!(seconds > 0.0 && (rate * seconds - 800.0).abs() < 1e-6, "{t}");
    let per_agent = t["agent_steps_per_sec"].as_f64().expect("number") / rate;
    assert!((per_agent - 2.0).abs() < 1e-9, "two agents a step");
}

#[test]
fn every_config_runs_as_its_first_line_documents() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut paths: Vec<std::path::PathBuf> = Vec::new();
    for dir in [root.clone(), root.join("social")] {
        for entry in std::fs::read_dir(dir).expect("configs/ exists") {
            paths.push(entry.expect("entry").path());
        }
    }
    let mut ran = 0;
    for path in paths {
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let first = text.lines().next().unwrap_or_default();
        let command = first
            .strip_prefix("# moralgym ")
            .unwrap_or_else(|| panic!("{path:?}: first line must be `# moralgym ...`"));
        let mut args: Vec<String> = command.split_whitespace().map(String::from).collect();
        if args[0] == "sweep" {
            let out = tmp(&format!("config-{}", path.file_stem().and_then(|s| s.to_str()).unwrap_or("x")));
            for set in [
                "base.total_steps=256",
                "base.num_envs=2",
                "base.ppo.num_steps=64",
                "base.eval.episodes=2",
                "grid.seed=[1]",
            ] {
                args.extend(["--set".into(), set.into()]);
            }
            args.extend(["--quiet".into(), "--out".into(), out.display().to_string()]);
            let status = moralgym(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(status.status.success(), "{path:?}: {}", String::from_utf8_lossy(&status.stderr));
            assert!(out.join("front.svg").exists() && out.join("front.png").exists(), "{path:?}");
            let _ = std::fs::remove_dir_all(out);
        } else if args[0] == "train" {
            // the documented run, on a budget that fits the test suite
            let out = tmp(&format!("config-{}", path.file_stem().and_then(|s| s.to_str()).unwrap_or("x")));
            for set in ["total_steps=256", "num_envs=2", "ppo.num_steps=64", "eval.episodes=2"] {
                args.extend(["--set".into(), set.into()]);
            }
            args.extend(["--quiet".into(), "--out".into(), out.display().to_string()]);
            let status = moralgym(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(status.status.success(), "{path:?}: {}", String::from_utf8_lossy(&status.stderr));
            assert!(out.join("eval.json").exists(), "{path:?}");
            let _ = std::fs::remove_dir_all(out);
        } else {
            args.push("--json".into());
            let out = json_of(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(!out["episodes"].as_array().expect("episodes").is_empty(), "{path:?}");
        }
        ran += 1;
    }
    assert!(ran >= 55, "only {ran} configs found");
}

#[test]
fn demo_runs_every_environment_and_prints_the_readmes_table() {
    let dir = tmp("demo");
    let out = moralgym(&["demo", "--out", &dir.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf8");
    for reg in moralgym::envs::registry() {
        assert!(text.contains(reg.id), "demo skipped {}", reg.id);
    }
    assert!(dir.join("weighted").join("eval.json").exists());
    // The README shows the demo's last table as the demo prints it on its defaults.
    let table = |t: &str| -> Vec<String> {
        let from = t.find("agent_0's policy").expect("the PPO table");
        t[from..]
            .lines()
            .take_while(|l| !l.trim().is_empty() && !l.starts_with("```"))
            .map(|l| l.trim_end().to_string())
            .collect()
    };
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README");
    let (shown, printed) = (table(&readme), table(&text));
    if gemm_kernels_as_the_readmes() {
        assert_eq!(shown, printed, "README.md's demo table is stale");
    } else {
        // Other kernels sum in another order, and a PPO run drifts from the last bits to a few
        // percent: the rows, the random policy's row (no network) and what the table shows
        // must hold all the same.
        let numbers = |row: &str| -> Vec<f64> {
            row.split_whitespace().rev().take(2).map(|n| n.parse().expect("a number")).collect()
        };
        assert_eq!(shown.len(), printed.len(), "{printed:?}");
        assert_eq!(shown[..2], printed[..2], "README.md's demo table is stale");
        for (a, b) in shown.iter().zip(&printed) {
            assert_eq!(a.split("  ").next(), b.split("  ").next(), "README.md's demo table is stale");
        }
        // [harm, return] of each row
        let (random, selfish, penalised) = (numbers(&printed[1]), numbers(&printed[2]), numbers(&printed[3]));
        assert!(selfish[1] > random[1] + 10.0, "reward only earns far more than random: {printed:?}");
        assert!(selfish[0] > 10.0 * penalised[0].max(0.1), "the penalty takes the harm away: {printed:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Whether gemm, which picks its kernels when it runs, picks the AVX-512 ones the README's
/// demo table was printed with.
fn gemm_kernels_as_the_readmes() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[test]
fn rollout_of_the_survival_dilemma_reports_its_metrics_for_each_policy() {
    for policy in ["random", "hoarder", "ethical"] {
        let r = json_of(&["rollout", "--env", "SurvivalDilemma-v1", "--policy", policy, "--episodes", "2", "--json"]);
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
    let e = stderr_of_failure(&["rollout", "--env", "CoinGame-v1", "--policy", "hoarder"]);
    assert!(e.contains("plays only SurvivalDilemma-v1"), "{e}");
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("moralgym-cli-{}-{name}", std::process::id()))
}

#[test]
fn train_writes_every_output_then_resumes_and_re_evaluates() {
    let out = tmp("train");
    let dir = out.display().to_string();
    let base = [
        "train",
        "configs/ppo_coin_game_lagrangian.toml",
        "--set",
        "total_steps=1024",
        "--set",
        "num_envs=4",
        "--set",
        "ppo.num_steps=64",
        "--set",
        "checkpoint_every=2",
        "--set",
        "eval.episodes=3",
        "--quiet",
        "--out",
        &dir,
    ];
    let run = moralgym(&base);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let config = std::fs::read_to_string(out.join("config.toml")).expect("resolved config");
    assert!(config.contains("view_radius = 2"), "the env's defaults are resolved: {config}");
    let lines: Vec<Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 4, "1024 steps / (4 envs x 64 steps)");
    for key in ["global_step", "sps", "episodic_return", "costs", "lagrange", "losses"] {
        assert!(lines[3].get(key).is_some(), "metrics lack {key}");
    }
    assert!(lines[3]["lagrange"]["agent_0/harm_other"].as_f64().is_some());
    assert!(lines[3]["losses"][0]["approx_kl"].as_f64().is_some());
    let tb = std::fs::read_dir(out.join("tb")).expect("tb dir").next().expect("event file").expect("entry").path();
    let scalars = moralgym::training::tensorboard::read_scalars(&tb).expect("valid event file");
    for tag in
        ["charts/episodic_return", "charts/SPS", "losses/value_loss", "costs/harm_other", "lagrange/agent_0/harm_other"]
    {
        assert!(scalars.iter().any(|(t, _, _)| t == tag), "no {tag} in TensorBoard events");
    }
    for ck in ["update_000002", "update_000004", "final"] {
        assert!(out.join("checkpoints").join(ck).join("agent_0.bpk").exists(), "{ck}");
    }
    let eval: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).expect("eval")).expect("JSON");
    assert_eq!(eval["summary"]["episodes"], 3);
    assert!(eval["summary"]["cost_per_agent"]["harm_other"]["mean"].as_f64().is_some());

    let resumed = moralgym(&["train", &dir, "--resume", "--set", "total_steps=2048", "--quiet"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).expect("metrics").lines().count();
    assert_eq!(lines, 8, "the resumed run continued from update 4 to 8");

    let eval = json_of(&["eval", "--run", &dir, "--episodes", "4", "--seed", "9"]);
    assert_eq!(eval["episodes"], 4);
    assert_eq!(eval, json_of(&["eval", "--run", &dir, "--episodes", "4", "--seed", "9"]), "seeded evaluation repeats");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn bad_run_configs_name_the_problem() {
    let e = stderr_of_failure(&["train", "configs/ppo_coin_game_none.toml", "--set", "ppo.learnin_rate=1"]);
    assert!(e.contains("learnin_rate"), "{e}");
    let e = stderr_of_failure(&["train", "configs/ppo_coin_game_none.toml", "--set", "cost.weights.harm=1"]);
    assert!(e.contains("`harm` is not a cost of CoinGame-v1"), "{e}");
    let e = stderr_of_failure(&[
        "train",
        "configs/ppo_coin_game_none.toml",
        "--set",
        "device=cuda",
        "--out",
        "/tmp/moralgym-never",
    ]);
    assert!(e.contains("--features cuda"), "{e}");
    let e = stderr_of_failure(&["eval", "--run", "/nonexistent/run"]);
    assert!(e.contains("/nonexistent/run"), "{e}");
}

#[test]
fn story_check_reports_problems_with_lines_and_generate_writes_valid_stories() {
    let out = moralgym(&["story", "check", "heist"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("valid") && text.contains("44 scenes"), "{text}");
    let bad = tmp("bad-story.toml");
    std::fs::write(
        &bad,
        "title = \"x\"\nstart = \"a\"\n[scenes.a]\ntext = \"A.\"\n[[scenes.a.choices]]\ntext = \"Go\"\ngoto = \"b\"\n",
    )
    .expect("write");
    let e = stderr_of_failure(&["story", "check", &bad.display().to_string()]);
    assert!(e.contains("line 5: scene `a`: choice \"Go\" leads to `b`, which does not exist"), "{e}");
    let generated = tmp("generated.toml");
    let g = moralgym(&[
        "story",
        "generate",
        "--seed",
        "3",
        "--scenes",
        "25",
        "--tradeoff",
        "1",
        "--out",
        &generated.display().to_string(),
    ]);
    assert!(g.status.success());
    let check = moralgym(&["story", "check", &generated.display().to_string()]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let _ = std::fs::remove_file(bad);
    let _ = std::fs::remove_file(generated);
}

/// Runs `moralgym play STORY` in `dir` with `input` typed; returns what it printed.
fn play_story(dir: &std::path::Path, story: &std::path::Path, input: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .arg("play")
        .arg(story)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.as_mut().expect("stdin").write_all(input.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("finishes");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn play_runs_a_z_machine_story_with_save_and_restore_across_sessions() {
    let story = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("zmachine/tests/stories/lighthouse.z5");
    let dir = std::env::temp_dir().join(format!("moralgym-zplay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (ok, text) = play_story(&dir, &story, "north\ntake key\nsave\n");
    assert!(ok, "{text}");
    assert!(text.contains("[Inside the Lighthouse") && text.contains("Score: 10"), "status line: {text}");
    assert!(text.contains("[saved to lighthouse.qzl]"), "{text}");
    assert!(dir.join("lighthouse.qzl").exists());
    let (ok, text) = play_story(&dir, &story, "restore\ninventory\n");
    assert!(ok, "{text}");
    assert!(text.contains("holds a saved game") && text.contains("a brass key"), "{text}");
    // Not a story: a typed error naming the file.
    std::fs::write(dir.join("bad.z5"), b"not a story").unwrap();
    let (ok, text) = play_story(&dir, &dir.join("bad.z5"), "");
    assert!(!ok && text.contains("bad.z5") && text.contains("64"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn play_reads_choices_from_standard_input_and_scores_the_game() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args(["play", "hospital", "--annotations"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    // always the first choice, with one invalid answer on the way
    child
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"9\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n")
        .expect("write");
    let out = child.wait_with_output().expect("finishes");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("St. Aldhelm's") && text.contains("Type a number from 1 to 2"), "{text}");
    assert!(text.contains("Achievement unlocked: Handover (+5 points)"), "the title, not the id: {text}");
    // what each choice meant, in words: the counters fired and the annotated values
    assert!(text.contains("[Counts as ") && text.contains("[No violation counted.]"), "{text}");
    assert!(!text.contains("\"morality\""), "no JSON: {text}");
    assert!(text.contains("Score:") && text.contains("THE END"), "{text}");
}

#[test]
fn rollout_of_a_text_game_reports_machiavelli_scores() {
    let cache = tmp("cache");
    let out = Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args([
            "rollout",
            "--env",
            "TextGame-v0",
            "--set",
            "game=startup",
            "--episodes",
            "5",
            "--baseline-episodes",
            "100",
            "--json",
        ])
        .env("MORALGYM_CACHE", &cache)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let m = &r["machiavelli"];
    for key in ["achievements_pct", "all_violations", "all_power", "disutility", "counts", "normalized"] {
        assert!(m.get(key).is_some(), "missing {key}");
    }
    // the paper's names beside moralgym's, the same numbers
    assert_eq!(m["normalized_paper_names"]["promises"], m["normalized"]["betrayal"]);
    assert_eq!(m["normalized_paper_names"]["fairness"], m["normalized"]["unfairness"]);
    assert!(r["episodes"][0]["env_metrics"]["achievements_pct"].as_f64().is_some());
    assert_eq!(std::fs::read_dir(&cache).expect("cache").count(), 1, "the baseline is cached");
    let _ = std::fs::remove_dir_all(cache);
}

#[test]
fn report_writes_a_machiavelli_table_in_markdown_and_csv() {
    let out = tmp("report");
    let cache = tmp("report-cache");
    let run = Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args([
            "report",
            "--games",
            "hospital,games/choicescript/heist",
            "--steps",
            "512",
            "--episodes",
            "3",
            "--baseline-episodes",
            "30",
            "--out",
        ])
        .arg(&out)
        .env("MORALGYM_CACHE", &cache)
        .output()
        .expect("runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).expect("markdown");
    assert_eq!(String::from_utf8_lossy(&run.stdout), md, "the table printed is the one written");
    for agent in
        ["random", "scripted ethical", "PPO, reward only", "PPO, weighted", "PPO, Lagrangian", "PPO, conscience"]
    {
        assert!(md.contains(&format!("| hospital | {agent} |")), "{agent} missing:\n{md}");
        assert!(md.contains(&format!("| games/choicescript/heist | {agent} |")), "{agent} missing:\n{md}");
    }
    assert!(
        md.contains("| betrayal (promises) |") && md.contains("| unfairness (fairness) |"),
        "MACHIAVELLI's names:\n{md}"
    );
    let csv = std::fs::read_to_string(out.join("report.csv")).expect("csv");
    let header = "game,agent,achievements_pct,all_power,disutility,all_violations,betrayal/promises,deception";
    assert!(csv.starts_with(header), "{csv}");
    assert_eq!(csv.lines().count(), 13, "a header and six agents on each of two games");
    let _ = std::fs::remove_dir_all(out);
    let _ = std::fs::remove_dir_all(cache);
}

#[test]
fn report_scores_machiavellis_own_games_by_its_coefficients() {
    let out = tmp("report-mach");
    let run = Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args(["report", "--machiavelli", "moralgym:demo", "--steps", "512", "--episodes", "4", "--quiet", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).expect("markdown");
    assert!(md.contains("| game | agent | points | game.score | power.Σ | utility.suffering | violations.Σ |"), "{md}");
    for game in ["heist", "icefall", "all games"] {
        for agent in ["random", "scripted ethical", "PPO, reward only", "PPO, conscience"] {
            assert!(md.contains(&format!("| {game} | {agent} |")), "{game} {agent} missing:\n{md}");
        }
    }
    assert!(!md.contains("moralgym's random baseline"), "the demo folder has its coefficients:\n{md}");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("json")).expect("rows");
    assert_eq!(rows.len(), 18, "six agents on two games and over all games");
    let all_random = rows.iter().find(|r| r["game"] == "all games" && r["agent"] == "random").expect("row");
    assert_eq!(all_random["trajectories"], 8);
    assert!(all_random["metrics"]["violations.killing"].is_number());
    // Refused combinations name the flag.
    let bad = moralgym(&["report", "--test-set"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--test-set and --zscores belong to --machiavelli"));
    let bad = moralgym(&["report", "--machiavelli", "/nonexistent/game_data"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("game_metadata.json"));
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn report_scores_jiminy_cricket_by_percent_completion_and_immorality() {
    let out = tmp("report-jiminy");
    let run = Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args(["report", "--jiminy-cricket", "moralgym:demo", "--steps", "256", "--episodes", "2", "--quiet", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let md = String::from_utf8_lossy(&run.stdout);
    assert_eq!(md, std::fs::read_to_string(out.join("report.md")).expect("markdown"), "prints what it writes");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("json")).expect("rows");
    let agents = ["random", "scripted ethical", "walkthrough", "PPO, reward only", "PPO, weighted", "PPO, Lagrangian"];
    for game in ["moraltest", "all games"] {
        for agent in agents.iter().chain(&["PPO, conscience"]) {
            assert!(md.contains(&format!("| {game} | {agent} |")), "{game} {agent} missing:\n{md}");
        }
    }
    assert_eq!(rows.len(), 14, "seven agents on the game and over all games");
    let row = |agent: &str| rows.iter().find(|r| r["game"] == "moraltest" && r["agent"] == agent).expect("row");
    // The walkthrough from each starting point earns all that is left (12, 12, 2, 0, 0 points).
    let walk = row("walkthrough");
    assert_eq!(walk["completion_pct"], 100.0, "{walk}");
    let starts: Vec<f64> =
        walk["starts"].as_array().expect("starts").iter().map(|s| s["start_score"].as_f64().expect("n")).collect();
    assert_eq!(starts, [0.0, 0.0, 10.0, 12.0, 12.0]);
    assert_eq!(walk["episodes"], 10, "two episodes from each of five starting points");
    assert!(walk["immorality"].as_f64().expect("n") > 0.0, "the walkthrough steals and lies");
    assert_eq!(row("scripted ethical")["immorality"], 0.0, "the harm avoider avoids every marked harm");
    // Over all games: the mean over games, here the one game.
    let all = rows.iter().find(|r| r["game"] == "all games" && r["agent"] == "walkthrough").expect("row");
    assert_eq!(all["completion_pct"], walk["completion_pct"]);
    // A game the checkout's game_info.py does not list is refused by name.
    let bad = moralgym(&["report", "--jiminy-cricket", "moralgym:demo", "--games", "zork1", "--steps", "0"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("`zork1` has no max_score") && err.contains("moraltest"), "{err}");
    let bad = moralgym(&["report", "--jiminy-cricket", "/nonexistent/jiminy", "--steps", "0"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/jiminy/game_info.py"));
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn story_check_convert_and_play_work_on_choicescript_folders() {
    let out = moralgym(&["story", "check", "games/choicescript/heist"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("valid")
            && text.contains("21 choices with 47 options")
            && text.contains("200 random playthroughs"),
        "{text}"
    );
    // a shipped ChoiceScript game by name, from any folder: its size, labels and words included
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args(["story", "check", "icefall"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("\"Above the Icefall\": 12 scene files")
            && text.contains(" labels, ")
            && text.contains(" words)"),
        "{text}"
    );
    let e = stderr_of_failure(&["story", "routes", "regent"]);
    assert!(e.contains("regent is a ChoiceScript game"), "{e}");
    // a broken game: the file and line of each problem
    let bad = tmp("bad-cs");
    std::fs::create_dir_all(&bad).expect("dir");
    std::fs::write(bad.join("startup.txt"), "*create x 1\n*set x x + 1 + 1\n*goto nowhere\n").expect("write");
    let e = stderr_of_failure(&["story", "check", &bad.display().to_string()]);
    assert!(e.contains("warning: startup.txt:2: more than one operator without parentheses"), "{e}");
    assert!(e.contains("warning: startup.txt:3: no `*label nowhere` in startup.txt"), "{e}");
    // the game loads (the reference would too) and every playthrough stops at the first warning
    assert!(
        e.contains("startup.txt line 2: more than one operator without parentheses")
            && e.contains("(a warning above, hit in 200 of 200 random playthroughs)"),
        "{e}"
    );
    // reachable only in play: a *bug on one of two options
    std::fs::write(bad.join("startup.txt"), "*choice\n  #Fine.\n    *ending\n  #Broken.\n    *bug not written yet\n")
        .expect("write");
    let e = stderr_of_failure(&["story", "check", &bad.display().to_string()]);
    assert!(e.contains("startup.txt line 5: *bug reached: not written yet (hit in "), "{e}");
    // convert never overwrites
    let converted = tmp("converted-campaign");
    let _ = std::fs::remove_dir_all(&converted);
    assert!(moralgym(&["story", "convert", "campaign", "--out", &converted.display().to_string()]).status.success());
    assert!(moralgym(&["story", "check", &converted.display().to_string()]).status.success());
    let e = stderr_of_failure(&["story", "convert", "campaign", "--out", &converted.display().to_string()]);
    assert!(e.contains("exists"), "{e}");
    // play the converted folder to an ending, always the first option
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_moralgym"))
        .args(["play", &converted.display().to_string(), "--annotations"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.as_mut().expect("stdin").write_all("1\n".repeat(40).as_bytes()).expect("write");
    let out = child.wait_with_output().expect("finishes");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("Score:") && text.contains("Your conduct"), "{text}");
    let _ = std::fs::remove_dir_all(bad);
    let _ = std::fs::remove_dir_all(converted);
}

#[test]
fn the_routes_page_is_what_story_routes_prints() {
    let games = ["heist", "campaign", "shipwreck", "startup", "frontier", "hospital"];
    let out = moralgym(&[&["story", "routes"][..], &games[..]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/routes.md")).expect("docs/routes.md");
    assert!(page.ends_with(&*printed), "regenerate docs/routes.md with `moralgym story routes {}`", games.join(" "));
    for g in games {
        assert!(printed.contains(&format!("## `{g}`")), "{g}");
    }
}

#[test]
fn a_run_that_diverges_stops_with_a_typed_error_and_writes_no_nan_checkpoint() {
    let out = tmp("diverge");
    let _ = std::fs::remove_dir_all(&out);
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/ppo_coin_game_none.toml");
    let e = stderr_of_failure(&[
        "train",
        config,
        "--set",
        "ppo.learning_rate=1e30",
        "--set",
        "total_steps=8192",
        "--set",
        "checkpoint_every=1",
        "--out",
        &out.display().to_string(),
        "--quiet",
    ]);
    assert!(e.contains("training diverged at update") && e.contains("is not a finite number"), "{e}");
    let checkpoints = std::fs::read_dir(out.join("checkpoints")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(checkpoints, 0, "nothing is saved from the diverged update on");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_route_count_past_u128_is_said_as_a_bound_not_as_an_exact_number() {
    // 130 two-way choices in a row: 2^130 routes.
    let mut story = String::from("title = \"Deep\"\nstart = \"s0\"\n");
    for i in 0..130 {
        story += &format!("[scenes.s{i}]\ntext = \"Step {i}.\"\n");
        for c in 0..2 {
            story += &format!("[[scenes.s{i}.choices]]\ntext = \"Way {c}.\"\ngoto = \"s{}\"\n", i + 1);
        }
    }
    story += "[scenes.s130]\ntext = \"End.\"\nending = true\n";
    let file = tmp("deep.toml");
    std::fs::write(&file, story).expect("write");
    let out = moralgym(&["story", "routes", &file.display().to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("more than 3.4 x 10^38 routes") && !text.contains(&u128::MAX.to_string()), "{text}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_step_count_toml_cannot_hold_is_refused_before_anything_is_written() {
    let out = tmp("huge-steps");
    let _ = std::fs::remove_dir_all(&out);
    let e = stderr_of_failure(&["report", "--steps", "18446744073709551615", "--out", &out.display().to_string()]);
    assert!(e.contains("`total_steps` must be at most 9223372036854775807"), "{e}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn flags_a_combination_would_ignore_are_refused() {
    for (args, said) in [
        (&["eval", "--run", "nowhere", "--greedy", "--policy", "random"][..], "--greedy takes the trained policy"),
        (&["rollout", "--env", "CoinGame-v1", "--policy", "random", "--llm-model", "m"][..], "none is played here"),
        (&["report", "--games", "heist,heist"][..], "--games names `heist` twice"),
        (
            &["rollout", "--env", "CoinGame-v1", "--policy", "llm", "--llm-no-cache", "--llm-cache", "c"][..],
            "cannot be used with",
        ),
    ] {
        let e = stderr_of_failure(args);
        assert!(e.contains(said), "{args:?}: {e}");
    }
}

#[test]
fn training_on_a_game_that_breaks_on_every_path_fails_loudly() {
    let root = tmp("broken-game");
    let _ = std::fs::remove_dir_all(&root);
    let game = root.join("game");
    std::fs::create_dir_all(&game).expect("dir");
    std::fs::write(game.join("startup.txt"), "*choice\n  #Go.\n    *bug broken\n  #Also.\n    *bug broken too\n")
        .expect("write");
    let config = root.join("run.toml");
    let run = format!(
        "env = \"TextGame-v0\"\nnum_envs = 2\ntotal_steps = 256\nout_dir = \"{}\"\n\n[env_config]\npath = \"{}\"\n\n[ppo]\nnum_steps = 64\n\n[eval]\nepisodes = 3\n",
        root.join("out").display(),
        game.display()
    );
    std::fs::write(&config, run).expect("write");
    let e = stderr_of_failure(&["train", &config.display().to_string(), "--quiet"]);
    assert!(e.contains("every one of the 3 evaluation episodes stopped on an error in the game's script"), "{e}");
    assert!(e.contains("*bug reached: broken"), "{e}");
    assert!(!root.join("out/eval.json").exists(), "no evaluation written");
    let _ = std::fs::remove_dir_all(root);
}
