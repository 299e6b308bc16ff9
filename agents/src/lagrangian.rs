//! How reward is traded against cost: the `[cost]` settings, the weighted training reward, and
//! PPO-Lagrangian (OmniSafe's rule). Each multiplier lambda >= 0 follows gradient ascent on
//! lambda * (J_c - d) with Adam, once per rollout and before that rollout's policy update, from
//! the mean episode cost J_c of the episodes that finished in it. The reward advantage is then
//! standardised over the whole rollout, each cost advantage only centred, and the policy follows
//! (A_r - sum_k lambda_k A_k) / (1 + sum_k lambda_k) with no further normalisation per minibatch.

use std::collections::BTreeMap;

use moralgym_envs::EnvSpec;
use serde::{Deserialize, Serialize};

use crate::buffer::standardise;
use crate::error::{AgentError, setting};

/// How reward is traded against cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostMode {
    /// Reward only: the reward-maximising baseline.
    #[default]
    None,
    /// Train on reward - sum_k w_k * cost_k.
    Weighted,
    /// PPO-Lagrangian with per-episode cost limits.
    Lagrangian,
}

/// Which costs a Lagrangian constrains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constrain {
    /// One multiplier per cost component, each with its own limit.
    #[default]
    Each,
    /// One multiplier on the sum of all components.
    Sum,
}

/// Cost handling settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostConfig {
    /// `none`, `weighted` or `lagrangian`.
    pub mode: CostMode,
    /// Weighted: weight per component name; components left out get `default_weight`.
    pub weights: BTreeMap<String, f64>,
    /// Weighted: weight of components not in `weights`.
    pub default_weight: f64,
    /// Lagrangian: `each` component or their `sum`.
    pub constrain: Constrain,
    /// Lagrangian: per-episode limit per component (left out: the env's default limit).
    pub limits: BTreeMap<String, f64>,
    /// Lagrangian with `constrain = "sum"`: the limit of the sum (default: sum of the limits).
    pub sum_limit: Option<f64>,
    /// Lagrangian: Adam learning rate of the multipliers.
    pub lagrange_lr: f64,
    /// Lagrangian: initial multiplier value.
    pub lagrange_init: f64,
}

impl Default for CostConfig {
    fn default() -> Self {
        Self {
            mode: CostMode::None,
            weights: BTreeMap::new(),
            default_weight: 1.0,
            constrain: Constrain::Each,
            limits: BTreeMap::new(),
            sum_limit: None,
            lagrange_lr: 0.035,
            lagrange_init: 0.001,
        }
    }
}

impl CostConfig {
    /// Checks every setting, naming the first one at fault (`cost.<key>`).
    pub fn validate(&self) -> Result<(), AgentError> {
        let fail = |key: String, what: &str| Err(setting(format!("cost.{key}"), what));
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        for (name, w) in
            self.weights.iter().chain(std::iter::once((&"default_weight".to_string(), &self.default_weight)))
        {
            if !ok(*w) {
                let key = if name == "default_weight" { name.clone() } else { format!("weights.{name}") };
                return fail(key, "must be a finite number >= 0 (a negative weight would reward the harm)");
            }
        }
        for (name, d) in &self.limits {
            if !ok(*d) {
                return fail(format!("limits.{name}"), "must be a finite number >= 0");
            }
        }
        if self.sum_limit.is_some_and(|d| !ok(d)) {
            return fail("sum_limit".into(), "must be a finite number >= 0 (0 allows no cost at all)");
        }
        if !(self.lagrange_lr.is_finite() && self.lagrange_lr > 0.0) {
            return fail("lagrange_lr".into(), "must be a finite number > 0");
        }
        if !ok(self.lagrange_init) {
            return fail("lagrange_init".into(), "must be a finite number >= 0");
        }
        Ok(())
    }
}

/// One multiplier with its own Adam state.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Multiplier {
    /// Current value (never negative).
    pub value: f64,
    /// Per-episode cost limit d.
    pub limit: f64,
    lr: f64,
    m: f64,
    v: f64,
    t: i32,
}

impl Multiplier {
    /// A multiplier starting at `init` for limit `limit`, learning rate `lr`.
    pub fn new(init: f64, limit: f64, lr: f64) -> Self {
        Self { value: init.max(0.0), limit, lr, m: 0.0, v: 0.0, t: 0 }
    }

    /// Whether every number of the multiplier is one it can hold: finite, the value and Adam's
    /// second moment not negative, the step count not negative (what a checkpoint is checked for).
    pub fn is_valid(&self) -> bool {
        [self.value, self.limit, self.lr, self.m, self.v].iter().all(|x| x.is_finite())
            && self.value >= 0.0
            && self.v >= 0.0
            && self.t >= 0
    }

    /// One Adam step on the loss `-lambda * (episode_cost - limit)`, then projection to `>= 0`.
    pub fn update(&mut self, episode_cost: f64) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        let grad = -(episode_cost - self.limit);
        self.t += 1;
        self.m = B1 * self.m + (1.0 - B1) * grad;
        self.v = B2 * self.v + (1.0 - B2) * grad * grad;
        let m_hat = self.m / (1.0 - B1.powi(self.t));
        let v_hat = self.v / (1.0 - B2.powi(self.t));
        self.value = (self.value - self.lr * m_hat / (v_hat.sqrt() + EPS)).max(0.0);
    }
}

/// Combines reward and cost advantages: (A_r - sum_k lambda_k A_k) / (1 + sum_k lambda_k).
pub fn combine(reward_adv: f32, cost_adv: &[f32], lambdas: &[f64]) -> f32 {
    let penalty: f64 = cost_adv.iter().zip(lambdas).map(|(a, l)| *a as f64 * l).sum();
    let total: f64 = lambdas.iter().sum();
    ((reward_adv as f64 - penalty) / (1.0 + total)) as f32
}

/// A run's cost handling resolved against its env: the weight and the limit of every component,
/// in the env's component order.
#[derive(Clone, Debug)]
pub struct CostRule {
    mode: CostMode,
    constrain: Constrain,
    weights: Vec<f64>,
    limits: Vec<f64>,
    sum_limit: Option<f64>,
    lagrange_init: f64,
    lagrange_lr: f64,
    names: Vec<String>,
}

impl CostRule {
    /// Resolves `config` for an env with `spec`, refusing weights or limits of components it
    /// does not have.
    pub fn new(config: &CostConfig, spec: &EnvSpec) -> Result<Self, AgentError> {
        let names = spec.cost_spec.names();
        if let Some(key) = config.weights.keys().chain(config.limits.keys()).find(|k| !names.contains(&k.as_str())) {
            return Err(setting(
                "cost",
                format!("`{key}` is not a cost of {}; its costs: {}", spec.id, names.join(", ")),
            ));
        }
        let components = &spec.cost_spec.components;
        Ok(Self {
            mode: config.mode,
            constrain: config.constrain,
            weights: components
                .iter()
                .map(|c| config.weights.get(&c.name).copied().unwrap_or(config.default_weight))
                .collect(),
            limits: components.iter().map(|c| config.limits.get(&c.name).copied().unwrap_or(c.default_limit)).collect(),
            sum_limit: config.sum_limit,
            lagrange_init: config.lagrange_init,
            lagrange_lr: config.lagrange_lr,
            names: names.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// The reward a learner trains on for one step: `reward - sum_k w_k * cost_k` when weighted,
    /// else the reward (`costs` is empty for an agent that had already stopped).
    pub fn train_reward(&self, reward: f32, costs: &[f32]) -> f32 {
        match self.mode {
            CostMode::Weighted => reward - costs.iter().zip(&self.weights).map(|(c, w)| c * *w as f32).sum::<f32>(),
            _ => reward,
        }
    }

    /// Fresh multipliers of one policy: one per component, one for their sum, or none.
    pub fn multipliers(&self) -> Vec<Multiplier> {
        let (init, lr) = (self.lagrange_init, self.lagrange_lr);
        match (self.mode, self.constrain) {
            (CostMode::Lagrangian, Constrain::Each) => {
                self.limits.iter().map(|&d| Multiplier::new(init, d, lr)).collect()
            }
            (CostMode::Lagrangian, Constrain::Sum) => {
                vec![Multiplier::new(init, self.sum_limit.unwrap_or(self.limits.iter().sum()), lr)]
            }
            _ => Vec::new(),
        }
    }

    /// Whether [`CostRule::advantages`] leaves the advantages standardised over the whole
    /// rollout (OmniSafe's Lagrangian), so that PPO must not renormalise them per minibatch.
    pub fn standardises(&self) -> bool {
        self.mode == CostMode::Lagrangian
    }

    /// The advantage the policy follows, from the advantage of each value head (`heads[0]` the
    /// reward's, then each cost's) and the rows' sample `weights` (0 for stopped agents): the
    /// reward's alone, or, with a Lagrangian, OmniSafe's: the reward's standardised and the costs'
    /// centred over the rollout, then combined by the multipliers.
    pub fn advantages(&self, mut heads: Vec<Vec<f32>>, multipliers: &[Multiplier], weights: &[f32]) -> Vec<f32> {
        let lambdas: Vec<f64> = multipliers.iter().map(|m| m.value).collect();
        if self.mode == CostMode::Lagrangian {
            standardise(&mut heads[0], weights, true);
            for cost in &mut heads[1..] {
                standardise(cost, weights, false);
            }
        }
        let (reward, costs) = (&heads[0], &heads[1..]);
        match (self.mode, self.constrain) {
            (CostMode::Lagrangian, Constrain::Each) => (0..reward.len())
                .map(|i| combine(reward[i], &costs.iter().map(|c| c[i]).collect::<Vec<_>>(), &lambdas))
                .collect(),
            (CostMode::Lagrangian, Constrain::Sum) => {
                (0..reward.len()).map(|i| combine(reward[i], &[costs.iter().map(|c| c[i]).sum()], &lambdas)).collect()
            }
            _ => heads.swap_remove(0),
        }
    }

    /// One rollout's multiplier step and policy advantage, in OmniSafe's order: when episodes
    /// finished (`episode_cost` is given) the multipliers step first, then
    /// [`CostRule::advantages`] combines the heads with the multipliers as they now are.
    pub fn step_then_advantages(
        &self,
        heads: Vec<Vec<f32>>,
        multipliers: &mut [Multiplier],
        weights: &[f32],
        episode_cost: Option<&dyn Fn(Option<usize>) -> f64>,
    ) -> Vec<f32> {
        if let Some(cost) = episode_cost {
            self.update(multipliers, cost);
        }
        self.advantages(heads, multipliers, weights)
    }

    /// One step of every multiplier, from `episode_cost(component)`: the mean episode cost of
    /// that component (`None`: of their sum) over the episodes that finished in the rollout.
    pub fn update(&self, multipliers: &mut [Multiplier], episode_cost: impl Fn(Option<usize>) -> f64) {
        let single = self.constrain == Constrain::Sum;
        for (c, m) in multipliers.iter_mut().enumerate() {
            m.update(episode_cost(if single { None } else { Some(c) }));
        }
    }

    /// The multipliers' values by `owner/component` (`agent_0/harm_other`, `shared/sum`).
    pub fn named(&self, owner: &str, multipliers: &[Multiplier], out: &mut BTreeMap<String, f64>) {
        for (c, m) in multipliers.iter().enumerate() {
            let component = if self.constrain == Constrain::Sum { "sum" } else { self.names[c].as_str() };
            out.insert(format!("{owner}/{component}"), m.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplier_rises_above_the_limit_falls_below_and_stays_non_negative() {
        let mut m = Multiplier::new(0.001, 10.0, 0.035);
        for _ in 0..20 {
            m.update(30.0);
        }
        let high = m.value;
        assert!(high > 0.5, "{high}");
        for _ in 0..200 {
            m.update(0.0);
        }
        assert_eq!(m.value, 0.0, "projected at zero");
    }

    /// OmniSafe's PPO-Lagrangian on one rollout, by hand: the multiplier steps first (Adam from
    /// 0.001 with lr 0.035 and J_c - d = 30 - 10 > 0: +0.035), then the reward advantage is
    /// standardised over the batch, the cost advantage only centred, and the two are combined with
    /// the new multiplier; rows of weight 0 do not count in the statistics.
    #[test]
    fn lagrangian_advantage_is_omnisafes_rule_in_omnisafes_order() {
        let spec = moralgym_envs::make("CoinGame-v1", &serde_json::Value::Null).expect("registered").spec().clone();
        let config = CostConfig {
            mode: CostMode::Lagrangian,
            limits: [("harm_other".to_string(), 10.0)].into(),
            ..CostConfig::default()
        };
        let rule = CostRule::new(&config, &spec).expect("valid");
        assert!(rule.standardises(), "PPO must not renormalise per minibatch");
        let mut m = rule.multipliers();
        // reward advantages 1, 2, 3, 4 (a fifth row of weight 0); cost advantages 2, 2, 4, 8
        let weights = [1.0, 1.0, 1.0, 1.0, 0.0];
        let heads = vec![vec![1.0, 2.0, 3.0, 4.0, 100.0], vec![2.0, 2.0, 4.0, 8.0, -50.0]];
        let adv = rule.step_then_advantages(heads, &mut m, &weights, Some(&|_| 30.0));
        let lambda = 0.001 + 0.035;
        assert!((m[0].value - lambda).abs() < 1e-9, "{}", m[0].value);
        let std = 1.25f64.sqrt() + 1e-8; // population std of 1, 2, 3, 4
        let reward = [-1.5 / std, -0.5 / std, 0.5 / std, 1.5 / std];
        let cost = [-2.0, -2.0, 0.0, 4.0]; // centred on 4, not scaled
        for i in 0..4 {
            let want = (reward[i] - lambda * cost[i]) / (1.0 + lambda);
            assert!((adv[i] as f64 - want).abs() < 1e-5, "row {i}: {} != {want}", adv[i]);
        }
        // without a Lagrangian the reward's advantage passes through untouched
        let none = CostRule::new(&CostConfig::default(), &spec).expect("valid");
        assert!(!none.standardises());
        assert_eq!(none.advantages(vec![vec![1.0, 2.0], vec![5.0, 5.0]], &[], &[1.0, 1.0]), vec![1.0, 2.0]);
    }

    #[test]
    fn combined_advantage_matches_omnisafe() {
        assert_eq!(combine(1.0, &[2.0], &[0.0]), 1.0);
        assert_eq!(combine(1.0, &[2.0], &[1.0]), (1.0 - 2.0) / 2.0);
        assert!((combine(3.0, &[1.0, 2.0], &[0.5, 0.25]) - (3.0 - 0.5 - 0.5) / 1.75).abs() < 1e-6);
    }
}
