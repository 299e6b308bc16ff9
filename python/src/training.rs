//! The trainer and the sweep planner behind `moralgym.train` and `moralgym.ray`: configs and
//! results cross as JSON; training releases the interpreter lock.

use std::path::{Path, PathBuf};

use moralgym_training::sweep::{self, SweepConfig};
use moralgym_training::{RunConfig, apply_sets, load_with_sets, train_with};
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::{err, parse};

/// A config table from a TOML file (`is_path`) or JSON text, with `key=value` overrides applied.
fn table(source: &str, is_path: bool, overrides: &[String]) -> PyResult<Value> {
    if is_path {
        return load_with_sets(Path::new(source), overrides).map_err(err);
    }
    let mut table = parse(source)?;
    apply_sets(&mut table, overrides).map_err(err)?;
    Ok(table)
}

/// Plays `episodes` seeded episodes of `env_id` with the named policy (random, scripted, or a
/// language model: `llm`, `llm_ethical`, `llm_cot`, `llm_ethical_cot`, reaching its model as
/// `llm_json`, an `LlmConfig` table, says) and returns the episode reports as JSON. The
/// interpreter lock is released while it plays.
#[pyfunction]
#[pyo3(signature = (env_id, config_json, policy, episodes, seed, llm_json=None))]
pub fn rollout(
    py: Python<'_>,
    env_id: &str,
    config_json: &str,
    policy: &str,
    episodes: usize,
    seed: u64,
    llm_json: Option<&str>,
) -> PyResult<String> {
    let config = parse(config_json)?;
    let options = match llm_json {
        Some(text) if moralgym_agents::is_llm(policy) => {
            let llm: moralgym_agents::llm::LlmConfig =
                serde_json::from_value(parse(text)?).map_err(|e| err(format!("invalid llm settings: {e}")))?;
            moralgym_agents::PolicyOptions::with_llm(&llm).map_err(err)?
        }
        _ => moralgym_agents::PolicyOptions::default(),
    };
    let reports = py
        .detach(|| moralgym_training::rollout_with(env_id, &config, policy, episodes, seed, &options))
        .map_err(err)?;
    serde_json::to_string(&reports).map_err(err)
}

/// Trains a run config and returns the run's result as JSON (`out_dir`, `updates`,
/// `global_step`, `eval`). `on_iteration(json)` is called after every update, with the lock held
/// only for the call; an exception it raises stops the run and is raised here.
#[pyfunction]
#[pyo3(signature = (source, is_path, overrides, out_dir=None, quiet=true, on_iteration=None))]
pub fn train(
    py: Python<'_>,
    source: &str,
    is_path: bool,
    overrides: Vec<String>,
    out_dir: Option<PathBuf>,
    quiet: bool,
    on_iteration: Option<Py<PyAny>>,
) -> PyResult<String> {
    let mut config = RunConfig::from_table(table(source, is_path, &overrides)?).map_err(err)?;
    if let Some(dir) = out_dir {
        config.out_dir = dir;
    }
    let mut raised: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut hook = |it: &moralgym_agents::Iteration| -> Result<(), String> {
            let Some(f) = &on_iteration else { return Ok(()) };
            let line = serde_json::to_string(it).map_err(|e| e.to_string())?;
            Python::attach(|py| f.call1(py, (line,)).map(|_| ())).map_err(|e| {
                let message = format!("on_iteration raised: {e}");
                raised = Some(e);
                message
            })
        };
        train_with(&config, quiet, &mut hook)
    });
    if let Some(e) = raised {
        return Err(e);
    }
    let result = result.map_err(err)?;
    serde_json::to_string(&json!({
        "out_dir": result.out_dir, "updates": result.updates, "global_step": result.global_step, "eval": result.eval,
    }))
    .map_err(err)
}

/// Reads a sweep config (TOML path or JSON text, overrides applied, `out_dir` replaced).
fn sweep_config(source: &str, is_path: bool, overrides: &[String], out_dir: Option<PathBuf>) -> PyResult<SweepConfig> {
    let mut config: SweepConfig = serde_json::from_value(table(source, is_path, overrides)?).map_err(err)?;
    if let Some(dir) = out_dir {
        config.out_dir = dir;
    }
    Ok(config)
}

/// Runs a sweep on this machine as `moralgym sweep` does (its `parallel` points at a time,
/// finished points skipped) and returns the resolved config as JSON.
#[pyfunction]
#[pyo3(signature = (source, is_path, overrides, out_dir=None, quiet=true))]
pub fn sweep_run(
    py: Python<'_>,
    source: &str,
    is_path: bool,
    overrides: Vec<String>,
    out_dir: Option<PathBuf>,
    quiet: bool,
) -> PyResult<String> {
    let config = sweep_config(source, is_path, &overrides, out_dir)?;
    py.detach(|| sweep::run_sweep(&config, 0, 1, quiet)).map_err(err)?;
    serde_json::to_string(&config).map_err(err)
}

/// A sweep's resolved config, objective agents and every grid point (index, overrides, run config,
/// run directory, identity stamp, whether it is already finished), as JSON.
#[pyfunction]
#[pyo3(signature = (source, is_path, overrides, out_dir=None))]
pub fn sweep_plan(source: &str, is_path: bool, overrides: Vec<String>, out_dir: Option<PathBuf>) -> PyResult<String> {
    let config = sweep_config(source, is_path, &overrides, out_dir)?;
    let points: Vec<Value> = config
        .plan()
        .map_err(err)?
        .iter()
        .map(|p| {
            json!({
                "index": p.index, "overrides": p.overrides, "run_config": p.run, "run_dir": p.dir,
                "identity": p.identity, "finished": p.finished(),
            })
        })
        .collect();
    let agents = config.agents().map_err(err)?;
    serde_json::to_string(&json!({"config": config, "agents": agents, "points": points})).map_err(err)
}

/// Writes a sweep's outputs (points, front, hypervolume, plots) from the points finished in its
/// `out_dir`, exactly as `moralgym sweep` does.
#[pyfunction]
pub fn sweep_collect(py: Python<'_>, config_json: &str) -> PyResult<()> {
    let config: SweepConfig = serde_json::from_str(config_json).map_err(err)?;
    py.detach(|| sweep::collect(&config)).map_err(err)?;
    Ok(())
}
