//! Per-episode accounting: returns, cost totals and the social outcome metrics of
//! Perolat et al. (2017), computed the same way for every environment.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::env::ParallelEnv;
use super::spec::EnvSpec;

/// Social outcome metrics of one episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SocialMetrics {
    /// Sum of all agents' returns.
    pub collective_return: f64,
    /// Efficiency U = collective return / episode length.
    pub efficiency: f64,
    /// Equality E = 1 - sum_ij |R_i - R_j| / (2 N sum_i R_i); `None` unless the collective return is positive.
    pub equality: Option<f64>,
    /// Sustainability S = mean over agents of the mean (1-based) step at which they got positive
    /// reward; agents that never did are left out, `None` if no agent did.
    pub sustainability: Option<f64>,
    /// Peace P = (N * T - agent-steps spent tagged out) / T.
    pub peace: f64,
}

/// Equality E of a set of returns, `None` unless their sum is positive.
pub fn equality(returns: &[f64]) -> Option<f64> {
    let sum: f64 = returns.iter().sum();
    if sum <= 0.0 {
        return None;
    }
    let n = returns.len() as f64;
    let gap: f64 = returns.iter().map(|a| returns.iter().map(|b| (a - b).abs()).sum::<f64>()).sum();
    Some(1.0 - gap / (2.0 * n * sum))
}

/// Everything measured about one finished episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeReport {
    /// Number of steps.
    pub length: usize,
    /// Return of each agent.
    pub returns: Vec<f64>,
    /// Return of each agent in task reward alone, where the env shapes its reward (else `None`).
    pub task_returns: Option<Vec<f64>>,
    /// Total of each cost component over all agents.
    pub costs: BTreeMap<String, f64>,
    /// Each cost component's total per agent.
    pub costs_per_agent: BTreeMap<String, Vec<f64>>,
    /// Social outcome metrics.
    pub social: SocialMetrics,
    /// Environment-specific metrics (e.g. `cooperation_rate`).
    pub env_metrics: Map<String, Value>,
    /// What the policy reports of the episode (a language model's requests, tokens, retries and
    /// fallbacks); empty for most policies.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub policy_stats: Map<String, Value>,
}

/// The mean over `agents` of a per-agent episode total (`total(agent)`). An episode's cost is
/// always this, per agent: in the trainer's log and its Lagrange multipliers, in `eval.json`,
/// in rollouts and in a sweep's objectives; so is a group's return.
pub fn per_agent_mean(agents: &[usize], total: impl Fn(usize) -> f64) -> f64 {
    agents.iter().map(|&a| total(a)).sum::<f64>() / agents.len().max(1) as f64
}

impl EpisodeReport {
    /// Agents in the episode.
    pub fn num_agents(&self) -> usize {
        self.returns.len()
    }

    /// The episode's cost of component `name` per agent of `agents` (see [`per_agent_mean`]);
    /// 0 for a component the env does not have.
    pub fn cost(&self, name: &str, agents: &[usize]) -> f64 {
        self.costs_per_agent.get(name).map_or(0.0, |per| per_agent_mean(agents, |a| per[a]))
    }

    /// The episode's return per agent of `agents`.
    pub fn mean_return(&self, agents: &[usize]) -> f64 {
        per_agent_mean(agents, |a| self.returns[a])
    }
}

/// Accumulates one episode step by step (no allocation per step).
#[derive(Clone, Debug)]
pub struct EpisodeTracker {
    agents: usize,
    costs_per_step: usize,
    length: usize,
    returns: Vec<f64>,
    task_returns: Option<Vec<f64>>,
    costs: Vec<f64>,
    positive_step_sum: Vec<f64>,
    positive_steps: Vec<u64>,
}

impl EpisodeTracker {
    /// A tracker for episodes of an env with this spec.
    pub fn new(spec: &EnvSpec) -> Self {
        let n = spec.num_agents;
        Self {
            agents: n,
            costs_per_step: spec.num_costs(),
            length: 0,
            returns: vec![0.0; n],
            task_returns: None,
            costs: vec![0.0; n * spec.num_costs()],
            positive_step_sum: vec![0.0; n],
            positive_steps: vec![0; n],
        }
    }

    /// Forgets the episode so far.
    pub fn reset(&mut self) {
        self.length = 0;
        self.returns.fill(0.0);
        self.task_returns = None;
        self.costs.fill(0.0);
        self.positive_step_sum.fill(0.0);
        self.positive_steps.fill(0);
    }

    /// Adds one step's rewards `[agents]` and costs `[agents * num_costs]`.
    pub fn record(&mut self, rewards: &[f32], costs: &[f32]) {
        self.length += 1;
        for (i, &r) in rewards.iter().enumerate().take(self.agents) {
            self.returns[i] += r as f64;
            if r > 0.0 {
                self.positive_step_sum[i] += self.length as f64;
                self.positive_steps[i] += 1;
            }
        }
        for (acc, &c) in self.costs.iter_mut().zip(costs) {
            *acc += c as f64;
        }
    }

    /// Adds one step's unshaped task rewards `[agents]` (for envs whose reward is shaped).
    pub fn record_task(&mut self, task_rewards: &[f32]) {
        let acc = self.task_returns.get_or_insert_with(|| vec![0.0; self.agents]);
        for (a, &r) in acc.iter_mut().zip(task_rewards) {
            *a += r as f64;
        }
    }

    /// Steps recorded so far.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The report of the episode so far, with the env's own metrics.
    pub fn report(&self, env: &dyn ParallelEnv) -> EpisodeReport {
        let spec = env.spec();
        let k = self.costs_per_step;
        let mut costs = BTreeMap::new();
        let mut costs_per_agent = BTreeMap::new();
        for (c, comp) in spec.cost_spec.components.iter().enumerate() {
            let per_agent: Vec<f64> = (0..self.agents).map(|i| self.costs[i * k + c]).collect();
            costs.insert(comp.name.clone(), per_agent.iter().sum());
            costs_per_agent.insert(comp.name.clone(), per_agent);
        }
        let t = self.length.max(1) as f64;
        let collective: f64 = self.returns.iter().sum();
        let means: Vec<f64> = (0..self.agents)
            .filter(|&i| self.positive_steps[i] > 0)
            .map(|i| self.positive_step_sum[i] / self.positive_steps[i] as f64)
            .collect();
        let social = SocialMetrics {
            collective_return: collective,
            efficiency: collective / t,
            equality: equality(&self.returns),
            sustainability: (!means.is_empty()).then(|| means.iter().sum::<f64>() / means.len() as f64),
            peace: (self.agents as f64 * t - env.tagged_out_steps() as f64) / t,
        };
        let mut env_metrics = Map::new();
        env.episode_metrics(&mut env_metrics);
        EpisodeReport {
            length: self.length,
            returns: self.returns.clone(),
            task_returns: self.task_returns.clone(),
            costs,
            costs_per_agent,
            social,
            env_metrics,
            policy_stats: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_hand_computed() {
        assert_eq!(equality(&[1.0, 1.0, 1.0]), Some(1.0));
        // |3-1| counted twice = 4; 1 - 4 / (2 * 2 * 4) = 0.75
        assert_eq!(equality(&[3.0, 1.0]), Some(0.75));
        // one agent has everything among four: gap = 2*3*4 = 24; 1 - 24/(2*4*4) = 0.25
        assert_eq!(equality(&[4.0, 0.0, 0.0, 0.0]), Some(0.25));
        assert_eq!(equality(&[1.0, -1.0]), None);
        assert_eq!(equality(&[0.0, 0.0]), None);
    }
}
