//! Sweeps: a base run config and a grid of overrides (cost weights, limits, seeds, agents); every
//! point is trained and evaluated, in parallel on this machine's cores, and the non-dominated
//! policies form the reward-ethics front. Sharding and merging spread a sweep over machines;
//! re-running skips finished points.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ConfigError;
use crate::lock::write_json;
use crate::overrides::apply_set;
use crate::pareto::{Point, hypervolume, non_dominated};
use crate::plot::{Dot, png, svg};
use crate::rollout::rollout_with;
use crate::run::{RunConfig, train};
use crate::summary::EvalFile;
use moralgym_agents::PolicyOptions;

/// A sweep file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// The run every point starts from (the keys of `moralgym train`).
    pub base: Value,
    /// Dotted run-config keys and the values to try; the grid is their product.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<Value>>,
    /// Points trained at once.
    #[serde(default = "one")]
    pub parallel: usize,
    /// Policies evaluated as baselines and marked on the plot (names from `moralgym_agents::POLICIES`).
    #[serde(default = "baselines")]
    pub baselines: Vec<String>,
    /// Where the points and the front go.
    pub out_dir: PathBuf,
    /// How language-model baselines (`llm`, `llm_ethical`, ...) reach their model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<moralgym_agents::llm::LlmConfig>,
}

fn one() -> usize {
    1
}
fn baselines() -> Vec<String> {
    vec!["random".into()]
}

/// One finished point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Index in the grid.
    pub index: usize,
    /// The overrides of this point.
    pub overrides: BTreeMap<String, Value>,
    /// Mean episode return of the objective agents (the base's `learners`, or all).
    pub ret: f64,
    /// Its standard error.
    pub ret_se: f64,
    /// Mean episode cost of the objective agents, per component.
    pub costs: BTreeMap<String, f64>,
    /// Their standard errors.
    pub costs_se: BTreeMap<String, f64>,
    /// The point's run directory.
    pub run_dir: PathBuf,
}

impl SweepConfig {
    /// Checks the sweep's own keys: at least one point trained at a time, every grid key with values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.parallel == 0 {
            return Err(ConfigError::Sweep { message: "`parallel` must be at least 1".into() });
        }
        if let Some((key, _)) = self.grid.iter().find(|(_, values)| values.is_empty()) {
            return Err(ConfigError::Sweep {
                message: format!("`grid.\"{key}\"` has no values: the grid would be empty"),
            });
        }
        // A front compares policies on one game: points of two envs (or env configs) on one front,
        // or two points writing one folder, would mislead.
        let changes_the_game = |key: &str| key == "env" || key == "env_config" || key.starts_with("env_config.");
        if let Some(key) = self.grid.keys().find(|k| changes_the_game(k) || *k == "out_dir") {
            return Err(ConfigError::Sweep {
                message: format!(
                    "`grid.\"{key}\"` cannot vary in a sweep: {}",
                    if key == "out_dir" {
                        "every point has its own folder under the sweep's out_dir already"
                    } else {
                        "a front compares policies on one game, so run one sweep per env or env config"
                    }
                ),
            });
        }
        Ok(())
    }

    /// Every grid point's overrides, in a fixed order (keys sorted, last key fastest).
    pub fn points(&self) -> Vec<BTreeMap<String, Value>> {
        let mut out = vec![BTreeMap::new()];
        for (key, values) in &self.grid {
            out = out
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.insert(key.clone(), v.clone());
                        q
                    })
                })
                .collect();
        }
        out
    }

    /// The agents whose return and costs are the objectives: the base config's `learners`, or all.
    pub fn agents(&self) -> Result<Vec<usize>, ConfigError> {
        let base = RunConfig::from_table(self.base.clone())?;
        let n = moralgym_envs::make(&base.env, &base.env_config)?.spec().num_agents;
        Ok(base.trainer.learners.unwrap_or_else(|| (0..n).collect()))
    }

    /// Every grid point with its run config and directory (`out_dir/points/NNNN`).
    pub fn plan(&self) -> Result<Vec<Planned>, ConfigError> {
        self.points()
            .into_iter()
            .enumerate()
            .map(|(index, overrides)| {
                let dir = self.out_dir.join("points").join(format!("{index:04}"));
                let run = self.run_config(&overrides, &dir)?;
                let identity = serde_json::to_string(&run).map_err(|e| ConfigError::Write {
                    path: dir.join("point.json").display().to_string(),
                    message: e.to_string(),
                })?;
                Ok(Planned { index, overrides, run, identity, dir })
            })
            .collect()
    }

    fn run_config(&self, overrides: &BTreeMap<String, Value>, dir: &Path) -> Result<RunConfig, ConfigError> {
        let mut table = self.base.clone();
        for (k, v) in overrides {
            apply_set(&mut table, &format!("{k}={}", toml_value(v)))?;
        }
        table["out_dir"] = json!(dir);
        RunConfig::from_table(table)
    }
}

/// One grid point, ready to train.
#[derive(Clone, Debug, Serialize)]
pub struct Planned {
    /// Index in the grid.
    pub index: usize,
    /// Its overrides of the base run.
    pub overrides: BTreeMap<String, Value>,
    /// The run config it trains (its `out_dir` is `dir`).
    pub run: RunConfig,
    /// The run config serialised: what `point.json` holds once the point is finished.
    pub identity: String,
    /// The point's run directory.
    pub dir: PathBuf,
}

impl Planned {
    /// Whether `dir` holds an evaluation of this very run config (a changed grid or base makes
    /// the point unfinished again).
    pub fn finished(&self) -> bool {
        self.dir.join("eval.json").exists()
            && fs::read_to_string(self.dir.join("point.json")).is_ok_and(|s| s == self.identity)
    }

    /// Marks the point finished (after its run wrote `eval.json` into `dir`).
    pub fn mark_finished(&self) -> Result<(), ConfigError> {
        let stamp = self.dir.join("point.json");
        crate::lock::write_file(&stamp, &self.identity)
    }
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn se(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / n;
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() / n.sqrt()
}

fn point_from_eval(
    index: usize,
    overrides: BTreeMap<String, Value>,
    run_dir: PathBuf,
    agents: &[usize],
) -> Result<PointResult, ConfigError> {
    let episodes = EvalFile::read(&run_dir.join("eval.json"))?.episodes;
    let returns: Vec<f64> = episodes.iter().map(|ep| ep.mean_return(agents)).collect();
    let mut costs = BTreeMap::new();
    let mut costs_se = BTreeMap::new();
    if let Some(first) = episodes.first() {
        for name in first.costs_per_agent.keys() {
            let xs: Vec<f64> = episodes.iter().map(|ep| ep.cost(name, agents)).collect();
            costs.insert(name.clone(), xs.iter().sum::<f64>() / xs.len().max(1) as f64);
            costs_se.insert(name.clone(), se(&xs));
        }
    }
    Ok(PointResult {
        index,
        overrides,
        ret: returns.iter().sum::<f64>() / returns.len().max(1) as f64,
        ret_se: se(&returns),
        costs,
        costs_se,
        run_dir,
    })
}

/// What [`run_sweep`] returns: the points it ran, and the front of the points this directory
/// holds (as written to `front.json`).
#[derive(Clone, Debug)]
pub struct Swept {
    /// The points of the shard, by index.
    pub points: Vec<PointResult>,
    /// Their reward-ethics front.
    pub front: Front,
}

/// Runs the points of `config` that belong to shard `shard` of `shards` (`0` of `1`: all),
/// skipping points already finished, and writes the outputs for the points this directory holds.
pub fn run_sweep(config: &SweepConfig, shard: usize, shards: usize, quiet: bool) -> Result<Swept, ConfigError> {
    config.validate()?;
    if shards == 0 || shard >= shards {
        return Err(ConfigError::Usage { message: format!("shard {shard}/{shards}: need 0 <= I < N") });
    }
    let points: Vec<Planned> = config.plan()?.into_iter().filter(|p| p.index % shards == shard).collect();
    let agents = config.agents()?;
    let line = crate::progress::Progress::new("sweep point", points.len(), quiet);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let queue = Mutex::new(points.into_iter());
    let results = Mutex::new(Vec::new());
    let failure: Mutex<Option<ConfigError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..config.parallel.max(1) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.next());
                    let Some(p) = next else { return };
                    let trained =
                        if p.finished() { Ok(()) } else { train(&p.run, true).and_then(|_| p.mark_finished()) };
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    line.tick(
                        n,
                        &format!("point {} {}", p.index, serde_json::to_string(&p.overrides).unwrap_or_default()),
                    );
                    let outcome = trained.and_then(|_| point_from_eval(p.index, p.overrides, p.dir, &agents));
                    match outcome {
                        Ok(p) => results.lock().expect("no panics hold this lock").push(p),
                        Err(e) => {
                            failure.lock().expect("no panics hold this lock").get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    line.finish();
    if let Some(e) = failure.into_inner().expect("threads joined") {
        return Err(e);
    }
    let mut points = results.into_inner().expect("threads joined");
    points.sort_by_key(|p| p.index);
    let front = write_outputs(config, &points)?;
    Ok(Swept { points, front })
}

/// Writes `config`'s outputs from the points finished in its `out_dir` (trained there by any
/// means: this machine, or Ray trials whose run directories were copied back), and returns them.
pub fn collect(config: &SweepConfig) -> Result<Vec<PointResult>, ConfigError> {
    let agents = config.agents()?;
    let results = config
        .plan()?
        .into_iter()
        .filter(Planned::finished)
        .map(|p| point_from_eval(p.index, p.overrides, p.dir, &agents))
        .collect::<Result<Vec<_>, _>>()?;
    write_outputs(config, &results)?;
    Ok(results)
}

/// Joins the finished points of several sweep directories (shards of one sweep) into `config`'s
/// outputs, as if one machine had run them all. Refused when a shard ran another sweep (its
/// `sweep.json` has another base or grid) or when points of the grid are missing (they are named).
pub fn merge(config: &SweepConfig, dirs: &[PathBuf]) -> Result<Vec<PointResult>, ConfigError> {
    // Merging into a shard would overwrite the shard's own outputs with the merged ones.
    if let Ok(out) = config.out_dir.canonicalize()
        && let Some(shard) = dirs.iter().find(|d| d.canonicalize().is_ok_and(|d| d == out))
    {
        return Err(ConfigError::Sweep {
            message: format!("--out names the shard {}: merge into a folder of its own", shard.display()),
        });
    }
    let agents = config.agents()?;
    let mut by_index: BTreeMap<usize, PointResult> = BTreeMap::new();
    for dir in dirs {
        let shard = config_of(dir)?;
        if shard.base != config.base || shard.grid != config.grid {
            return Err(ConfigError::Sweep {
                message: format!(
                    "{} holds a shard of another sweep (its sweep.json has another base or grid than {}); merge shards of one sweep only",
                    dir.display(),
                    dirs.first().map_or_else(String::new, |d| d.display().to_string())
                ),
            });
        }
        let path = dir.join("points.json");
        let text = fs::read_to_string(&path)
            .map_err(|e| ConfigError::Io { path: path.display().to_string(), message: e.to_string() })?;
        let points: Vec<PointResult> = serde_json::from_str(&text)
            .map_err(|e| ConfigError::Sweep { message: format!("{}: {e}", path.display()) })?;
        for p in points {
            // Each point is read again from its run's evaluation, so a point whose run folder
            // was moved, removed or garbled is found here, not in the merged front.
            let again = point_from_eval(p.index, p.overrides.clone(), p.run_dir.clone(), &agents)
                .map_err(|e| ConfigError::Sweep { message: format!("{}: point {}: {e}", path.display(), p.index) })?;
            if again != p {
                return Err(ConfigError::Sweep {
                    message: format!(
                        "{}: point {} does not match the evaluation in {} (the run was changed after the sweep)",
                        path.display(),
                        p.index,
                        p.run_dir.join("eval.json").display()
                    ),
                });
            }
            by_index.entry(p.index).or_insert(p);
        }
    }
    let missing: Vec<String> =
        (0..config.points().len()).filter(|i| !by_index.contains_key(i)).map(|i| i.to_string()).collect();
    if !missing.is_empty() {
        return Err(ConfigError::Sweep {
            message: format!(
                "the shards hold {} of the sweep's {} points; missing: {} (run their shards, then merge again)",
                by_index.len(),
                config.points().len(),
                missing.join(", ")
            ),
        });
    }
    let results: Vec<PointResult> = by_index.into_values().collect();
    write_outputs(config, &results)?;
    Ok(results)
}

fn io(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Io { path: path.display().to_string(), message: e.to_string() }
}

/// A policy evaluated beside the sweep's points (random, scripted, a language model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Its name.
    pub policy: String,
    /// Mean episode return of the objective agents.
    #[serde(rename = "return")]
    pub ret: f64,
    /// Mean episode cost per objective agent, per component.
    pub costs: BTreeMap<String, f64>,
}

/// The hypervolume's reference point: the worst return and costs that count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// Return.
    #[serde(rename = "return")]
    pub ret: f64,
    /// Cost per component.
    pub costs: BTreeMap<String, f64>,
}

/// A sweep's reward-ethics front: what `front.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Front {
    /// The env.
    pub env: String,
    /// The agents whose return and costs are the objectives.
    pub agents: Vec<usize>,
    /// The objectives, in order: return (maximised), then each cost (minimised).
    pub objectives: Vec<String>,
    /// The hypervolume's reference point.
    pub reference: Reference,
    /// Hypervolume of the front above the reference.
    pub hypervolume: f64,
    /// The non-dominated points.
    pub points: Vec<PointResult>,
    /// The baseline policies.
    pub baselines: Vec<Baseline>,
}

impl Front {
    /// Reads the `front.json` of the sweep directory `dir`.
    pub fn read(dir: &Path) -> Result<Self, ConfigError> {
        let path = dir.join("front.json");
        let text = fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| io(&path, format!("not a front.json: {e}")))
    }
}

/// Writes the tables, `front.json` and the plots of `results`; returns the front.
fn write_outputs(config: &SweepConfig, results: &[PointResult]) -> Result<Front, ConfigError> {
    let out = &config.out_dir;
    fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let base = RunConfig::from_table(config.base.clone())?;
    let spec = moralgym_envs::make(&base.env, &base.env_config)?.spec().clone();
    let names: Vec<String> = spec.cost_spec.names().iter().map(|s| s.to_string()).collect();
    let to_point = |p: &PointResult| Point {
        ret: p.ret,
        costs: names.iter().map(|n| p.costs.get(n).copied().unwrap_or(0.0)).collect(),
    };
    let pts: Vec<Point> = results.iter().map(to_point).collect();
    let on_front = non_dominated(&pts);
    let reference =
        Point { ret: spec.return_reference, costs: spec.cost_spec.components.iter().map(|c| c.reference).collect() };
    let front_points: Vec<Point> = on_front.iter().map(|&i| pts[i].clone()).collect();
    write_json(&out.join("points.json"), &results)?;
    write_json(&out.join("sweep.json"), config)?;
    write_tables(out, &names, results, &on_front)?;
    let agents = config.agents()?;
    let front = Front {
        env: base.env.clone(),
        objectives: std::iter::once("return (maximised)".to_string())
            .chain(names.iter().map(|n| format!("{n} (minimised)")))
            .collect(),
        reference: Reference {
            ret: reference.ret,
            costs: names.iter().cloned().zip(reference.costs.iter().copied()).collect(),
        },
        hypervolume: hypervolume(&front_points, &reference),
        points: on_front.iter().map(|&i| results[i].clone()).collect(),
        baselines: baselines_of(config, &base, &names, &agents)?,
        agents,
    };
    write_json(&out.join("front.json"), &front)?;
    write_plots(config, &front, &names, &pts, &on_front)?;
    Ok(front)
}

/// `points.csv` (every point, marked on the front or not) and `front.csv`.
fn write_tables(out: &Path, names: &[String], results: &[PointResult], front: &[usize]) -> Result<(), ConfigError> {
    let header = |front: bool| {
        let mut h = vec!["index".to_string(), "return".into(), "return_se".into()];
        for n in names {
            h.push(n.clone());
            h.push(format!("{n}_se"));
        }
        if !front {
            h.push("on_front".into());
        }
        h.push("overrides".into());
        h.push("run_dir".into());
        h.join(",")
    };
    let row = |p: &PointResult, on_front: Option<bool>| {
        let mut r = vec![p.index.to_string(), p.ret.to_string(), p.ret_se.to_string()];
        for n in names {
            r.push(p.costs.get(n).copied().unwrap_or(0.0).to_string());
            r.push(p.costs_se.get(n).copied().unwrap_or(0.0).to_string());
        }
        if let Some(f) = on_front {
            r.push(f.to_string());
        }
        r.push(format!("\"{}\"", serde_json::to_string(&p.overrides).unwrap_or_default().replace('"', "\"\"")));
        r.push(p.run_dir.display().to_string());
        r.join(",")
    };
    let mut csv = header(false) + "\n";
    for (i, p) in results.iter().enumerate() {
        csv += &(row(p, Some(front.contains(&i))) + "\n");
    }
    crate::lock::write_file(&out.join("points.csv"), csv)?;
    let mut front_csv = header(true) + "\n";
    for &i in front {
        front_csv += &(row(&results[i], None) + "\n");
    }
    crate::lock::write_file(&out.join("front.csv"), front_csv)
}

/// The baseline policies' mean return and costs over the base run's evaluation episodes.
fn baselines_of(
    config: &SweepConfig,
    base: &RunConfig,
    names: &[String],
    agents: &[usize],
) -> Result<Vec<Baseline>, ConfigError> {
    let options = match &config.llm {
        Some(llm) if config.baselines.iter().any(|b| moralgym_agents::is_llm(b)) => PolicyOptions::with_llm(llm)?,
        _ => PolicyOptions::default(),
    };
    let mut out = Vec::new();
    for name in &config.baselines {
        let reports =
            rollout_with(&base.env, &base.env_config, name, base.eval.episodes.max(1), base.eval.seed, &options)?;
        let n = reports.len() as f64;
        out.push(Baseline {
            policy: name.clone(),
            ret: reports.iter().map(|r| r.mean_return(agents)).sum::<f64>() / n,
            costs: names
                .iter()
                .map(|c| (c.clone(), reports.iter().map(|r| r.cost(c, agents)).sum::<f64>() / n))
                .collect(),
        });
    }
    Ok(out)
}

/// `front.svg` and `front.png`: return against the summed cost, the front and the baselines marked.
fn write_plots(
    config: &SweepConfig,
    front: &Front,
    names: &[String],
    pts: &[Point],
    on_front: &[usize],
) -> Result<(), ConfigError> {
    let out = &config.out_dir;
    let mut dots: Vec<Dot> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| Dot { x: p.costs.iter().sum(), y: p.ret, kind: on_front.contains(&i) as u8 })
        .collect();
    for b in &front.baselines {
        dots.push(Dot { x: b.costs.values().sum(), y: b.ret, kind: 2 });
    }
    let title =
        format!("{}: reward-ethics front ({} policies, hypervolume {:.1})", front.env, pts.len(), front.hypervolume);
    let x_label = format!("cost per agent per episode ({})", names.join(" + "));
    let names: Vec<&str> = config.baselines.iter().map(String::as_str).collect();
    let picture = svg(&title, &x_label, &dots, &names);
    crate::lock::write_file(&out.join("front.svg"), &picture)?;
    let png = png(&picture)
        .map_err(|message| ConfigError::Write { path: out.join("front.png").display().to_string(), message })?;
    crate::lock::write_file(&out.join("front.png"), png)
}

/// The sweep config a sweep directory was run with (its `sweep.json`).
pub fn config_of(dir: &Path) -> Result<SweepConfig, ConfigError> {
    let path = dir.join("sweep.json");
    let text = fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| ConfigError::Sweep { message: format!("{}: {e}", path.display()) })
}
