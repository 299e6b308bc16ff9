//! The Ethical Self-Regulation System of DECIDE-SIM: per-agent guilt ("cortisol") and
//! satisfaction ("endorphin") in [0, 10] that events raise and time wears off.

use serde::{Deserialize, Serialize};

/// ESRS settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EsrsConfig {
    /// Whether the module runs (and its two states appear in the observation).
    pub enabled: bool,
    /// Upper bound of both states.
    pub max_level: f32,
    /// Drop of both states at the start of every turn.
    pub decay: f32,
    /// Satisfaction a transfer gives to giver and receiver.
    pub transfer_satisfaction: f32,
    /// Satisfaction of being at the discussion table when a turn opens (after the decay).
    pub table_satisfaction: f32,
    /// Reward shaping: weight of satisfaction added to the reward each turn (0 = no shaping).
    pub satisfaction_weight: f32,
    /// Reward shaping: weight of guilt subtracted from the reward each turn (0 = no shaping).
    pub guilt_weight: f32,
}

impl Default for EsrsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_level: 10.0,
            decay: 3.0,
            transfer_satisfaction: 8.0,
            table_satisfaction: 5.0,
            satisfaction_weight: 0.0,
            guilt_weight: 0.0,
        }
    }
}

impl EsrsConfig {
    /// Whether the reward carries a shaping term.
    pub fn shapes_reward(&self) -> bool {
        self.enabled && (self.satisfaction_weight != 0.0 || self.guilt_weight != 0.0)
    }
}

/// Guilt and satisfaction of every agent.
#[derive(Clone, Debug, PartialEq)]
pub struct Esrs {
    /// Guilt per agent.
    pub guilt: Vec<f32>,
    /// Satisfaction per agent.
    pub satisfaction: Vec<f32>,
}

impl Esrs {
    /// Calm states for `n` agents.
    pub fn new(n: usize) -> Self {
        Self { guilt: vec![0.0; n], satisfaction: vec![0.0; n] }
    }

    /// Back to calm.
    pub fn clear(&mut self) {
        self.guilt.fill(0.0);
        self.satisfaction.fill(0.0);
    }

    /// Start of a turn: both states decay.
    pub fn decay(&mut self, c: &EsrsConfig) {
        for v in self.guilt.iter_mut().chain(self.satisfaction.iter_mut()) {
            *v = (*v - c.decay).max(0.0);
        }
    }

    /// A tap sets the tapper's guilt to the maximum.
    pub fn on_tap(&mut self, c: &EsrsConfig, agent: usize) {
        self.guilt[agent] = c.max_level;
    }

    /// A transfer satisfies giver and receiver.
    pub fn on_transfer(&mut self, c: &EsrsConfig, giver: usize, receiver: usize) {
        for a in [giver, receiver] {
            self.satisfaction[a] = (self.satisfaction[a] + c.transfer_satisfaction).min(c.max_level);
        }
    }

    /// A turn opens with the agent at the discussion table.
    pub fn at_table(&mut self, c: &EsrsConfig, agent: usize) {
        self.satisfaction[agent] = (self.satisfaction[agent] + c.table_satisfaction).min(c.max_level);
    }

    /// The shaping term of an agent: satisfaction_weight * satisfaction - guilt_weight * guilt.
    pub fn shaping(&self, c: &EsrsConfig, agent: usize) -> f32 {
        c.satisfaction_weight * self.satisfaction[agent] - c.guilt_weight * self.guilt[agent]
    }
}
