//! Runs that never lose or mix results, tried with real processes: one live run per directory,
//! a SIGKILLed run resumed with every update logged once, refused resume settings, a cut-short
//! checkpoint, and output piped into a reader that goes away.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_moralgym"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moralgym-runs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn updates(dir: &std::path::Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("every line is JSON")["update"].as_u64().expect("update"))
        .collect()
}

fn start(out: &str) -> Child {
    bin()
        .args([
            "train",
            "configs/ppo_prisoners_dilemma_none.toml",
            "--set",
            "total_steps=51200",
            "--set",
            "ppo.num_steps=32",
            "--set",
            "checkpoint_every=5",
            "--set",
            "eval.episodes=2",
            "--out",
            out,
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts")
}

#[test]
fn a_second_run_into_a_live_runs_directory_is_refused_and_a_killed_run_resumes_with_each_update_once() {
    let dir = tmp("kill");
    let out = dir.display().to_string();
    let mut first = start(&out);
    let t0 = Instant::now();
    while updates(&dir).len() < 30 {
        assert!(t0.elapsed() < Duration::from_secs(120), "the run never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Paused, so it cannot finish while the second run is tried, however fast the machine.
    signal(&first, "STOP");
    let second = run(&["train", "configs/ppo_prisoners_dilemma_none.toml", "--out", &out, "--quiet"]);
    assert_eq!(second.status.code(), Some(2));
    let why = String::from_utf8_lossy(&second.stderr);
    assert!(why.contains("is in use by another run") && why.contains(&first.id().to_string()), "{why}");
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let logged = updates(&dir);
    assert!(logged.len() < 200, "killed before the end: {}", logged.len());

    // resumed, and made longer on the way: 220 updates of 256 steps
    let resumed = run(&["train", &out, "--resume", "--set", "total_steps=56320", "--quiet"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("no longer running; taking it over"));
    assert_eq!(updates(&dir), (1..=220).collect::<Vec<u64>>(), "each update once, in order");
    assert!(std::fs::read_to_string(dir.join("config.toml")).unwrap().contains("total_steps = 56320"));
    // the annealed learning rate goes on falling from where the checkpoint was: never back up
    let rates: Vec<f64> = std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["learning_rate"].as_f64().unwrap())
        .collect();
    assert!(rates.windows(2).all(|w| w[1] <= w[0]), "the learning rate rose: {rates:?}");
    assert!(rates[219] > 0.0 && rates[219] < rates[199], "{} {}", rates[199], rates[219]);
    // TensorBoard holds each step once too
    let mut steps = Vec::new();
    for f in std::fs::read_dir(dir.join("tb")).unwrap().flatten() {
        let scalars = moralgym::training::tensorboard::read_scalars(&f.path()).expect("whole event files");
        steps.extend(scalars.into_iter().filter(|s| s.0 == "charts/SPS").map(|s| s.1));
    }
    steps.sort();
    assert_eq!(steps, (1..=220).map(|u| u * 256).collect::<Vec<u64>>());
    assert!(!dir.join(".lock").exists(), "the lock goes with the run");

    // settings that would make it another run are refused on resume, and --out with it
    let e = run(&["train", &out, "--resume", "--set", "ppo.hidden=[32]"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("`ppo.hidden` cannot change when a run resumes"));
    let e = run(&["train", &out, "--resume", "--out", "/tmp/elsewhere"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("cannot be combined with --resume"));
    // a checkpoint cut short (a kill while saving) is skipped for the one before it
    let final_weights = dir.join("checkpoints/final/agent_0.bpk");
    let bytes = std::fs::read(&final_weights).unwrap();
    std::fs::write(&final_weights, &bytes[..bytes.len() / 2]).unwrap();
    let eval = run(&["eval", "--run", &out, "--episodes", "2"]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    assert!(
        String::from_utf8_lossy(&eval.stderr).contains("cannot be read"),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn output_piped_into_a_reader_that_goes_away_ends_quietly() {
    for args in [
        vec!["rollout", "--env", "PrisonersDilemma-v0", "--episodes", "3000"],
        vec!["story", "generate", "--scenes", "5000"],
        vec!["envs", "--json"],
    ] {
        let mut child = bin().args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starts");
        let mut first = [0u8; 16];
        let _ = child.stdout.as_mut().expect("piped").read(&mut first);
        drop(child.stdout.take()); // like `| head -c 16`
        let out = child.wait_with_output().expect("ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Bad inputs from the issue tracker's list: each is refused with exit 2 and a message naming
/// the key or flag, never a panic, an abort or a silent default.
#[test]
fn bad_settings_are_refused_naming_the_key() {
    let pd = "configs/ppo_prisoners_dilemma_none.toml";
    let sweep = "configs/sweep_coin_game.toml";
    let cases: &[(&[&str], &str)] = &[
        (&["train", pd, "--set", "ppo.clip_coef=0"], "ppo.clip_coef"),
        (&["train", pd, "--set", "ppo.clip_coef=-1"], "ppo.clip_coef"),
        (&["train", pd, "--set", "ppo.ent_coef=-0.1"], "ppo.ent_coef"),
        (&["train", pd, "--set", "ppo.vf_coef=0"], "ppo.vf_coef"),
        (&["train", pd, "--set", "ppo.max_grad_norm=0"], "ppo.max_grad_norm"),
        (&["train", pd, "--set", "ppo.adam_epsilon=0"], "ppo.adam_epsilon"),
        (&["train", pd, "--set", "cost.lagrange_lr=0"], "cost.lagrange_lr"),
        (&["train", pd, "--set", "cost.lagrange_init=-1"], "cost.lagrange_init"),
        (&["train", pd, "--set", "cost.sum_limit=-1"], "cost.sum_limit"),
        (&["train", pd, "--set", "cost.default_weight=-2"], "cost.default_weight"),
        (&["train", pd, "--set", "conscience.alpha=0"], "conscience.alpha"),
        (&["train", pd, "--set", "total_steps=0"], "total_steps"),
        (&["train", pd, "--set", "ppo.num_minibatches=0"], "ppo.num_minibatches"),
        (&["train", pd, "--set", "ppo.num_minibatches=100000"], "ppo.num_minibatches"),
        (&["train", pd, "--set", "ppo.gamma=-1"], "ppo.gamma"),
        (&["train", pd, "--set", "ppo.learning_rate=nan"], "ppo.learning_rate"),
        (&["train", pd, "--set", "ppo.gamma=inf"], "ppo.gamma"),
        (&["train", pd, "--set", "ppo.gamma=\"high\""], "ppo.gamma"),
        (&["train", pd, "--set", "ppo.hidden=[0]"], "ppo.hidden"),
        (&["train", pd, "--set", "num_envs=100000000"], "num_envs"),
        (&["train", pd, "--set", "ppo.num_steps=1000000000"], "ppo.num_steps"),
        (
            &["train", pd, "--set", "social.mode=\"lase\"", "--set", "social.lase.replay_size=100000000000"],
            "replay_size",
        ),
        (&["train", pd, "--out", "/proc/moralgym-cannot"], "cannot write"),
        (&["sweep", sweep, "--set", "parallel=0"], "parallel"),
        (&["sweep", sweep, "--set", "grid.seed=[]"], "grid.\"seed\""),
        (&["sweep", sweep, "--shard", "3/2"], "shard"),
        (&["rollout", "--env", "CoinGame-v1", "--episodes", "0"], "--episodes"),
        (&["eval", "--run", "/nonexistent", "--episodes", "0"], "--episodes"),
        (&["report", "--baseline-episodes", "0"], "--baseline-episodes"),
        (&["rollout", "--env", "TextGame-v0", "--set", "game=heist", "--set", "path=games/heist.toml"], "`game`"),
        (
            &["rollout", "--env", "TextGame-v0", "--set", "max_choices=1000000", "--set", "feature_dim=4096"],
            "max_choices",
        ),
        (&["bench", "--env", "Cleanup-v1", "--num-envs", "100000000"], "num_envs"),
        (&["bench", "--env", "CoinGame-v1", "--steps", "0"], "--steps"),
    ];
    for (args, key) in cases {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(key) && !stderr.contains("panicked"), "{args:?} must name {key}: {stderr}");
        if key.starts_with("--") {
            assert!(!stderr.contains("invalid run config"), "a flag error is no config error: {stderr}");
        }
    }
}

/// Trains a 10-update Prisoner's Dilemma run into `out`, a checkpoint every `every` updates.
fn train_short(out: &str, every: usize) {
    let every = format!("checkpoint_every={every}");
    let trained = run(&[
        "train",
        "configs/ppo_prisoners_dilemma_none.toml",
        "--set",
        "total_steps=2560",
        "--set",
        "ppo.num_steps=32",
        "--set",
        &every,
        "--set",
        "eval.episodes=2",
        "--out",
        out,
        "--quiet",
    ]);
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
}

#[test]
fn damaged_checkpoints_are_found_by_their_manifest_and_resume_cleans_up() {
    let dir = tmp("integrity");
    let out = dir.display().to_string();
    train_short(&out, 2);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("checkpoints/final/manifest.json")).unwrap()).unwrap();
    assert!(
        manifest["files"]["agent_0.bpk"]["fnv1a64"].is_string() && manifest["files"]["trainer.json"]["bytes"].is_u64()
    );

    // One flipped byte, the size unchanged: the manifest finds it and the run falls back.
    let weights = dir.join("checkpoints/final/agent_0.bpk");
    let mut bytes = std::fs::read(&weights).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&weights, &bytes).unwrap();
    let eval = run(&["eval", "--run", &out, "--episodes", "2"]);
    let said = String::from_utf8_lossy(&eval.stderr);
    assert!(eval.status.success() && said.contains("agent_0.bpk differs from what manifest.json says"), "{said}");

    // Counters edited after the fact: a numbered checkpoint whose trainer.json says another
    // update is skipped, and one whose update and env steps disagree cannot be loaded.
    let state = dir.join("checkpoints/update_000010/trainer.json");
    let text = std::fs::read_to_string(&state).unwrap();
    std::fs::write(&state, text.replacen("\"update\": 10", "\"update\": 99999", 1)).unwrap();
    let partial = dir.join("checkpoints/.update_000012.partial");
    std::fs::create_dir_all(&partial).unwrap();
    let resumed = run(&["train", &out, "--resume", "--set", "total_steps=3584", "--quiet"]);
    let said = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{said}");
    assert!(said.contains("says it holds update 99999; skipped"), "{said}");
    assert!(!partial.exists(), "a half-written checkpoint is removed on resume");
    assert_eq!(updates(&dir), (1..=14).collect::<Vec<u64>>(), "each update once");
    let final_state = dir.join("checkpoints/final/trainer.json");
    let text = std::fs::read_to_string(&final_state).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["update"] = serde_json::json!(99999);
    std::fs::write(&final_state, v.to_string()).unwrap();
    // Without its manifest (as a checkpoint from before manifests), the counters are still checked.
    std::fs::remove_file(dir.join("checkpoints/final/manifest.json")).unwrap();
    let again = run(&["train", &out, "--resume", "--set", "total_steps=4096", "--quiet"]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && said.contains("claims 99999 updates"), "{said}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_run_whose_log_is_deleted_under_it_fails() {
    let dir = tmp("vanish");
    let mut child = start(&dir.display().to_string());
    let t0 = Instant::now();
    while updates(&dir).len() < 5 {
        assert!(t0.elapsed() < Duration::from_secs(120), "the run never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "STOP");
    std::fs::remove_file(dir.join("metrics.jsonl")).unwrap();
    signal(&child, "CONT");
    let status = child.wait().expect("ends");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!status.success() && stderr.contains("metrics.jsonl disappeared during the run"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Sends `child` a signal (`STOP`, `CONT`) with `kill`.
fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().expect("kill runs");
    assert!(sent.success(), "kill -{name}");
}

/// Copies a run directory (files and folders, no links).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The files under `dir` (none if it is not there; a run may be writing it meanwhile).
fn files_of(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            files_of(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

#[test]
fn faults_injected_into_a_finished_run_end_in_success_or_a_typed_error() {
    let base = tmp("faults-base");
    train_short(&base.display().to_string(), 3);
    let mut rng = moralgym::envs::Rng::new(20_261_206);
    let (mut ok, mut refused) = (0, 0);
    for case in 0..24 {
        let dir = tmp(&format!("faults-{case}"));
        copy_dir(&base, &dir);
        let _ = std::fs::remove_file(dir.join(".lock"));
        let mut files = Vec::new();
        files_of(&dir, &mut files);
        files.sort();
        // one to three faults: a file deleted, truncated, garbled or emptied
        let mut done = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let f = &files[rng.below(files.len())];
            let bytes = std::fs::read(f).unwrap_or_default();
            let what = rng.below(4);
            match what {
                0 => drop(std::fs::remove_file(f)),
                1 => drop(std::fs::write(f, &bytes[..bytes.len() / 2])),
                2 if !bytes.is_empty() => {
                    let mut b = bytes.clone();
                    let at = rng.below(b.len());
                    b[at] ^= 0x5a;
                    drop(std::fs::write(f, b));
                }
                _ => drop(std::fs::write(f, b"")),
            }
            done.push(format!("{} #{what}", f.strip_prefix(&dir).unwrap().display()));
        }
        let d = dir.display().to_string();
        for args in [
            vec!["eval", "--run", &d, "--episodes", "2"],
            vec!["train", &d, "--resume", "--set", "total_steps=3584", "--quiet"],
        ] {
            let r = bin().args(&args).output().expect("runs");
            let code = r.status.code();
            assert_ran_or_refused(
                &format!("case {case} {done:?}, {args:?}"),
                code,
                &String::from_utf8_lossy(&r.stderr),
            );
            if code == Some(0) { ok += 1 } else { refused += 1 }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
    // Both outcomes occur: damage the runs survive (an older checkpoint) and damage they refuse.
    assert!(ok > 0 && refused > 0, "{ok} successes, {refused} typed errors");
    let _ = std::fs::remove_dir_all(base);
}

/// Waits for `child` at most `limit` (killing it and failing the test past that): its exit code
/// and what it wrote on stderr.
fn finish_within(mut child: Child, limit: Duration, what: &str) -> (Option<i32>, String) {
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waits") {
            break s;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} ran for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    (status.code(), err)
}

/// Exit 0, or 2 with an error said on stderr; never a panic.
fn assert_ran_or_refused(what: &str, code: Option<i32>, err: &str) {
    assert!(
        (code == Some(0) || (code == Some(2) && err.contains("error"))) && !err.contains("panicked"),
        "{what}: exit {code:?}\n{err}"
    );
}

/// Faults injected while a run trains, at a moment drawn from a fixed seed: a file of the run
/// deleted, truncated, garbled or emptied, or the whole run folder removed. The run ends in
/// success or a typed error (never a panic or a hang), and what is left behind is then evaluated
/// and resumed with the same outcome classes. `MORALGYM_FAULT_CASES` sets the case count (10).
#[test]
fn faults_injected_while_a_run_trains_end_in_success_or_a_typed_error() {
    let cases: usize = std::env::var("MORALGYM_FAULT_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(10);
    let mut rng = moralgym::envs::Rng::new(20_261_207);
    let mut hit_mid_run = 0;
    let start = |d: &str| {
        bin()
            .args(["train", "configs/ppo_prisoners_dilemma_none.toml", "--set", "total_steps=25600"])
            .args(["--set", "ppo.num_steps=32", "--set", "checkpoint_every=4", "--set", "eval.episodes=2"])
            .args(["--out", d, "--quiet"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("starts")
    };
    // How long an undisturbed run takes here: the faults land within that time.
    let clean = tmp("live-faults-clean");
    let timer = Instant::now();
    assert!(start(&clean.display().to_string()).wait().expect("runs").success());
    let span = timer.elapsed().as_millis().max(1) as usize;
    let _ = std::fs::remove_dir_all(&clean);
    for case in 0..cases {
        let dir = tmp(&format!("live-faults-{case}"));
        let d = dir.display().to_string();
        let mut child = start(&d);
        std::thread::sleep(Duration::from_millis(rng.below(span) as u64));
        let mut files = Vec::new();
        files_of(&dir, &mut files);
        files.sort();
        let fault = rng.below(5);
        let target = (!files.is_empty()).then(|| files[rng.below(files.len())].clone());
        match (fault, &target) {
            (4, _) | (_, None) => drop(std::fs::remove_dir_all(&dir)),
            (0, Some(f)) => drop(std::fs::remove_file(f)),
            (1, Some(f)) => {
                let bytes = std::fs::read(f).unwrap_or_default();
                drop(std::fs::write(f, &bytes[..bytes.len() / 2]));
            }
            (2, Some(f)) => {
                let mut bytes = std::fs::read(f).unwrap_or_default();
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 0x5a;
                    drop(std::fs::write(f, bytes));
                }
            }
            (_, Some(f)) => drop(std::fs::write(f, b"")),
        }
        let done = format!("case {case}: fault {fault} on {target:?}");
        let mid_run = child.try_wait().expect("waits").is_none();
        let (code, err) = finish_within(child, Duration::from_secs(120), &done);
        assert_ran_or_refused(&format!("{done}, the run"), code, &err);
        hit_mid_run += usize::from(mid_run);
        if dir.exists() {
            for args in [
                vec!["eval", "--run", &d, "--episodes", "2"],
                vec!["train", &d, "--resume", "--set", "total_steps=14336", "--quiet"],
            ] {
                let r = bin().args(&args).output().expect("runs");
                assert_ran_or_refused(
                    &format!("{done}, then {args:?}"),
                    r.status.code(),
                    &String::from_utf8_lossy(&r.stderr),
                );
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(hit_mid_run > 0, "no fault landed while a run was training");
}

/// One of `xs`, drawn with `rng`.
fn pick(rng: &mut moralgym::envs::Rng, xs: &[&str]) -> String {
    xs[rng.below(xs.len())].to_string()
}

/// Runs one generated command line within `limit`: it must exit 0, or 2 with an error said;
/// returns its exit code.
fn run_case(mut command: Command, limit: Duration, what: &str) -> Option<i32> {
    let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("starts");
    let (code, err) = finish_within(child, limit, what);
    // 0: it ran; 2: a usage error (clap) or a typed error, said on stderr.
    assert_ran_or_refused(what, code, &err);
    code
}

/// A command line drawn from the commands that finish quickly, their flags and values that break
/// code (huge, negative, fractional, empty, unknown, paths that are not there).
fn random_command(rng: &mut moralgym::envs::Rng) -> Vec<String> {
    const VALUES: [&str; 16] = [
        "0",
        "-1",
        "3",
        "18446744073709551615",
        "1e30",
        "nan",
        "",
        "heist",
        "Machiavelli-v0",
        "CoinGame-v1",
        "moralgym:demo",
        "/nonexistent",
        "games/choicescript/heist",
        "x=1",
        "features=false",
        "--",
    ];
    let (head, flags): (Vec<&str>, &[&str]) = match rng.below(7) {
        0 => (vec!["envs"], &["--json"]),
        1 => (vec!["story", "check"], &["--random"]),
        2 => (vec!["story", "routes"], &[]),
        3 => (vec!["story", "transcript"], &["--route"]),
        4 => {
            (vec!["rollout"], &["--env", "--set", "--episodes", "--seed", "--policy", "--json", "--baseline-episodes"])
        }
        5 => (vec!["bench"], &["--env", "--set", "--steps", "--num-envs", "--threads", "--json"]),
        _ => (vec!["eval"], &["--run", "--episodes", "--seed", "--policy", "--greedy"]),
    };
    let mut args: Vec<String> = head.iter().map(|s| s.to_string()).collect();
    for _ in 0..rng.below(6) {
        if !flags.is_empty() && rng.below(3) > 0 {
            args.push(pick(rng, flags));
        }
        args.push(pick(rng, &VALUES));
    }
    args
}

/// A command line of the commands that train (train, sweep, report, demo): random overrides and
/// flag values that break code, then a tail that keeps the work small (later `--set`s win).
fn random_long_command(rng: &mut moralgym::envs::Rng, out: &str) -> Vec<String> {
    const KEYS: [&str; 14] = [
        "total_steps",
        "seed",
        "num_envs",
        "threads",
        "ppo.learning_rate",
        "ppo.update_epochs",
        "ppo.num_minibatches",
        "cost.mode",
        "cost.default_weight",
        "eval.episodes",
        "checkpoint_every",
        "env",
        "learners",
        "nonsense",
    ];
    const VALUES: [&str; 12] =
        ["0", "-1", "3", "18446744073709551615", "1e30", "nan", "\"\"", "\"lagrangian\"", "[0]", "true", "{}", ""];
    let sets = |rng: &mut moralgym::envs::Rng, prefix: &str| -> Vec<String> {
        (0..rng.below(3))
            .flat_map(|_| ["--set".to_string(), format!("{prefix}{}={}", pick(rng, &KEYS), pick(rng, &VALUES))])
            .collect()
    };
    let mut args: Vec<String> = match rng.below(4) {
        0 => {
            let config = pick(
                rng,
                &[
                    "configs/ppo_prisoners_dilemma_none.toml",
                    "configs/ppo_coin_game_lagrangian.toml",
                    "configs/ppo_text_heist_conscience.toml",
                ],
            );
            let mut a = vec!["train".to_string(), config];
            a.extend(sets(rng, ""));
            a.extend(
                ["--set", "total_steps=256", "--set", "ppo.num_steps=16", "--set", "eval.episodes=1"].map(String::from),
            );
            a
        }
        1 => {
            let mut a = vec!["sweep".to_string(), "configs/sweep_coin_game.toml".to_string()];
            a.extend(sets(rng, "base."));
            a.extend(
                ["--set", "base.total_steps=128", "--set", "base.eval.episodes=1", "--set", "grid.seed=[1]"]
                    .map(String::from),
            );
            if rng.below(2) == 0 {
                a.extend(["--shard".to_string(), pick(rng, &["0/2", "1/2", "2/2", "0/0", "x"])]);
            }
            a
        }
        2 => {
            let mut a = vec!["report".to_string(), "--games".to_string()];
            a.push(pick(rng, &["heist", "hospital,heist", "heist,heist", "nope", "games/choicescript/heist"]));
            a.extend(["--steps".to_string(), pick(rng, &["256", "0", "-1", "x", "18446744073709551615"])]);
            a.extend(["--episodes".to_string(), pick(rng, &["1", "2", "0", "2000000"])]);
            a.extend(["--baseline-episodes".to_string(), pick(rng, &["5", "0", "99999999"])]);
            a
        }
        _ => {
            vec!["demo".to_string(), "--steps".to_string(), pick(rng, &["256", "0", "-1", "x", "18446744073709551615"])]
        }
    };
    args.extend(["--out".to_string(), out.to_string()]);
    if args[0] != "demo" {
        args.push("--quiet".to_string());
    }
    args
}

#[test]
fn generated_training_command_lines_finish_with_success_or_a_typed_error() {
    let mut rng = moralgym::envs::Rng::new(20_261_208);
    let cases: usize =
        std::env::var("MORALGYM_ARG_CASES").ok().and_then(|n| n.parse().ok()).map_or(12, |n: usize| n / 5);
    let (mut ran, mut refused) = (0, 0);
    for case in 0..cases.max(1) {
        let out = tmp(&format!("long-args-{case}"));
        let args = random_long_command(&mut rng, &out.display().to_string());
        let mut command = bin();
        command.args(&args);
        let code = run_case(command, Duration::from_secs(90), &format!("case {case}: {args:?}"));
        if code == Some(0) {
            ran += 1
        } else {
            refused += 1
        }
        let _ = std::fs::remove_dir_all(&out);
    }
    assert!(ran > 0 && refused > 0, "{ran} ran, {refused} refused");
}

#[test]
fn generated_command_lines_finish_with_success_or_a_usage_or_typed_error() {
    let mut rng = moralgym::envs::Rng::new(20_261_207);
    let cache = tmp("args-cache");
    let cases: usize = std::env::var("MORALGYM_ARG_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(60);
    let mut ran = 0;
    for case in 0..cases {
        let args = random_command(&mut rng);
        let mut command = bin();
        command.args(&args).env("MORALGYM_CACHE", &cache);
        let code = run_case(command, Duration::from_secs(60), &format!("case {case}: {args:?}"));
        ran += (code == Some(0)) as usize;
    }
    assert!(ran > 0, "some generated command lines run");
    let _ = std::fs::remove_dir_all(cache);
}
