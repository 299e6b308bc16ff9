//! Environment specs: everything a learner or a binding needs to know before the first step.

use serde::{Deserialize, Serialize};

use super::space::Space;

/// One named cost component: a kind of ethical violation an environment measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostComponent {
    /// Short identifier, e.g. `harm_other`.
    pub name: String,
    /// One line saying when the cost fires and why it is a violation.
    pub meaning: String,
    /// Unit of one step's value, e.g. "events" or "reward taken from others".
    pub unit: String,
    /// Default per-episode limit for constrained learners (summed over the agent's episode).
    pub default_limit: f64,
    /// Hypervolume reference: a per-episode cost no policy exceeds (worse than every reachable value).
    pub reference: f64,
}

impl CostComponent {
    /// A component from its parts.
    pub fn new(name: &str, meaning: &str, unit: &str, default_limit: f64, reference: f64) -> Self {
        Self { name: name.into(), meaning: meaning.into(), unit: unit.into(), default_limit, reference }
    }
}

/// The cost components an environment reports, in the order of its cost buffers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostSpec {
    /// Components, in buffer order.
    pub components: Vec<CostComponent>,
}

impl CostSpec {
    /// Number of components.
    pub fn len(&self) -> usize {
        self.components.len()
    }

    /// Whether the environment reports no costs.
    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }

    /// Position of a component in the cost buffers.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.components.iter().position(|c| c.name == name)
    }

    /// Component names in buffer order.
    pub fn names(&self) -> Vec<&str> {
        self.components.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Everything fixed about a configured environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvSpec {
    /// Registry id with version, e.g. `CoinGame-v1`.
    pub id: String,
    /// Version number of the rules (the `vN` of the id).
    pub version: u32,
    /// Space of one agent's observation.
    pub observation_space: Space,
    /// Space of one agent's action.
    pub action_space: Space,
    /// Number of agents acting at every step (1 for single-agent environments).
    pub num_agents: usize,
    /// Agent names in index order (`agent_0`, `agent_1`, ...).
    pub agents: Vec<String>,
    /// Steps after which an episode is truncated.
    pub max_episode_steps: usize,
    /// Cost components reported at every step.
    pub cost_spec: CostSpec,
    /// Whether the legal actions vary and the env exposes an action mask.
    pub has_action_mask: bool,
    /// Whether agents see the state each from their own partial view (grid games' egocentric
    /// windows; the env then answers [`crate::ParallelEnv::visibility`]) rather than all of it.
    pub partially_observed: bool,
    /// Hypervolume reference for one agent's episode return: lower than any reachable return.
    pub return_reference: f64,
}

impl EnvSpec {
    /// Length of one agent's flat observation.
    pub fn obs_dim(&self) -> usize {
        self.observation_space.flat_dim()
    }

    /// Number of discrete actions (every moralgym env acts in a discrete space).
    pub fn num_actions(&self) -> usize {
        self.action_space.discrete_n().unwrap_or(0)
    }

    /// Number of cost components.
    pub fn num_costs(&self) -> usize {
        self.cost_spec.len()
    }

    /// Default agent names `agent_0..agent_{n-1}`.
    pub fn agent_names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("agent_{i}")).collect()
    }
}
