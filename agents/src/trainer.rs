//! Multi-agent PPO over a vector env: independent learners (one network per agent) or one shared
//! network with an agent-id input; the task reward and every cost kept apart throughout, and
//! traded off by a fixed weighting, a Lagrangian with cost limits, or not at all.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::tensor::Device;
use moralgym_envs::{EnvSpec, ParallelEnv, Rng, VecEnv, derive_seed};
use serde::{Deserialize, Serialize};

use crate::harm_model::HarmClassifier;
use crate::lagrangian::{Multiplier, combine};
use crate::lase::{Lase, LaseStats};
use crate::policy::{Policy, PolicyError, make_policy};
use crate::ppo::{Batch, PpoConfig, PpoLearner, UpdateStats, gae};
use crate::social::{Shaper, SocialConfig, SocialMode};

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
    pub fn validate(&self) -> Result<(), (String, String)> {
        let fail = |key: String, what: &str| Err((format!("cost.{key}"), what.to_string()));
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

/// Where a conscience's harm predictions come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HarmPredictor {
    /// The environment's own annotation of each action (text games expose it).
    #[default]
    Oracle,
    /// A logistic regression trained, before learning starts, on logged random play: the
    /// probability that an action incurs a cost (see `harm_model`).
    Learned,
}

/// An action-level conscience in MACHIAVELLI's style: the policy's logits are lowered by `alpha`
/// for every action whose predicted harm exceeds `threshold`, in training and in evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConscienceConfig {
    /// Logit penalty of a flagged action.
    pub alpha: f64,
    /// Predicted harm above which an action is flagged: violations for the oracle (default 0), a
    /// probability for the learned predictor (default 0.5).
    pub threshold: Option<f64>,
    /// Source of the harm predictions.
    pub predictor: HarmPredictor,
    /// Learned predictor: logged transitions it is trained on.
    pub samples: usize,
}

impl Default for ConscienceConfig {
    fn default() -> Self {
        Self { alpha: 10.0, threshold: None, predictor: HarmPredictor::Oracle, samples: 20_000 }
    }
}

impl ConscienceConfig {
    /// Checks every setting, naming the first one at fault (`conscience.<key>`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(("conscience.alpha".into(), "must be a finite number > 0 (the logit penalty)".into()));
        }
        if self.threshold.is_some_and(|t| !t.is_finite()) {
            return Err(("conscience.threshold".into(), "must be a finite number".into()));
        }
        if self.samples > 10_000_000 {
            return Err(("conscience.samples".into(), "must be at most 10,000,000".into()));
        }
        Ok(())
    }
}

/// A conscience ready to act: its settings and, for the learned predictor, the fitted model.
#[derive(Clone, Debug)]
pub struct Conscience {
    alpha: f32,
    threshold: f64,
    model: Option<HarmClassifier>,
    /// Training accuracy of the learned predictor, if any.
    pub accuracy: Option<f64>,
}

impl Conscience {
    /// Builds the conscience for `env` (its spec and config), fitting the learned predictor if asked.
    pub fn new(
        c: &ConscienceConfig,
        id: &str,
        env_config: &serde_json::Value,
        seed: u64,
    ) -> Result<Self, TrainerError> {
        let mut env = moralgym_envs::make(id, env_config).map_err(|e| bad("conscience", e.to_string()))?;
        let (model, accuracy, default_threshold) = match c.predictor {
            HarmPredictor::Oracle => {
                env.reset(Some(seed));
                let mut probe = vec![0.0; env.spec().num_actions()];
                if !env.action_harm(0, &mut probe) {
                    return Err(bad(
                        "conscience",
                        format!(
                            "the oracle needs an env that exposes each action's harm, and {id} does not (text games do; try predictor = \"learned\")"
                        ),
                    ));
                }
                (None, None, 0.0)
            }
            HarmPredictor::Learned => {
                if c.samples == 0 {
                    return Err(bad("conscience.samples", "must be at least 1"));
                }
                let (m, acc) = HarmClassifier::fit(env.as_mut(), c.samples, seed);
                (Some(m), Some(acc), 0.5)
            }
        };
        Ok(Self { alpha: c.alpha as f32, threshold: c.threshold.unwrap_or(default_threshold), model, accuracy })
    }

    /// Appends one row of logit penalties for `agent` of `env`, whose observation is `obs`.
    fn penalties(
        &self,
        env: &dyn ParallelEnv,
        agent: usize,
        obs: &[f32],
        scratch: &mut [f32],
        feats: &mut Vec<f32>,
        out: &mut Vec<f32>,
    ) {
        match &self.model {
            None => {
                env.action_harm(agent, scratch);
            }
            Some(m) => {
                for (a, s) in scratch.iter_mut().enumerate() {
                    *s = m.predict(obs, a, feats);
                }
            }
        }
        out.extend(scratch.iter().map(|&h| if h as f64 > self.threshold { self.alpha } else { 0.0 }));
    }
}

/// Most bytes one rollout's learner data may take (8 GiB).
pub const ROLLOUT_BUDGET_BYTES: u64 = 8 << 30;

/// Everything a training run of PPO needs besides the env.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerConfig {
    /// PPO hyper-parameters.
    pub ppo: PpoConfig,
    /// Cost handling.
    pub cost: CostConfig,
    /// One network for all learning agents (with a one-hot agent id input) instead of one each.
    pub shared_policy: bool,
    /// Indices of the agents that learn; `None` means all. The others are fixed partners.
    pub learners: Option<Vec<usize>>,
    /// Policy of the fixed partners (a name from `POLICIES`, e.g. `random`).
    pub partner_policy: String,
    /// An action-level conscience on the learners' policies (none by default).
    pub conscience: Option<ConscienceConfig>,
    /// What each learner trains on: its own reward, the group's, inequity-averse or LASE-gifted.
    pub social: SocialConfig,
    /// Env copies stepped together.
    pub num_envs: usize,
    /// Threads of the vector env.
    pub threads: usize,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self {
            ppo: PpoConfig::default(),
            cost: CostConfig::default(),
            shared_policy: false,
            learners: None,
            partner_policy: "random".into(),
            conscience: None,
            social: SocialConfig::default(),
            num_envs: 8,
            threads: 1,
        }
    }
}

/// A setting the trainer cannot use, named.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid training setting `{key}`: {message}")]
pub struct TrainerError {
    /// The setting.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn bad(key: &str, message: impl Into<String>) -> TrainerError {
    TrainerError { key: key.into(), message: message.into() }
}

/// Statistics of one rollout and update, CleanRL's tags plus costs and multipliers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Iteration {
    /// Updates done so far.
    pub update: usize,
    /// Env steps done so far (vector steps x copies).
    pub global_step: u64,
    /// Env steps per second of this iteration (rollout and update).
    pub sps: f64,
    /// Learning rate used.
    pub learning_rate: f64,
    /// Episodes finished in this rollout.
    pub episodes: usize,
    /// Mean return per agent over those episodes (mean over agents), if any finished.
    pub episodic_return: Option<f64>,
    /// Mean episode length, if any finished.
    pub episodic_length: Option<f64>,
    /// Mean per-agent episode cost per component, if any finished.
    pub costs: BTreeMap<String, f64>,
    /// Lagrange multipliers by name (`agent_0/harm_other`, or `agent_0/sum`).
    pub lagrange: BTreeMap<String, f64>,
    /// Losses per policy (one entry per group).
    pub losses: Vec<UpdateStats>,
    /// LASE: mean gift weight g_ij per step from giver i to receiver j (`agent_0->agent_1`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub gifts: BTreeMap<String, f64>,
    /// LASE: losses of each LASE agent's Q network, perspective taker and self-interested policy.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub lase: BTreeMap<String, LaseStats>,
}

/// What a checkpoint keeps of the trainer besides the networks and optimizers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Updates done.
    pub update: usize,
    /// Env steps done.
    pub global_step: u64,
    /// Lagrange multipliers per policy.
    pub multipliers: Vec<Vec<Multiplier>>,
    /// The annealed learning rate's fraction of `ppo.learning_rate` for the next update (absent in
    /// checkpoints written before it was kept: the plain schedule then applies).
    #[serde(default)]
    pub lr_fraction: Option<f64>,
}

/// An episode that ended during a rollout.
struct Finished {
    length: u32,
    returns: Vec<f32>,
    costs: Vec<f32>,
}

struct Group {
    agents: Vec<usize>,
    learner: PpoLearner,
    multipliers: Vec<Multiplier>,
    batch: Batch,
    rewards: Vec<f32>,
    costs: Vec<f32>,
    dones: Vec<bool>,
}

/// Multi-agent PPO with cost handling over a [`VecEnv`].
pub struct Trainer {
    config: TrainerConfig,
    venv: VecEnv,
    spec: EnvSpec,
    groups: Vec<Group>,
    /// Whether each (copy, agent) is still in its episode.
    alive: Vec<bool>,
    weights: Vec<f64>,
    fixed: Vec<usize>,
    partner: Option<Box<dyn Policy>>,
    conscience: Option<Conscience>,
    shaper: Shaper,
    /// Per agent: its LASE modules, if it gifts.
    lase: Vec<Option<Lase>>,
    env_config: serde_json::Value,
    rng: Rng,
    global_step: u64,
    update: usize,
    /// (update, fraction) the learning rate anneals from: (0, 1) for a fresh run.
    anneal_from: (usize, f64),
    total_updates: usize,
}

impl Trainer {
    /// A trainer over `venv` (already holding `num_envs` copies) for `total_steps` env steps.
    /// `env_config` is the env's config (for partner policies that need it).
    pub fn new(
        mut venv: VecEnv,
        env_config: &serde_json::Value,
        config: TrainerConfig,
        total_steps: u64,
        seed: u64,
        device: &Device,
    ) -> Result<Self, TrainerError> {
        let spec = venv.spec().clone();
        let p = &config.ppo;
        p.validate().map_err(|(key, m)| bad(&key, m))?;
        config.cost.validate().map_err(|(key, m)| bad(&key, m))?;
        if let Some(c) = &config.conscience {
            c.validate().map_err(|(key, m)| bad(&key, m))?;
        }
        // what one rollout holds per learner row: the observation, a mask and penalties per action
        let floats = (spec.obs_dim() + 2 * spec.num_actions() + 8) as u128;
        let rollout_bytes = p.num_steps as u128 * venv.num_envs() as u128 * spec.num_agents as u128 * floats * 4;
        if rollout_bytes > ROLLOUT_BUDGET_BYTES as u128 {
            return Err(bad(
                "ppo.num_steps",
                format!(
                    "x num_envs: a rollout of {} steps of {} copies would need {:.1} GiB, over the {} GiB budget",
                    p.num_steps,
                    venv.num_envs(),
                    rollout_bytes as f64 / (1u64 << 30) as f64,
                    ROLLOUT_BUDGET_BYTES >> 30
                ),
            ));
        }
        if p.num_minibatches > p.num_steps * venv.num_envs() {
            return Err(bad(
                "ppo.num_minibatches",
                format!("must be at most the batch, num_steps x num_envs = {} x {}", p.num_steps, venv.num_envs()),
            ));
        }
        if p.policy == crate::model::PolicyHead::ChoiceScorer {
            let rows_ok = matches!(&spec.observation_space, moralgym_envs::Space::Box { shape, .. } if shape.len() == 2 && shape[0] == spec.num_actions() + 1);
            if !rows_ok || config.shared_policy {
                return Err(bad(
                    "ppo.policy",
                    format!(
                        "choice_scorer needs observations laid out as [actions + 1, width] rows (text games) and no shared policy; {} has {}",
                        spec.id, spec.observation_space
                    ),
                ));
            }
        }
        let names = spec.cost_spec.names();
        for key in config.cost.weights.keys().chain(config.cost.limits.keys()) {
            if !names.contains(&key.as_str()) {
                return Err(bad(
                    "cost",
                    format!("`{key}` is not a cost of {}; its costs: {}", spec.id, names.join(", ")),
                ));
            }
        }
        let k = spec.num_costs();
        let weights = spec
            .cost_spec
            .components
            .iter()
            .map(|c| config.cost.weights.get(&c.name).copied().unwrap_or(config.cost.default_weight))
            .collect();
        let a = spec.num_agents;
        let learning: Vec<usize> = config.learners.clone().unwrap_or_else(|| (0..a).collect());
        if learning.is_empty()
            || learning.iter().any(|&i| i >= a)
            || (1..learning.len()).any(|i| learning[..i].contains(&learning[i]))
        {
            return Err(bad("learners", format!("must list distinct agent indices below {a}")));
        }
        let fixed: Vec<usize> = (0..a).filter(|i| !learning.contains(i)).collect();
        let modes = config.social.modes(&learning, a).map_err(|m| bad("social", m))?;
        if modes.contains(&SocialMode::Lase) {
            config.social.lase.validate().map_err(|m| bad("social.lase", m))?;
            if config.shared_policy {
                return Err(bad("social", "LASE agents learn on their own: set shared_policy = false"));
            }
        }
        let lase = (0..a)
            .map(|i| {
                (modes[i] == SocialMode::Lase).then(|| {
                    let s = derive_seed(seed, 1_000 + i as u64);
                    let (d, k, n) = (spec.obs_dim(), spec.num_actions(), venv.num_envs());
                    let partial = venv.env(0).is_some_and(|e| e.partially_observed());
                    Lase::new(i, a, d, k, n, partial, &config.social.lase, &config.ppo, device, s)
                })
            })
            .collect();
        let shaper = Shaper::new(&config.social, modes, venv.num_envs());
        let conscience = match &config.conscience {
            Some(c) => Some(Conscience::new(c, &spec.id, env_config, seed ^ 0xC05C1E)?),
            None => None,
        };
        if crate::policy::is_llm(&config.partner_policy) {
            return Err(bad(
                "partner_policy",
                "a language model cannot be a training partner (it would need a request per env step); evaluate it with rollout, eval, report or a sweep's baselines",
            ));
        }
        let partner = if fixed.is_empty() {
            None
        } else {
            Some(
                make_policy(&config.partner_policy, &spec.id, env_config, seed ^ 0xFA57)
                    .map_err(|e| bad("partner_policy", e.to_string()))?,
            )
        };
        let agent_sets: Vec<Vec<usize>> =
            if config.shared_policy { vec![learning] } else { learning.into_iter().map(|i| vec![i]).collect() };
        let inputs = spec.obs_dim() + if config.shared_policy { a } else { 0 };
        let limits: Vec<f64> = spec
            .cost_spec
            .components
            .iter()
            .map(|c| config.cost.limits.get(&c.name).copied().unwrap_or(c.default_limit))
            .collect();
        let multipliers = || -> Vec<Multiplier> {
            let c = &config.cost;
            match (c.mode, c.constrain) {
                (CostMode::Lagrangian, Constrain::Each) => {
                    limits.iter().map(|&d| Multiplier::new(c.lagrange_init, d, c.lagrange_lr)).collect()
                }
                (CostMode::Lagrangian, Constrain::Sum) => {
                    vec![Multiplier::new(c.lagrange_init, c.sum_limit.unwrap_or(limits.iter().sum()), c.lagrange_lr)]
                }
                _ => Vec::new(),
            }
        };
        let groups = agent_sets
            .into_iter()
            .enumerate()
            .map(|(g, agents)| Group {
                learner: PpoLearner::new(
                    inputs,
                    spec.num_actions(),
                    k,
                    &config.ppo,
                    device,
                    derive_seed(seed, g as u64),
                ),
                multipliers: multipliers(),
                agents,
                batch: Batch::default(),
                rewards: Vec::new(),
                costs: Vec::new(),
                dones: Vec::new(),
            })
            .collect();
        venv.reset(seed);
        let per_update = (config.ppo.num_steps * venv.num_envs()) as u64;
        let total_updates = total_steps.div_ceil(per_update).max(1) as usize;
        Ok(Self {
            alive: vec![true; venv.num_envs() * a],
            fixed,
            partner,
            conscience,
            shaper,
            lase,
            env_config: env_config.clone(),
            rng: Rng::new(seed ^ 0x0B5E_55ED),
            spec,
            venv,
            groups,
            weights,
            config,
            global_step: 0,
            update: 0,
            anneal_from: (0, 1.0),
            total_updates,
        })
    }

    /// The annealed learning rate's fraction for the next update.
    fn lr_fraction(&self) -> f64 {
        let (u0, f0) = self.anneal_from;
        let left = self.total_updates.saturating_sub(u0).max(1);
        (f0 * (1.0 - self.update.saturating_sub(u0) as f64 / left as f64)).max(0.0)
    }

    /// Updates the whole run will do.
    pub fn total_updates(&self) -> usize {
        self.total_updates
    }

    /// Updates done so far.
    pub fn updates_done(&self) -> usize {
        self.update
    }

    /// The env's spec.
    pub fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    /// The networks, one per group (one per agent, or one shared).
    pub fn learners(&self) -> Vec<&PpoLearner> {
        self.groups.iter().map(|g| &g.learner).collect()
    }

    /// Mutable networks (to load checkpoints).
    pub fn learners_mut(&mut self) -> Vec<&mut PpoLearner> {
        self.groups.iter_mut().map(|g| &mut g.learner).collect()
    }

    /// The LASE modules of each gifting agent, by agent index.
    pub fn lase_modules(&self) -> impl Iterator<Item = (usize, &Lase)> {
        self.lase.iter().enumerate().filter_map(|(i, l)| l.as_ref().map(|l| (i, l)))
    }

    /// Mutable LASE modules (to load checkpoints).
    pub fn lase_modules_mut(&mut self) -> impl Iterator<Item = (usize, &mut Lase)> {
        self.lase.iter_mut().enumerate().filter_map(|(i, l)| l.as_mut().map(|l| (i, l)))
    }

    /// The conscience in use, if any (with the learned predictor's training accuracy).
    pub fn conscience(&self) -> Option<&Conscience> {
        self.conscience.as_ref()
    }

    /// Whether one network serves all learning agents.
    pub fn is_shared(&self) -> bool {
        self.config.shared_policy
    }

    /// The agents each network plays, in network order (the first agent of each group).
    pub fn learner_agents(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.agents[0]).collect()
    }

    /// Counters and multipliers, for checkpoints.
    pub fn state(&self) -> TrainerState {
        TrainerState {
            update: self.update,
            global_step: self.global_step,
            multipliers: self.groups.iter().map(|g| g.multipliers.clone()).collect(),
            lr_fraction: Some(self.lr_fraction()),
        }
    }

    /// Restores counters and multipliers saved by [`Trainer::state`].
    pub fn restore(&mut self, state: TrainerState) -> Result<(), TrainerError> {
        if state.multipliers.len() != self.groups.len()
            || state.multipliers.iter().zip(&self.groups).any(|(m, g)| m.len() != g.multipliers.len())
        {
            return Err(bad("checkpoint", "its multipliers do not match this run's policies and cost mode"));
        }
        for (g, m) in self.groups.iter_mut().zip(state.multipliers) {
            g.multipliers = m;
        }
        self.update = state.update;
        self.global_step = state.global_step;
        if let Some(f) = state.lr_fraction {
            self.anneal_from = (state.update, f);
        }
        Ok(())
    }

    fn input(&self, obs: &[f32], agent: usize, out: &mut Vec<f32>) {
        policy_input(&self.spec, self.config.shared_policy, obs, agent, out);
    }

    /// Runs one rollout of `num_steps` vector steps and one PPO update per group. Fails only when
    /// a fixed partner's policy fails.
    pub fn iterate(&mut self) -> Result<Iteration, TrainerError> {
        let start = Instant::now();
        let (n, a, k) = (self.venv.num_envs(), self.spec.num_agents, self.spec.num_costs());
        let heads = 1 + k;
        let steps = self.config.ppo.num_steps;
        // Linear annealing to 0 at the last update; a resumed run anneals from where its checkpoint
        // was, even when it now runs longer (plain `1 - update / total` for a fresh run).
        let frac = self.lr_fraction();
        let lr = if self.config.ppo.anneal_lr {
            frac * self.config.ppo.learning_rate
        } else {
            self.config.ppo.learning_rate
        };
        for g in &mut self.groups {
            g.batch = Batch::default();
            g.rewards.clear();
            g.costs.clear();
            g.dones.clear();
        }
        let mut joint = vec![0u32; n * a];
        let mut finished: Vec<Finished> = Vec::new();
        let mut mask = vec![true; self.spec.num_actions()];
        let mut scratch = Vec::new();
        let mut learner_rows = Rows::default();
        let d = self.spec.obs_dim();
        let env_obs = a * d;
        let gifting = self.shaper.gifting();
        let (mut shaped, mut gifts, mut w, mut row) =
            (vec![0.0f32; n * a], vec![0.0f64; a * a], Vec::new(), Vec::new());
        let (mut present, mut own_obs) = (Vec::new(), Vec::new());
        for _ in 0..steps {
            for gi in 0..self.groups.len() {
                let rows = n * self.groups[gi].agents.len();
                learner_rows.clear();
                for e in 0..n {
                    let Some(env) = self.venv.env(e) else { continue };
                    let obs = &self.venv.obs()[e * env_obs..(e + 1) * env_obs];
                    for &agent in &self.groups[gi].agents {
                        learner_rows.push(env, obs, agent, self.config.shared_policy, self.conscience.as_ref());
                    }
                }
                let (mut act, mut logp, mut values) =
                    (vec![0u32; rows], vec![0.0f32; rows], vec![0.0f32; rows * heads]);
                let g = &mut self.groups[gi];
                let r = &learner_rows;
                g.learner.act(&r.input, &r.masks, &r.penalties, &mut self.rng, false, &mut act, &mut logp, &mut values);
                g.batch.penalties.extend_from_slice(&r.penalties);
                for (r, &action) in act.iter().enumerate() {
                    let (e, agent) = (r / g.agents.len(), g.agents[r % g.agents.len()]);
                    joint[e * a + agent] = action;
                    g.batch.weights.push(if self.alive[e * a + agent] { 1.0 } else { 0.0 });
                }
                g.batch.obs.extend_from_slice(&r.input);
                g.batch.masks.extend_from_slice(&r.masks);
                g.batch.actions.extend_from_slice(&act);
                g.batch.logp.extend_from_slice(&logp);
                g.batch.values.extend_from_slice(&values);
            }
            if let Some(partner) = &mut self.partner {
                let d = a * self.spec.obs_dim();
                let mut all = vec![0u32; a];
                for e in 0..n {
                    if let Some(env) = self.venv.env(e) {
                        partner
                            .act(env, &self.venv.obs()[e * d..(e + 1) * d], &mut all)
                            .map_err(|e| bad("partner_policy", e.to_string()))?;
                        for &agent in &self.fixed {
                            joint[e * a + agent] = all[agent];
                        }
                    }
                }
            }
            // Agents that stopped send their first legal action; the env ignores it.
            if self.spec.has_action_mask {
                for e in 0..n {
                    for agent in 0..a {
                        if let Some(env) = self.venv.env(e)
                            && !env.is_legal(agent, joint[e * a + agent])
                        {
                            env.action_mask(agent, &mut mask);
                            joint[e * a + agent] = mask.iter().position(|&m| m).unwrap_or(0) as u32;
                        }
                    }
                }
            }
            // What LASE agents see before the step: who is in view, and their own observations.
            if gifting {
                present.clear();
                for e in 0..n {
                    let env = self.venv.env(e);
                    for i in 0..a {
                        present.extend((0..a).map(|j| {
                            i != j
                                && self.alive[e * a + i]
                                && self.alive[e * a + j]
                                && env.is_some_and(|v| v.can_see(i, j))
                        }));
                    }
                }
                own_obs.clear();
                for i in 0..a {
                    agent_rows(&self.spec, self.venv.obs(), i, &mut own_obs);
                }
            }
            // Actions come from the masks, so a step error would be a bug in the env or here.
            self.venv.step(&joint).expect("sampled actions are legal");
            self.global_step += n as u64;
            let raw: Vec<f32> = (0..n * a).map(|i| if self.alive[i] { self.venv.rewards()[i] } else { 0.0 }).collect();
            if gifting {
                w.clear();
                w.resize(n * a * a, 0.0);
                row.resize(n * a, 0.0);
                for (i, lase) in self.lase.iter().enumerate() {
                    let Some(lase) = lase else { continue };
                    let seen = |e: usize, j: usize| present[(e * a + i) * a + j];
                    lase.relationships(&own_obs[i * n * d..(i + 1) * n * d], &joint, seen, &mut row);
                    for e in 0..n {
                        w[(e * a + i) * a..(e * a + i + 1) * a].copy_from_slice(&row[e * a..(e + 1) * a]);
                    }
                }
            }
            self.shaper.shape(&raw, &w, self.venv.done(), &mut shaped, &mut gifts);
            for g in &mut self.groups {
                for e in 0..n {
                    for &agent in &g.agents {
                        let i = e * a + agent;
                        let was_alive = self.alive[i];
                        let (r, c) = if was_alive {
                            (shaped[i], &self.venv.costs()[i * k..(i + 1) * k])
                        } else {
                            (0.0, &[][..])
                        };
                        let train_r = match self.config.cost.mode {
                            CostMode::Weighted => {
                                r - c.iter().zip(&self.weights).map(|(c, w)| c * *w as f32).sum::<f32>()
                            }
                            _ => r,
                        };
                        g.rewards.push(train_r);
                        if c.is_empty() {
                            g.costs.extend(std::iter::repeat_n(0.0, k));
                        } else {
                            g.costs.extend_from_slice(c);
                        }
                        let done =
                            !was_alive || self.venv.terminated()[i] || self.venv.truncated()[i] || self.venv.done()[e];
                        g.dones.push(done);
                    }
                }
            }
            for (i, lase) in self.lase.iter_mut().enumerate() {
                let Some(lase) = lase else { continue };
                let obs = &own_obs[i * n * d..(i + 1) * n * d];
                let ended = |e: usize| {
                    let k = e * a + i;
                    self.venv.terminated()[k] || self.venv.truncated()[k] || self.venv.done()[e]
                };
                for e in 0..n {
                    let k = e * a + i;
                    let step = (&obs[e * d..(e + 1) * d], &joint[e * a..(e + 1) * a], raw[k], ended(e));
                    lase.record(e, self.alive[k].then_some(step));
                    for j in (0..a).filter(|&j| present[k * a + j]) {
                        lase.record_view(&obs[e * d..(e + 1) * d], j, joint[e * a + j]);
                    }
                }
                // the acting policy's masks for agent i this step (its group holds only i)
                let g = self.groups.iter().find(|g| g.agents == [i]).expect("LASE agents learn alone");
                let step_masks = if g.batch.masks.is_empty() { 0 } else { n * self.spec.num_actions() };
                let masks = &g.batch.masks[g.batch.masks.len() - step_masks..];
                let actions: Vec<u32> = (0..n).map(|e| joint[e * a + i]).collect();
                let live: Vec<bool> = (0..n).map(|e| self.alive[e * a + i]).collect();
                let rewards: Vec<f32> = (0..n).map(|e| raw[e * a + i]).collect();
                let dones: Vec<bool> = (0..n).map(|e| !self.alive[e * a + i] || ended(e)).collect();
                lase.record_policy(obs, masks, &actions, &live, &rewards, &dones);
            }
            for e in 0..n {
                if let Some(ep) = self.venv.episode(e) {
                    finished.push(Finished {
                        length: ep.length,
                        returns: ep.returns.to_vec(),
                        costs: ep.costs.to_vec(),
                    });
                }
                for agent in 0..a {
                    let i = e * a + agent;
                    self.alive[i] = self.venv.done()[e]
                        || (self.alive[i] && !self.venv.terminated()[i] && !self.venv.truncated()[i]);
                }
            }
        }
        // Bootstrap values of the current observations, then advantages and the update.
        let mut losses = Vec::with_capacity(self.groups.len());
        let mut lagrange = BTreeMap::new();
        let names = self.spec.cost_spec.names().iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for gi in 0..self.groups.len() {
            let rows = n * self.groups[gi].agents.len();
            scratch.clear();
            for e in 0..n {
                for &agent in &self.groups[gi].agents {
                    let obs = &self.venv.obs()[e * a * self.spec.obs_dim()..(e + 1) * a * self.spec.obs_dim()];
                    self.input(obs, agent, &mut scratch);
                }
            }
            let g = &mut self.groups[gi];
            let (mut act, mut logp, mut last) = (vec![0u32; rows], vec![0.0f32; rows], vec![0.0f32; rows * heads]);
            // Bootstrapping needs only values; masks do not change them.
            g.learner.act(&scratch, &[], &[], &mut self.rng, true, &mut act, &mut logp, &mut last);
            let column = |src: &[f32], h: usize| -> Vec<f32> { src.chunks(heads).map(|v| v[h]).collect() };
            let (gamma, lambda) = (self.config.ppo.gamma, self.config.ppo.gae_lambda);
            let (adv_r, ret_r) =
                gae(&g.rewards, &column(&g.batch.values, 0), &g.dones, &column(&last, 0), rows, gamma, lambda);
            let mut cost_adv = Vec::with_capacity(k);
            let mut returns = vec![0.0f32; adv_r.len() * heads];
            for (i, r) in ret_r.iter().enumerate() {
                returns[i * heads] = *r;
            }
            for c in 0..k {
                let costs_c: Vec<f32> = g.costs.chunks(k).map(|x| x[c]).collect();
                let (adv_c, ret_c) = gae(
                    &costs_c,
                    &column(&g.batch.values, 1 + c),
                    &g.dones,
                    &column(&last, 1 + c),
                    rows,
                    gamma,
                    lambda,
                );
                for (i, r) in ret_c.iter().enumerate() {
                    returns[i * heads + 1 + c] = *r;
                }
                cost_adv.push(adv_c);
            }
            let lambdas: Vec<f64> = g.multipliers.iter().map(|m| m.value).collect();
            g.batch.advantages = match (self.config.cost.mode, self.config.cost.constrain) {
                (CostMode::Lagrangian, Constrain::Each) => (0..adv_r.len())
                    .map(|i| combine(adv_r[i], &cost_adv.iter().map(|c| c[i]).collect::<Vec<_>>(), &lambdas))
                    .collect(),
                (CostMode::Lagrangian, Constrain::Sum) => (0..adv_r.len())
                    .map(|i| combine(adv_r[i], &[cost_adv.iter().map(|c| c[i]).sum()], &lambdas))
                    .collect(),
                _ => adv_r,
            };
            g.batch.returns = returns;
            losses.push(g.learner.update(&g.batch, lr, &mut self.rng));
            // Multipliers follow the mean episode cost of this group's agents.
            if !finished.is_empty() && !g.multipliers.is_empty() {
                let mean_cost = |c: Option<usize>| -> f64 {
                    let mut total = 0.0;
                    for Finished { costs, .. } in &finished {
                        for &agent in &g.agents {
                            let row = &costs[agent * k..(agent + 1) * k];
                            total += match c {
                                Some(c) => row[c] as f64,
                                None => row.iter().map(|&x| x as f64).sum(),
                            };
                        }
                    }
                    total / (finished.len() * g.agents.len()) as f64
                };
                let single = g.multipliers.len() == 1 && self.config.cost.constrain == Constrain::Sum;
                for (c, m) in g.multipliers.iter_mut().enumerate() {
                    m.update(mean_cost(if single { None } else { Some(c) }));
                }
            }
            for (c, m) in g.multipliers.iter().enumerate() {
                let comp =
                    if self.config.cost.constrain == Constrain::Sum { "sum".to_string() } else { names[c].clone() };
                let owner = if self.config.shared_policy {
                    "shared".to_string()
                } else {
                    self.spec.agents[g.agents[0]].clone()
                };
                lagrange.insert(format!("{owner}/{comp}"), m.value);
            }
        }
        let mut lase_stats = BTreeMap::new();
        let mut gift_means = BTreeMap::new();
        let (gamma, lambda) = (self.config.ppo.gamma, self.config.ppo.gae_lambda);
        for (i, lase) in self.lase.iter_mut().enumerate() {
            let Some(lase) = lase else { continue };
            let mut last = Vec::with_capacity(n * d);
            agent_rows(&self.spec, self.venv.obs(), i, &mut last);
            lase_stats.insert(self.spec.agents[i].clone(), lase.update(&last, lr, gamma, lambda, &mut self.rng));
            for j in (0..a).filter(|&j| j != i) {
                let name = format!("{}->{}", self.spec.agents[i], self.spec.agents[j]);
                gift_means.insert(name, gifts[i * a + j] / (steps * n) as f64);
            }
        }
        self.update += 1;
        let episodes = finished.len();
        let mean = |f: &dyn Fn(&Finished) -> f64| {
            (episodes > 0).then(|| finished.iter().map(f).sum::<f64>() / episodes as f64)
        };
        let mut costs = BTreeMap::new();
        if episodes > 0 {
            for (c, name) in names.iter().enumerate() {
                let per_agent = finished
                    .iter()
                    .map(|f| (0..a).map(|ag| f.costs[ag * k + c] as f64).sum::<f64>() / a as f64)
                    .sum::<f64>();
                costs.insert(name.clone(), per_agent / episodes as f64);
            }
        }
        Ok(Iteration {
            update: self.update,
            global_step: self.global_step,
            sps: (steps * n) as f64 / start.elapsed().as_secs_f64().max(1e-9),
            learning_rate: lr,
            episodes,
            episodic_return: mean(&|f| f.returns.iter().map(|&x| x as f64).sum::<f64>() / a as f64),
            episodic_length: mean(&|f| f.length as f64),
            costs,
            lagrange,
            losses,
            gifts: gift_means,
            lase: lase_stats,
        })
    }

    /// This trainer's policies as a [`Policy`] (sampling, or greedy when `greedy`).
    pub fn policy(&self, seed: u64, greedy: bool) -> TrainedPolicy<'_> {
        let partner = self.partner.as_ref().and_then(|_| {
            make_policy(&self.config.partner_policy, &self.spec.id, &self.env_config, seed ^ 0xFA57).ok()
        });
        TrainedPolicy {
            groups: self.groups.iter().map(|g| (g.agents.as_slice(), &g.learner)).collect(),
            partner,
            shared: self.config.shared_policy,
            conscience: self.conscience.as_ref(),
            rng: Rng::new(seed),
            greedy,
        }
    }
}

/// What a learner reads for some agents, one row per agent: the inputs (with a one-hot agent id
/// under a shared policy), the action masks and the conscience's logit penalties.
#[derive(Default)]
struct Rows {
    input: Vec<f32>,
    masks: Vec<bool>,
    penalties: Vec<f32>,
    mask: Vec<bool>,
    harm: Vec<f32>,
    feats: Vec<f32>,
}

impl Rows {
    fn clear(&mut self) {
        self.input.clear();
        self.masks.clear();
        self.penalties.clear();
    }

    /// Appends the row of `agent` in `env`, whose observations (all agents) are `obs`.
    fn push(
        &mut self,
        env: &dyn ParallelEnv,
        obs: &[f32],
        agent: usize,
        shared: bool,
        conscience: Option<&Conscience>,
    ) {
        let spec = env.spec();
        policy_input(spec, shared, obs, agent, &mut self.input);
        if spec.has_action_mask {
            self.mask.resize(spec.num_actions(), true);
            env.action_mask(agent, &mut self.mask);
            self.masks.extend_from_slice(&self.mask);
        }
        if let Some(c) = conscience {
            let d = spec.obs_dim();
            self.harm.resize(spec.num_actions(), 0.0);
            c.penalties(
                env,
                agent,
                &obs[agent * d..(agent + 1) * d],
                &mut self.harm,
                &mut self.feats,
                &mut self.penalties,
            );
        }
    }
}

fn policy_input(spec: &EnvSpec, shared: bool, obs: &[f32], agent: usize, out: &mut Vec<f32>) {
    let d = spec.obs_dim();
    out.extend_from_slice(&obs[agent * d..(agent + 1) * d]);
    if shared {
        out.extend((0..spec.num_agents).map(|i| if i == agent { 1.0 } else { 0.0 }));
    }
}

/// Appends `agent`'s own observation in every env copy of `obs` (`[copies * agents * obs_dim]`).
fn agent_rows(spec: &EnvSpec, obs: &[f32], agent: usize, out: &mut Vec<f32>) {
    for env in obs.chunks(spec.num_agents * spec.obs_dim()) {
        policy_input(spec, false, env, agent, out);
    }
}

/// The trained networks acting in any env with the trainer's spec.
pub struct TrainedPolicy<'a> {
    groups: Vec<(&'a [usize], &'a PpoLearner)>,
    partner: Option<Box<dyn Policy>>,
    shared: bool,
    conscience: Option<&'a Conscience>,
    rng: Rng,
    greedy: bool,
}

impl Policy for TrainedPolicy<'_> {
    fn act(&mut self, env: &dyn ParallelEnv, obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        let heads = 1 + env.spec().num_costs();
        if let Some(partner) = &mut self.partner {
            partner.act(env, obs, actions)?; // the learners' entries are overwritten below
        }
        let mut r = Rows::default();
        for (agents, learner) in &self.groups {
            r.clear();
            for &agent in agents.iter() {
                r.push(env, obs, agent, self.shared, self.conscience);
            }
            let rows = agents.len();
            let (mut act, mut logp, mut values) = (vec![0u32; rows], vec![0.0f32; rows], vec![0.0f32; rows * heads]);
            learner.act(&r.input, &r.masks, &r.penalties, &mut self.rng, self.greedy, &mut act, &mut logp, &mut values);
            for (r, &agent) in agents.iter().enumerate() {
                actions[agent] = act[r];
            }
        }
        Ok(())
    }
}
