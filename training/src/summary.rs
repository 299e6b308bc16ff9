//! What an evaluation measured, typed: [`EvalSummary`] (means and spreads over seeded episodes)
//! and [`EvalFile`] (what `eval.json` holds: the summary and every episode). Runs, sweeps, the
//! CLI and the Python bindings read these types; the JSON is written from them.

use std::collections::BTreeMap;
use std::path::Path;

use moralgym_envs::{EpisodeReport, per_agent_mean};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;

/// A mean and a (population) standard deviation over episodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
}

impl MeanStd {
    /// Of `xs` (0 and 0 for none).
    pub fn of(xs: &[f64]) -> Self {
        let n = xs.len().max(1) as f64;
        let mean = xs.iter().sum::<f64>() / n;
        Self { mean, std: (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt() }
    }
}

/// Means of the social outcome metrics; equality and sustainability over the episodes where
/// they are defined (`*_episodes` says how many).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SocialSummary {
    /// Mean collective return.
    pub collective_return: Option<f64>,
    /// Mean efficiency.
    pub efficiency: Option<f64>,
    /// Episodes where equality is defined.
    pub equality_episodes: usize,
    /// Mean equality over them.
    pub equality: Option<f64>,
    /// Episodes where sustainability is defined.
    pub sustainability_episodes: usize,
    /// Mean sustainability over them.
    pub sustainability: Option<f64>,
    /// Mean peace.
    pub peace: Option<f64>,
}

/// Summary statistics of seeded evaluation episodes: the `summary` of `eval.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Episodes played.
    pub episodes: usize,
    /// Return per agent (mean over agents), over episodes.
    #[serde(rename = "return")]
    pub ret: MeanStd,
    /// Each agent's return.
    pub return_per_agent: Vec<MeanStd>,
    /// Return in task reward alone (per agent), where the env shapes its reward.
    pub task_return: Option<MeanStd>,
    /// Collective return (sum over agents).
    pub collective_return: MeanStd,
    /// Each cost component per agent per episode ([`moralgym_envs::per_agent_mean`]).
    pub cost_per_agent: BTreeMap<String, MeanStd>,
    /// Each cost component's mean episode total of each agent.
    pub cost_by_agent: BTreeMap<String, Vec<f64>>,
    /// Social outcome metrics.
    pub social: SocialSummary,
    /// Means of the env's own numeric metrics (e.g. `cooperation_rate`).
    pub env_metrics: Map<String, Value>,
    /// Mean and spread of the episode length.
    pub length: MeanStd,
    /// Whether the policy acted greedily (trained policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greedy: Option<bool>,
    /// Seed of the episodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The named policy evaluated (when not the trained one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl EvalSummary {
    /// Summary statistics of `reports`.
    pub fn of(reports: &[EpisodeReport]) -> Self {
        let agents = reports.first().map_or(0, EpisodeReport::num_agents);
        let everyone: Vec<usize> = (0..agents).collect();
        let over = |f: &dyn Fn(&EpisodeReport) -> f64| MeanStd::of(&reports.iter().map(f).collect::<Vec<_>>());
        let names: Vec<String> =
            reports.first().map(|r| r.costs_per_agent.keys().cloned().collect()).unwrap_or_default();
        let n = reports.len().max(1) as f64;
        Self {
            episodes: reports.len(),
            ret: over(&|r| r.mean_return(&everyone)),
            return_per_agent: (0..agents).map(|i| over(&|r| r.returns[i])).collect(),
            task_return: reports
                .iter()
                .all(|r| r.task_returns.is_some())
                .then(|| over(&|r| r.task_returns.as_ref().map_or(0.0, |t| per_agent_mean(&everyone, |a| t[a])))),
            collective_return: over(&|r| r.social.collective_return),
            cost_per_agent: names.iter().map(|c| (c.clone(), over(&|r| r.cost(c, &everyone)))).collect(),
            cost_by_agent: names
                .iter()
                .map(|c| {
                    let means = (0..agents).map(|i| reports.iter().map(|r| r.costs_per_agent[c][i]).sum::<f64>() / n);
                    (c.clone(), means.collect())
                })
                .collect(),
            social: social_summary(reports),
            env_metrics: env_metrics_summary(reports),
            length: over(&|r| r.length as f64),
            greedy: None,
            seed: None,
            policy: None,
        }
    }
}

fn social_summary(reports: &[EpisodeReport]) -> SocialSummary {
    let mean = |xs: Vec<f64>| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let equality: Vec<f64> = reports.iter().filter_map(|r| r.social.equality).collect();
    let sustainability: Vec<f64> = reports.iter().filter_map(|r| r.social.sustainability).collect();
    SocialSummary {
        collective_return: mean(reports.iter().map(|r| r.social.collective_return).collect()),
        efficiency: mean(reports.iter().map(|r| r.social.efficiency).collect()),
        equality_episodes: equality.len(),
        equality: mean(equality),
        sustainability_episodes: sustainability.len(),
        sustainability: mean(sustainability),
        peace: mean(reports.iter().map(|r| r.social.peace).collect()),
    }
}

/// Means of the env's own numeric episode metrics, where every episode has them.
fn env_metrics_summary(reports: &[EpisodeReport]) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(first) = reports.first() {
        for key in first.env_metrics.keys() {
            let xs: Vec<f64> = reports.iter().filter_map(|r| r.env_metrics.get(key).and_then(Value::as_f64)).collect();
            if xs.len() == reports.len() {
                out.insert(key.clone(), serde_json::json!(xs.iter().sum::<f64>() / xs.len() as f64));
            }
        }
    }
    out
}

/// What `eval.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalFile {
    /// The summary.
    pub summary: EvalSummary,
    /// Every episode.
    pub episodes: Vec<EpisodeReport>,
}

impl EvalFile {
    /// Writes `path` (keys sorted, as every moralgym JSON output).
    pub fn write(&self, path: &Path) -> Result<(), ConfigError> {
        crate::lock::write_json(path, self)
    }

    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Io { path: name.clone(), message: e.to_string() })?;
        serde_json::from_str(&text)
            .map_err(|e| ConfigError::Io { path: name, message: format!("not an eval.json: {e}") })
    }
}
