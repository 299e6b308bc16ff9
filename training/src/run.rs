//! Training runs from a TOML file: the resolved config, `metrics.jsonl`, TensorBoard events,
//! burnpack checkpoints, a progress line, and a final seeded evaluation (`eval.json`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use moralgym_agents::trainer::{Iteration, TrainerConfig, TrainerState};
use moralgym_agents::{AgentError, Trainer};
use moralgym_envs::{EpisodeReport, VecEnv, registry};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ConfigError;
use crate::lock::{RunLock, write_file};
use crate::rollout::evaluate;
use crate::summary::{EvalFile, EvalSummary};
use crate::tensorboard::SummaryWriter;

/// Which compute device trains the networks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// burn's pure-Rust CPU backend.
    #[default]
    Flex,
    /// wgpu (build with `--features wgpu`).
    Wgpu,
    /// CUDA (build with `--features cuda`).
    Cuda,
}

/// Final evaluation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Seeded episodes of the final evaluation (0 skips it).
    pub episodes: usize,
    /// Take the most likely action instead of sampling.
    pub greedy: bool,
    /// Seed of the evaluation episodes (episode k uses `derive_seed(seed, k)`).
    pub seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { episodes: 20, greedy: false, seed: 12_345 }
    }
}

/// A run: env, learner, budget, outputs. Every key is documented in docs/training.md.
///
/// The learner's keys (`ppo`, `cost`, `shared_policy`, `learners`, `partner_policy`,
/// `conscience`, `social`) sit at the top level of the file beside the run's own and are read
/// into [`RunConfig::trainer`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Registered env id.
    pub env: String,
    /// The env's config keys (defaults for the rest).
    #[serde(default)]
    pub env_config: Value,
    /// The learner: PPO, cost handling, who learns, social modes, conscience.
    #[serde(flatten)]
    pub trainer: TrainerConfig,
    /// Env copies stepped together.
    #[serde(default = "default_num_envs")]
    pub num_envs: usize,
    /// Threads of the vector env.
    #[serde(default = "one")]
    pub threads: usize,
    /// Seed of envs, networks and sampling.
    #[serde(default)]
    pub seed: u64,
    /// Env steps to train for (vector steps x copies).
    #[serde(default = "default_total_steps")]
    pub total_steps: u64,
    /// Save a checkpoint every this many updates (0: only at the end), so a killed run resumes.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Final evaluation.
    #[serde(default)]
    pub eval: EvalConfig,
    /// Compute device.
    #[serde(default)]
    pub device: DeviceKind,
    /// Output directory.
    #[serde(default = "default_out")]
    pub out_dir: PathBuf,
}

fn default_num_envs() -> usize {
    8
}
fn one() -> usize {
    1
}
fn default_checkpoint_every() -> usize {
    10
}
fn default_total_steps() -> u64 {
    100_000
}
fn default_out() -> PathBuf {
    PathBuf::from("runs/run")
}

/// What a finished run returns.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// The run's directory.
    pub out_dir: PathBuf,
    /// Updates done.
    pub updates: usize,
    /// Env steps done.
    pub global_step: u64,
    /// The final evaluation summary (the `summary` of `eval.json`), `None` when skipped.
    pub eval: Option<EvalSummary>,
    /// The evaluation episodes themselves.
    #[serde(skip)]
    pub reports: Vec<EpisodeReport>,
}

impl RunConfig {
    /// Reads a run config table (e.g. from [`crate::load_table`] plus `--set` overrides).
    /// Every key is checked: a wrong type or an unknown key names its dotted path, and a value
    /// out of range names its key and what it allows.
    pub fn from_table(table: Value) -> Result<Self, ConfigError> {
        let Value::Object(mut map) = table else {
            return Err(ConfigError::Run { message: "a run config must be a table".into() });
        };
        // `agent = "ppo"` named the one learner; run directories written before it went keep it
        if map.get("agent").is_some_and(|a| a == "ppo") {
            map.remove("agent");
        }
        // The learner's keys are read on their own, so that their errors keep their paths (serde
        // loses them inside a flattened struct) and no unknown key passes.
        let learner = trainer_keys();
        let (learner_table, run_table): (Map<String, Value>, Map<String, Value>) =
            map.into_iter().partition(|(k, _)| learner.contains(k));
        let known = run_keys();
        if let Some(key) = run_table.keys().find(|k| !known.contains(k)) {
            let mut all: Vec<&String> = known.iter().chain(&learner).collect();
            all.sort();
            let listed: Vec<String> = all.iter().map(|k| format!("`{k}`")).collect();
            return Err(ConfigError::Run {
                message: format!("unknown field `{key}`, expected one of {}", listed.join(", ")),
            });
        }
        let trainer = deserialize_named(Value::Object(learner_table))?;
        let config = Self { trainer, ..deserialize_named(Value::Object(run_table))? };
        config.validate()?;
        Ok(config)
    }

    /// Checks the run's own keys and the learner's, naming the first one at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, what: String| Err(ConfigError::Run { message: format!("`{key}` {what}") });
        if self.total_steps == 0 {
            return fail("total_steps", "must be at least 1".into());
        }
        // config.toml holds every value, and TOML's integers stop at i64::MAX.
        for (key, n) in [
            ("total_steps", self.total_steps),
            ("seed", self.seed),
            ("eval.seed", self.eval.seed),
            ("checkpoint_every", self.checkpoint_every as u64),
            ("eval.episodes", self.eval.episodes as u64),
        ] {
            if n > i64::MAX as u64 {
                return fail(key, format!("must be at most {} (TOML's largest integer), got {n}", i64::MAX));
            }
        }
        if self.eval.episodes > crate::rollout::MAX_EPISODES {
            return fail("eval.episodes", format!("must be at most {}", crate::rollout::MAX_EPISODES));
        }
        let max = moralgym_envs::vector::MAX_COPIES;
        if !(1..=max).contains(&self.num_envs) {
            return fail("num_envs", format!("must be 1 to {max}"));
        }
        let most = moralgym_envs::vector::MAX_THREADS;
        if !(1..=most).contains(&self.threads) {
            return fail("threads", format!("must be 1 to {most}"));
        }
        match self.trainer.validate().and_then(|()| self.trainer.ppo.check_batch(self.num_envs)) {
            Err(AgentError::Setting { key, message }) => return fail(&key, message),
            Err(other) => return Err(other.into()),
            Ok(()) => {}
        }
        // Weights and limits must name costs the env has: checked here, not when training starts.
        let env = moralgym_envs::make(&self.env, &self.env_config)?;
        match moralgym_agents::lagrangian::CostRule::new(&self.trainer.cost, env.spec()) {
            Err(AgentError::Setting { key, message }) => fail(&key, message),
            Err(other) => Err(other.into()),
            Ok(_) => Ok(()),
        }
    }
}

/// `table` read as a `T`, an error naming the dotted path of the key at fault.
fn deserialize_named<T: serde::de::DeserializeOwned>(table: Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(table).map_err(|e| {
        let path = e.path().to_string();
        let message = if path == "." { e.inner().to_string() } else { format!("`{path}`: {}", e.inner()) };
        ConfigError::Run { message }
    })
}

/// The top-level keys of the learner's settings.
fn trainer_keys() -> Vec<String> {
    match serde_json::to_value(TrainerConfig::default()) {
        Ok(Value::Object(m)) => m.into_iter().map(|(k, _)| k).collect(),
        _ => Vec::new(),
    }
}

/// The run's own top-level keys.
fn run_keys() -> Vec<String> {
    let learner = trainer_keys();
    let minimal: Result<RunConfig, _> = serde_json::from_value(json!({"env": ""}));
    match minimal.map(serde_json::to_value) {
        Ok(Ok(Value::Object(m))) => m.into_iter().map(|(k, _)| k).filter(|k| !learner.contains(k)).collect(),
        _ => Vec::new(),
    }
}

fn device(kind: DeviceKind) -> Result<burn::tensor::Device, ConfigError> {
    match kind {
        DeviceKind::Flex => Ok(burn::tensor::Device::flex()),
        #[cfg(feature = "wgpu")]
        DeviceKind::Wgpu => Ok(burn::tensor::Device::wgpu(Default::default())),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => Ok(burn::tensor::Device::cuda(0)),
        #[allow(unreachable_patterns)]
        other => Err(ConfigError::Run {
            message: format!(
                "device `{other:?}` needs moralgym built with `--features {}`",
                format!("{other:?}").to_lowercase()
            ),
        }),
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Io { path: path.display().to_string(), message: e.to_string() }
}

fn log_iteration(tb: &mut SummaryWriter, it: &Iteration) -> std::io::Result<()> {
    let s = it.global_step;
    tb.scalar("charts/SPS", it.sps as f32, s)?;
    tb.scalar("charts/learning_rate", it.learning_rate as f32, s)?;
    if let Some(r) = it.episodic_return {
        tb.scalar("charts/episodic_return", r as f32, s)?;
    }
    if let Some(l) = it.episodic_length {
        tb.scalar("charts/episodic_length", l as f32, s)?;
    }
    for (name, c) in &it.costs {
        tb.scalar(&format!("costs/{name}"), *c as f32, s)?;
    }
    for (name, l) in &it.lagrange {
        tb.scalar(&format!("lagrange/{name}"), *l as f32, s)?;
    }
    for (name, g) in &it.gifts {
        tb.scalar(&format!("gifts/{name}"), *g as f32, s)?;
    }
    for (name, l) in &it.lase {
        tb.scalar(&format!("lase/{name}/q_loss"), l.q_loss as f32, s)?;
        tb.scalar(&format!("lase/{name}/pt_loss"), l.pt_loss as f32, s)?;
    }
    let n = it.losses.len().max(1) as f64;
    let avg = |f: fn(&moralgym_agents::ppo::UpdateStats) -> f64| (it.losses.iter().map(f).sum::<f64>() / n) as f32;
    tb.scalar("losses/value_loss", avg(|l| l.value_loss), s)?;
    tb.scalar("losses/policy_loss", avg(|l| l.policy_loss), s)?;
    tb.scalar("losses/entropy", avg(|l| l.entropy), s)?;
    tb.scalar("losses/old_approx_kl", avg(|l| l.old_approx_kl), s)?;
    tb.scalar("losses/approx_kl", avg(|l| l.approx_kl), s)?;
    tb.scalar("losses/clipfrac", avg(|l| l.clipfrac), s)?;
    tb.scalar("losses/explained_variance", avg(|l| l.explained_variance), s)?;
    tb.scalar("losses/epochs", avg(|l| l.epochs as f64), s)?;
    tb.flush()
}

fn progress(it: &Iteration) -> String {
    let mut line = format!("step {} | {:.0} SPS", it.global_step, it.sps);
    if let Some(r) = it.episodic_return {
        line.push_str(&format!(" | return {r:.2}"));
    }
    for (name, c) in &it.costs {
        line.push_str(&format!(" | {name} {c:.2}"));
    }
    line
}

fn trainer_for(config: &RunConfig, num_envs: usize) -> Result<Trainer, ConfigError> {
    let venv = VecEnv::make(&config.env, &config.env_config, num_envs, config.threads)?;
    let device = device(config.device)?;
    Ok(Trainer::new(venv, &config.env_config, config.trainer.clone(), config.total_steps, config.seed, &device)?)
}

/// Trains as `config` says, writing every output under `config.out_dir`.
pub fn train(config: &RunConfig, quiet: bool) -> Result<RunResult, ConfigError> {
    train_with(config, quiet, &mut |_| Ok(()))
}

/// [`train`], calling `on_iteration` after every update (with what `metrics.jsonl` gets); an
/// error from it stops the run and is returned.
pub fn train_with(config: &RunConfig, quiet: bool, on_iteration: OnIteration<'_>) -> Result<RunResult, ConfigError> {
    let trainer = trainer_for(config, config.num_envs)?;
    let out = &config.out_dir;
    let _lock = RunLock::acquire(out)?;
    // a directory reused for a new run starts clean: no checkpoint, event file or evaluation of
    // an older run stays beside the new one
    for old in ["checkpoints", "tb"] {
        if out.join(old).exists() {
            fs::remove_dir_all(out.join(old)).map_err(|e| written(&out.join(old), e))?;
        }
    }
    if out.join("eval.json").exists() {
        fs::remove_file(out.join("eval.json")).map_err(|e| written(&out.join("eval.json"), e))?;
    }
    fs::create_dir_all(out.join("checkpoints")).map_err(|e| written(out, e))?;
    write_resolved_config(config)?;
    let metrics = fs::File::create(out.join("metrics.jsonl")).map_err(|e| written(&out.join("metrics.jsonl"), e))?;
    run_loop(config, trainer, metrics, quiet, on_iteration)
}

/// Writes `config`, with the env's full config, as the run's `config.toml`.
fn write_resolved_config(config: &RunConfig) -> Result<(), ConfigError> {
    let path = config.out_dir.join("config.toml");
    let mut resolved = serde_json::to_value(config).map_err(|e| written(&path, e))?;
    resolved["env_config"] = registry::resolve_config(&config.env, &config.env_config)?;
    strip_nulls(&mut resolved); // TOML has no null: unset options are left out
    let resolved_toml = toml::to_string_pretty(&resolved).map_err(|e| written(&path, e))?;
    write_file(&path, resolved_toml)
}

fn written(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Write { path: path.display().to_string(), message: e.to_string() }
}

/// The keys `--set` may change when a run resumes. Every other key shapes the networks, the envs
/// or the data already logged, so a resumed run with another value would not be one run.
pub const RESUMABLE_KEYS: &[&str] =
    &["total_steps", "checkpoint_every", "eval.episodes", "eval.greedy", "eval.seed", "threads", "device"];

/// A hook called after every update of a run.
pub type OnIteration<'a> = &'a mut dyn FnMut(&Iteration) -> Result<(), String>;

/// Continues the run in `dir` from its latest checkpoint until its `total_steps` (raise it with
/// `overrides`, e.g. `total_steps=200000`). Networks, optimizer states, multipliers and counters
/// are restored; the env copies start fresh episodes.
pub fn resume(dir: &Path, overrides: &[String], quiet: bool) -> Result<RunResult, ConfigError> {
    if !dir.is_dir() {
        let what = if dir.exists() { "is not a directory" } else { "does not exist" };
        return Err(ConfigError::Usage {
            message: format!(
                "--resume takes the directory of a run `train` wrote (it holds config.toml and checkpoints/); {} {what}",
                dir.display()
            ),
        });
    }
    let _lock = RunLock::acquire(dir)?;
    for entry in overrides {
        let key = entry.split_once('=').map_or(entry.as_str(), |(k, _)| k).trim();
        if !RESUMABLE_KEYS.contains(&key) {
            return Err(ConfigError::Set {
                entry: entry.clone(),
                message: format!(
                    "`{key}` cannot change when a run resumes (it would no longer be one run); keys that can: {}",
                    RESUMABLE_KEYS.join(", ")
                ),
            });
        }
    }
    let table = crate::overrides::load_with_sets(&dir.join("config.toml"), overrides)?;
    let mut config = RunConfig::from_table(table)?;
    config.out_dir = dir.to_path_buf();
    let mut trainer = trainer_for(&config, config.num_envs)?;
    let state = load_latest(&mut trainer, dir, true)?;
    // A checkpoint a crash left half written is never read; it goes.
    for entry in fs::read_dir(dir.join("checkpoints")).map_err(|e| io(dir, e))?.flatten() {
        if entry.file_name().to_string_lossy().ends_with(".partial") {
            fs::remove_dir_all(entry.path()).map_err(|e| written(&entry.path(), e))?;
        }
    }
    if !overrides.is_empty() {
        write_resolved_config(&config)?; // what the resumed run trains with is what config.toml says
    }
    // Each update is logged once: drop what the run logged after its checkpoint.
    let path = dir.join("metrics.jsonl");
    let logged = fs::read_to_string(&path).unwrap_or_default();
    let kept: String = logged
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| v["update"].as_u64())
                .is_some_and(|u| u <= state.update as u64)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write_file(&path, kept)?;
    crate::tensorboard::truncate_after(&dir.join("tb"), state.global_step).map_err(|e| written(&dir.join("tb"), e))?;
    let metrics = fs::OpenOptions::new().append(true).create(true).open(&path).map_err(|e| written(&path, e))?;
    run_loop(&config, trainer, metrics, quiet, &mut |_| Ok(()))
}

/// Re-evaluates the saved policy of the run in `dir` (its latest checkpoint) over `episodes`
/// seeded episodes, returning the same summary as `eval.json`.
pub fn evaluate_run(dir: &Path, episodes: usize, seed: u64, greedy: bool) -> Result<EvalSummary, ConfigError> {
    let config = RunConfig::from_table(crate::load_table(&dir.join("config.toml"))?)?;
    let mut trainer = trainer_for(&config, 1)?;
    load_latest(&mut trainer, dir, false)?;
    let (summary, _) = evaluate_trained(&trainer, &config, episodes, seed, greedy)?;
    Ok(summary)
}

/// Evaluates the named policy (random, scripted, a language model) on the env of the run in `dir`
/// over the same seeded episodes [`evaluate_run`] plays, returning the same summary (with
/// `policy` naming it), so it compares with the trained agent episode for episode.
pub fn evaluate_policy_on_run(
    dir: &Path,
    policy: &str,
    episodes: usize,
    seed: u64,
    options: &moralgym_agents::PolicyOptions,
) -> Result<EvalSummary, ConfigError> {
    let config = RunConfig::from_table(crate::load_table(&dir.join("config.toml"))?)?;
    let reports = crate::rollout::rollout_with(&config.env, &config.env_config, policy, episodes, seed, options)?;
    Ok(EvalSummary { policy: Some(policy.to_string()), seed: Some(seed), ..EvalSummary::of(&reports) })
}

fn run_loop(
    config: &RunConfig,
    mut trainer: Trainer,
    mut metrics: fs::File,
    quiet: bool,
    on_iteration: OnIteration<'_>,
) -> Result<RunResult, ConfigError> {
    let out = &config.out_dir;
    let metrics_path = out.join("metrics.jsonl");
    let mut tb = SummaryWriter::create(&out.join("tb")).map_err(|e| io(out, e))?;
    let total = trainer.total_updates();
    let shown = crate::progress::Progress::new("update", total, quiet);
    let mut global_step = trainer.state().global_step;
    while trainer.updates_done() < total {
        // A run whose folder or log was removed under it fails instead of writing on into
        // nothing (a deleted file stays writable through its handle).
        if !metrics_path.is_file() {
            return Err(ConfigError::Run {
                message: format!("{} disappeared during the run; stopping", metrics_path.display()),
            });
        }
        let it = trainer.iterate()?;
        global_step = it.global_step;
        let line = serde_json::to_string(&it).map_err(|e| written(&metrics_path, e))?;
        writeln!(metrics, "{line}").map_err(|e| io(&metrics_path, e))?;
        log_iteration(&mut tb, &it).map_err(|e| io(out, e))?;
        if config.checkpoint_every > 0 && it.update.is_multiple_of(config.checkpoint_every) {
            save(&trainer, &out.join("checkpoints").join(format!("update_{:06}", it.update)))?;
        }
        shown.tick(it.update, &progress(&it));
        on_iteration(&it).map_err(|message| ConfigError::Hook { message })?;
    }
    shown.finish();
    save(&trainer, &out.join("checkpoints").join("final"))?;
    let mut reports = Vec::new();
    let eval = if config.eval.episodes > 0 {
        let summary;
        (summary, reports) =
            evaluate_trained(&trainer, config, config.eval.episodes, config.eval.seed, config.eval.greedy)?;
        refuse_all_errors(&reports, out)?;
        let file = EvalFile { summary, episodes: reports };
        file.write(&out.join("eval.json"))?;
        reports = file.episodes;
        Some(file.summary)
    } else {
        None
    };
    Ok(RunResult { out_dir: out.clone(), updates: trainer.updates_done(), global_step, eval, reports })
}

/// Fails a run every one of whose evaluation episodes stopped on an error in the game's script (a
/// ChoiceScript game that breaks on every path): its numbers would measure the error, not play.
fn refuse_all_errors(reports: &[EpisodeReport], out: &Path) -> Result<(), ConfigError> {
    let error = |r: &EpisodeReport| r.env_metrics.get("error").and_then(Value::as_str).map(str::to_string);
    match reports.first().and_then(error) {
        Some(first) if reports.iter().all(|r| error(r).is_some()) => Err(ConfigError::Run {
            message: format!(
                "every one of the {} evaluation episodes stopped on an error in the game's script (the first: {first}); the checkpoints in {} are kept, but no evaluation is written",
                reports.len(),
                out.display()
            ),
        }),
        _ => Ok(()),
    }
}

/// Evaluates `trainer`'s policies on seeded episodes: the `eval.json` summary and the episodes.
fn evaluate_trained(
    trainer: &Trainer,
    config: &RunConfig,
    episodes: usize,
    seed: u64,
    greedy: bool,
) -> Result<(EvalSummary, Vec<EpisodeReport>), ConfigError> {
    let mut policy = trainer.policy(seed, greedy);
    let reports = evaluate(&config.env, &config.env_config, &mut policy, episodes, seed)?;
    Ok((EvalSummary { greedy: Some(greedy), seed: Some(seed), ..EvalSummary::of(&reports) }, reports))
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn network_names(trainer: &Trainer) -> Vec<String> {
    let n = trainer.learners().len();
    if n == 1 && trainer.spec().num_agents > 1 && trainer.is_shared() {
        vec!["shared".into()]
    } else {
        trainer.learner_agents().iter().map(|a| format!("agent_{a}")).collect()
    }
}

/// Saves every network of `trainer` under `dir` (`agent_<i>.bpk`, or `shared.bpk`), with its
/// optimizer state (`*.optim.bpk`), LASE's networks (`agent_<i>.q.bpk`, `.pt.bpk`, `.selfish.bpk`)
/// and the trainer's counters and multipliers (`trainer.json`).
/// The checkpoint is written into a hidden folder beside `dir` and renamed into place, so a
/// checkpoint directory is whole or absent.
pub fn save(trainer: &Trainer, dir: &Path) -> Result<(), ConfigError> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.with_file_name(format!(".{name}.partial"));
    let cannot = |p: &Path, message: String| ConfigError::Write { path: p.display().to_string(), message };
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| cannot(&tmp, e.to_string()))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| cannot(&tmp, e.to_string()))?;
    for (learner, name) in trainer.learners().iter().zip(network_names(trainer)) {
        learner.save(&tmp.join(format!("{name}.bpk")))?;
        learner.save_optimizer(&tmp.join(format!("{name}.optim.bpk")))?;
    }
    for (i, lase) in trainer.lase_modules() {
        lase.save(&tmp, &format!("agent_{i}"))?;
    }
    let state = serde_json::to_string_pretty(&trainer.state()).map_err(|e| cannot(dir, e.to_string()))?;
    write_file(&tmp.join("trainer.json"), state)?;
    write_manifest(&tmp)?;
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| cannot(dir, e.to_string()))?;
    }
    fs::rename(&tmp, dir).map_err(|e| cannot(dir, e.to_string()))
}

/// A checkpoint's manifest: each file's size and FNV-1a hash, so a damaged file is found before
/// it is loaded.
const MANIFEST: &str = "manifest.json";

fn write_manifest(dir: &Path) -> Result<(), ConfigError> {
    let mut files = serde_json::Map::new();
    let mut entries: Vec<_> = fs::read_dir(dir).map_err(|e| io(dir, e))?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let bytes = fs::read(entry.path()).map_err(|e| io(&entry.path(), e))?;
        let hash = format!("{:016x}", moralgym_envs::fnv1a64(&bytes));
        files.insert(entry.file_name().to_string_lossy().into_owned(), json!({"bytes": bytes.len(), "fnv1a64": hash}));
    }
    let text = serde_json::to_string_pretty(&json!({"files": files})).map_err(|e| io(dir, e))?;
    write_file(&dir.join(MANIFEST), text)
}

/// Checks the files of the checkpoint `dir` against its manifest (a checkpoint written before
/// manifests has none and is not checked).
fn check_manifest(dir: &Path) -> Result<(), ConfigError> {
    let path = dir.join(MANIFEST);
    let bad = |message: String| ConfigError::Checkpoint { path: dir.display().to_string(), message };
    let Ok(text) = fs::read_to_string(&path) else {
        return if path.exists() { Err(bad(format!("{MANIFEST} cannot be read"))) } else { Ok(()) };
    };
    let manifest: Value = serde_json::from_str(&text).map_err(|e| bad(format!("{MANIFEST}: {e}")))?;
    let files = manifest["files"].as_object().ok_or_else(|| bad(format!("{MANIFEST} lists no files")))?;
    for (name, want) in files {
        let bytes = fs::read(dir.join(name)).map_err(|e| bad(format!("{name}: {e}")))?;
        let hash = format!("{:016x}", moralgym_envs::fnv1a64(&bytes));
        if want["bytes"].as_u64() != Some(bytes.len() as u64) || want["fnv1a64"].as_str() != Some(hash.as_str()) {
            return Err(bad(format!("{name} differs from what {MANIFEST} says was written (damaged)")));
        }
    }
    Ok(())
}

/// Loads networks (and, with `full`, optimizer states, counters and multipliers) from `dir`.
pub fn load(trainer: &mut Trainer, dir: &Path, full: bool) -> Result<(), ConfigError> {
    check_manifest(dir)?;
    let names = network_names(trainer);
    for (learner, name) in trainer.learners_mut().into_iter().zip(names) {
        learner.load(&dir.join(format!("{name}.bpk")))?;
        if full {
            learner.load_optimizer(&dir.join(format!("{name}.optim.bpk")))?;
        }
    }
    for (i, lase) in trainer.lase_modules_mut() {
        lase.load(dir, &format!("agent_{i}"))?;
    }
    if full {
        let path = dir.join("trainer.json");
        let text = fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let bad = |message: String| ConfigError::Checkpoint { path: path.display().to_string(), message };
        let state = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        trainer.restore(state).map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

/// The checkpoints of `dir` whose `trainer.json` reads, newest (most updates) first.
pub fn checkpoints(dir: &Path) -> Result<Vec<(TrainerState, PathBuf)>, ConfigError> {
    let root = dir.join("checkpoints");
    let entries = fs::read_dir(&root).map_err(|e| io(&root, e))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue; // a checkpoint still being written
        }
        let Ok(text) = fs::read_to_string(path.join("trainer.json")) else { continue };
        let Ok(state) = serde_json::from_str::<TrainerState>(&text) else { continue };
        // `update_N` holds update N: a counter that says otherwise was changed after the fact.
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_prefix("update_").and_then(|n| n.parse::<usize>().ok())
            && n != state.update
        {
            eprintln!("note: checkpoint {} says it holds update {}; skipped", path.display(), state.update);
            continue;
        }
        found.push((state, path));
    }
    found.sort_by_key(|(s, _)| std::cmp::Reverse(s.update));
    Ok(found)
}

/// Loads the newest checkpoint of `dir` that reads whole (one cut short by a kill is skipped,
/// and that is said on stderr), returning its counters.
fn load_latest(trainer: &mut Trainer, dir: &Path, full: bool) -> Result<TrainerState, ConfigError> {
    let found = checkpoints(dir)?;
    let mut last_error = None;
    for (state, path) in found {
        match load(trainer, &path, full) {
            Ok(()) => return Ok(state),
            Err(e) => {
                eprintln!("note: checkpoint {} cannot be read ({e}); trying an older one", path.display());
                last_error = Some(e);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| ConfigError::Checkpoint {
        path: dir.join("checkpoints").display().to_string(),
        message: "no checkpoint in it".into(),
    }))
}
