//! The `moralgym._moralgym` extension: moralgym's Rust environments and vector layer behind a
//! small raw interface that the Python package wraps in Gymnasium and PettingZoo classes.
//! Stepping releases the interpreter lock; batched results are copied once per buffer.

use std::sync::Mutex;

use moralgym_envs::{ParallelEnv, StepBuf, VecEnv, make, registry};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::Value;

mod training;

create_exception!(_moralgym, MoralgymError, PyValueError, "An error from moralgym's Rust core.");

fn err(e: impl std::fmt::Display) -> PyErr {
    MoralgymError::new_err(e.to_string())
}

fn parse(config_json: &str) -> PyResult<Value> {
    serde_json::from_str(config_json).map_err(|e| err(format!("config is not JSON: {e}")))
}

/// Registered environment ids.
#[pyfunction]
fn env_ids() -> Vec<String> {
    registry::ids().into_iter().map(String::from).collect()
}

/// The family of a registered id (`matrix`, `grid`, `survival`, `text`).
#[pyfunction]
fn env_family(env_id: &str) -> PyResult<String> {
    Ok(registry::lookup(env_id).map_err(err)?.family.to_string())
}

/// The full config `make` would use (JSON), defaults merged under the overrides.
#[pyfunction]
fn resolve_config(env_id: &str, config_json: &str) -> PyResult<String> {
    let resolved = registry::resolve_config(env_id, &parse(config_json)?).map_err(err)?;
    Ok(resolved.to_string())
}

/// One environment (any number of agents).
#[pyclass(module = "moralgym._moralgym")]
struct RawEnv {
    env: Mutex<Box<dyn ParallelEnv>>,
    spec_json: String,
    agents: usize,
    obs_dim: usize,
    costs: usize,
}

type StepOut<'py> = (
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Vec<bool>,
    Vec<bool>,
    Vec<String>,
    Option<Vec<f32>>,
    String,
);

impl RawEnv {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, Box<dyn ParallelEnv>>> {
        self.env.lock().map_err(|_| err("the environment was poisoned by an earlier panic"))
    }
}

#[pymethods]
impl RawEnv {
    #[new]
    fn new(env_id: &str, config_json: &str) -> PyResult<Self> {
        let env = make(env_id, &parse(config_json)?).map_err(err)?;
        let spec = env.spec().clone();
        let spec_json = serde_json::to_string(&spec).map_err(err)?;
        Ok(Self {
            agents: spec.num_agents,
            obs_dim: spec.obs_dim(),
            costs: spec.num_costs(),
            spec_json,
            env: Mutex::new(env),
        })
    }

    /// The spec as JSON.
    fn spec_json(&self) -> String {
        self.spec_json.clone()
    }

    /// Starts an episode; returns observations `[agents * obs_dim]`.
    #[pyo3(signature = (seed=None))]
    fn reset<'py>(&self, py: Python<'py>, seed: Option<u64>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let mut obs = vec![0.0f32; self.agents * self.obs_dim];
        self.lock()?.reset_into(seed, &mut obs).map_err(err)?;
        Ok(PyArray1::from_vec(py, obs))
    }

    /// One step with one action per agent: (obs, rewards, costs, terminated, truncated, events,
    /// task_rewards, info as JSON).
    fn step<'py>(&self, py: Python<'py>, actions: Vec<i64>) -> PyResult<StepOut<'py>> {
        let actions: Vec<u32> = actions
            .iter()
            .map(|&a| u32::try_from(a).map_err(|_| err(format!("illegal action {a}: actions are >= 0"))))
            .collect::<PyResult<_>>()?;
        let n = self.agents;
        let (mut obs, mut rewards, mut costs) =
            (vec![0.0f32; n * self.obs_dim], vec![0.0f32; n], vec![0.0f32; n * self.costs]);
        let (mut terminated, mut truncated) = (vec![false; n], vec![false; n]);
        let mut env = self.lock()?;
        env.step_into(
            &actions,
            StepBuf {
                obs: &mut obs,
                rewards: &mut rewards,
                costs: &mut costs,
                terminated: &mut terminated,
                truncated: &mut truncated,
            },
        )
        .map_err(err)?;
        let events = env.events().iter().map(|e| e.to_string()).collect();
        let task = env.task_rewards().map(<[f32]>::to_vec);
        let mut info = serde_json::Map::new();
        env.step_info(&mut info);
        Ok((
            PyArray1::from_vec(py, obs),
            PyArray1::from_vec(py, rewards),
            PyArray1::from_vec(py, costs),
            terminated,
            truncated,
            events,
            task,
            Value::Object(info).to_string(),
        ))
    }

    /// Legal actions of `agent` now.
    fn action_mask<'py>(&self, py: Python<'py>, agent: usize) -> PyResult<Bound<'py, PyArray1<bool>>> {
        if agent >= self.agents {
            return Err(err(format!("agent {agent} does not exist; the env has {} agents", self.agents)));
        }
        let env = self.lock()?;
        let mut mask = vec![true; env.spec().num_actions()];
        env.action_mask(agent, &mut mask);
        Ok(PyArray1::from_vec(py, mask))
    }

    /// Whether `action` is legal for `agent` now.
    fn is_legal(&self, agent: usize, action: i64) -> PyResult<bool> {
        let env = self.lock()?;
        Ok(agent < self.agents
            && action >= 0
            && (action as usize) < env.spec().num_actions()
            && env.is_legal(agent, action as u32))
    }

    /// The action that plays the typed `command` for `agent` now (text games: an offered
    /// choice's words; parser games: any command, added to the offered list).
    fn offer_command(&self, agent: usize, command: &str) -> PyResult<u32> {
        let mut env = self.lock()?;
        if agent >= env.spec().num_agents {
            return Err(err(format!("agent {agent} does not exist ({} agents)", env.spec().num_agents)));
        }
        env.offer_command(agent, command).map_err(err)
    }

    /// The command the game's own walkthrough plays at this step (parser games), else None.
    fn walkthrough_command(&self, agent: usize) -> PyResult<Option<String>> {
        Ok(self.lock()?.walkthrough_command(agent))
    }

    /// For text games, (narration, choices) that agent 0 reads now; None otherwise.
    fn text(&self) -> PyResult<Option<(String, Vec<String>)>> {
        Ok(self.lock()?.text(0).map(|v| (v.narration, v.choices)))
    }

    /// What `agent` is told once per episode, in words (the text language-model agents read).
    fn text_rules(&self, agent: usize) -> PyResult<String> {
        let env = self.lock()?;
        if agent >= env.spec().num_agents {
            return Err(err(format!("agent {agent} does not exist ({} agents)", env.spec().num_agents)));
        }
        Ok(env.text_rules(agent))
    }

    /// What `agent` sees now in words, and its legal actions: (situation, [(action, what it does)]).
    fn text_observation(&self, agent: usize) -> PyResult<(String, Vec<(u32, String)>)> {
        let env = self.lock()?;
        if agent >= env.spec().num_agents {
            return Err(err(format!("agent {agent} does not exist ({} agents)", env.spec().num_agents)));
        }
        let o = env.text_observation(agent);
        Ok((o.situation, o.actions))
    }

    /// A text picture of the state.
    fn render(&self) -> PyResult<String> {
        Ok(self.lock()?.render())
    }

    /// The env's own metrics of the current episode (JSON).
    fn episode_metrics(&self) -> PyResult<String> {
        let mut m = serde_json::Map::new();
        self.lock()?.episode_metrics(&mut m);
        Ok(Value::Object(m).to_string())
    }
}

/// N copies stepped in Rust into flat buffers, with same-step auto-reset.
#[pyclass(module = "moralgym._moralgym")]
struct RawVecEnv {
    venv: Mutex<VecEnv>,
    spec_json: String,
}

type VecStepOut<'py> = (
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<f32>>,
);

#[pymethods]
impl RawVecEnv {
    #[new]
    fn new(env_id: &str, config_json: &str, num_envs: usize, threads: usize) -> PyResult<Self> {
        let venv = VecEnv::make(env_id, &parse(config_json)?, num_envs, threads).map_err(err)?;
        let spec_json = serde_json::to_string(venv.spec()).map_err(err)?;
        Ok(Self { venv: Mutex::new(venv), spec_json })
    }

    /// The spec as JSON.
    fn spec_json(&self) -> String {
        self.spec_json.clone()
    }

    /// Resets every copy (copy i gets derive_seed(seed, i)); returns obs `[N * agents * obs_dim]`.
    fn reset<'py>(&self, py: Python<'py>, seed: u64) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let mut v = self.venv.lock().map_err(|_| err("poisoned"))?;
        v.reset(seed);
        Ok(PyArray1::from_slice(py, v.obs()))
    }

    /// Steps every copy with `actions [N * agents]` (the interpreter lock is released meanwhile):
    /// (obs, rewards, costs, terminated, truncated, done, final_obs), all flat.
    fn step<'py>(&self, py: Python<'py>, actions: PyReadonlyArray1<'py, i64>) -> PyResult<VecStepOut<'py>> {
        let actions: Vec<u32> = actions
            .as_slice()
            .map_err(err)?
            .iter()
            .map(|&a| u32::try_from(a).map_err(|_| err(format!("illegal action {a}: actions are >= 0"))))
            .collect::<PyResult<_>>()?;
        let mut v = self.venv.lock().map_err(|_| err("poisoned"))?;
        let venv: &mut VecEnv = &mut v;
        py.detach(|| venv.step(&actions)).map_err(err)?;
        Ok((
            PyArray1::from_slice(py, v.obs()),
            PyArray1::from_slice(py, v.rewards()),
            PyArray1::from_slice(py, v.costs()),
            PyArray1::from_slice(py, v.terminated()),
            PyArray1::from_slice(py, v.truncated()),
            PyArray1::from_slice(py, v.done()),
            PyArray1::from_slice(py, v.final_obs()),
        ))
    }

    /// Legal actions of `agent` in copy `index` now.
    fn action_mask<'py>(&self, py: Python<'py>, index: usize, agent: usize) -> PyResult<Bound<'py, PyArray1<bool>>> {
        let v = self.venv.lock().map_err(|_| err("poisoned"))?;
        let env = v.env(index).ok_or_else(|| err(format!("copy {index} does not exist")))?;
        if agent >= env.spec().num_agents {
            return Err(err(format!("agent {agent} does not exist")));
        }
        let mut mask = vec![true; env.spec().num_actions()];
        env.action_mask(agent, &mut mask);
        Ok(PyArray1::from_vec(py, mask))
    }
}

/// The seed of copy `index` of a vector env reset with `base` (as the Rust vector layer derives it).
#[pyfunction]
fn derive_seed(base: u64, index: u64) -> u64 {
    moralgym_envs::derive_seed(base, index)
}

#[pymodule]
fn _moralgym(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MoralgymError", m.py().get_type::<MoralgymError>())?;
    m.add_function(wrap_pyfunction!(env_ids, m)?)?;
    m.add_function(wrap_pyfunction!(env_family, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_config, m)?)?;
    m.add_function(wrap_pyfunction!(derive_seed, m)?)?;
    m.add_function(wrap_pyfunction!(training::train, m)?)?;
    m.add_function(wrap_pyfunction!(training::rollout, m)?)?;
    m.add_function(wrap_pyfunction!(training::sweep_run, m)?)?;
    m.add_function(wrap_pyfunction!(training::sweep_plan, m)?)?;
    m.add_function(wrap_pyfunction!(training::sweep_collect, m)?)?;
    m.add_class::<RawEnv>()?;
    m.add_class::<RawVecEnv>()?;
    Ok(())
}
