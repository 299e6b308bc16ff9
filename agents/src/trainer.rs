//! Multi-agent PPO over a vector env: independent learners (one network per agent) or one shared
//! network with an agent-id input; the task reward and every cost kept apart throughout, and
//! traded off by a fixed weighting, a Lagrangian with cost limits, or not at all.
//!
//! One [`Trainer::iterate`] reads in the order it runs: collect a rollout (each learner acts,
//! the fixed partners act, the env steps), shape the rewards (social modes, LASE gifts, cost
//! weights) into each learner's [`RolloutBuffer`], update each learner (GAE per value head, the
//! Lagrangian's combined advantage, PPO's epochs), update the multipliers and LASE, summarise.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::tensor::Device;
use moralgym_envs::{EnvSpec, Rng, Space, VecEnv, can_see, derive_seed, per_agent_mean};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::buffer::RolloutBuffer;
use crate::catalogue::make_policy;
use crate::conscience::{Applies, Conscience, ConscienceConfig};
use crate::error::{AgentError, setting};
use crate::lagrangian::{CostConfig, CostRule, Multiplier};
use crate::lase::{Lase, LaseStats};
use crate::model::Torso;
use crate::policy::Policy;
use crate::ppo::{Forward, PpoConfig, PpoLearner, UpdateStats};
use crate::social::{Shaper, SocialConfig, SocialMode};
use crate::trained::{Rows, TrainedPolicy, agent_rows, policy_input};

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
        }
    }
}

impl TrainerConfig {
    /// Checks every setting that does not depend on the env, naming the first one at fault.
    pub fn validate(&self) -> Result<(), AgentError> {
        self.ppo.validate()?;
        self.cost.validate()?;
        if let Some(c) = &self.conscience {
            c.validate()?;
        }
        if crate::catalogue::is_llm(&self.partner_policy) {
            return Err(setting(
                "partner_policy",
                "a language model cannot be a training partner (it would need a request per env step); evaluate it with rollout, eval, report or a sweep's baselines",
            ));
        }
        Ok(())
    }
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
    /// `[agents * components]` cost totals.
    costs: Vec<f32>,
}

impl Finished {
    /// The episode's cost per agent of `agents` ([`per_agent_mean`]) of `component`, or of all
    /// components' sum (`None`): what the trainer logs and constrains.
    fn cost(&self, agents: &[usize], k: usize, component: Option<usize>) -> f64 {
        per_agent_mean(agents, |agent| {
            let row = &self.costs[agent * k..(agent + 1) * k];
            match component {
                Some(c) => row[c] as f64,
                None => row.iter().map(|&x| x as f64).sum(),
            }
        })
    }
}

/// The mean over `finished` episodes of [`Finished::cost`].
fn mean_cost(finished: &[Finished], agents: &[usize], k: usize, component: Option<usize>) -> f64 {
    finished.iter().map(|f| f.cost(agents, k, component)).sum::<f64>() / finished.len() as f64
}

/// One network, the agents it plays, its multipliers and its rollout.
struct Group {
    agents: Vec<usize>,
    learner: PpoLearner,
    multipliers: Vec<Multiplier>,
    buffer: RolloutBuffer,
    /// A recurrent network's state per lane (row of a step: copy, then agent), carried across
    /// rollouts (empty for a feed-forward network).
    state: Vec<f32>,
    /// Per lane: whether its episode starts at the next step (its state is zeroed first).
    starts: Vec<bool>,
}

/// Per-step scratch space of a rollout, kept by the trainer so that only the first rollout grows it.
#[derive(Default)]
struct StepScratch {
    /// `[copies * agents]` the joint action.
    joint: Vec<u32>,
    /// `[copies * agents]` rewards after the social modes and gifts.
    shaped: Vec<f32>,
    /// `[agents * agents]` gifts handed out in this rollout (giver, receiver).
    gifts: Vec<f64>,
    /// `[copies * agents * agents]` LASE relationships of this step (empty when no one gifts).
    w: Vec<f32>,
    row: Vec<f32>,
    /// `[copies * agents * agents]` whether agent i sees agent j before the step.
    present: Vec<bool>,
    /// `[agents][copies * obs_dim]` each agent's own observation before the step.
    own_obs: Vec<f32>,
    /// Per learner: what it reads this step.
    rows: Vec<Rows>,
    /// Per learner: its forward passes this step.
    passes: Vec<Pass>,
    /// `[copies * agents]` the env's rewards, zero for agents that stopped.
    raw: Vec<f32>,
    /// A learner's sampled actions and their log-probabilities.
    act: Vec<u32>,
    logp: Vec<f32>,
    /// The fixed partners' joint action in one copy.
    partner: Vec<u32>,
    mask: Vec<bool>,
    finished: Vec<Finished>,
}

impl StepScratch {
    /// Ready for a rollout of `n` copies of `a` agents with `k` actions: sized, the gifts
    /// zeroed and the finished episodes forgotten.
    fn start(&mut self, n: usize, a: usize, k: usize) {
        for v in [&mut self.shaped, &mut self.raw] {
            v.resize(n * a, 0.0);
        }
        self.joint.resize(n * a, 0);
        self.partner.resize(a, 0);
        self.mask.resize(k, true);
        self.gifts.clear();
        self.gifts.resize(a * a, 0.0);
        self.finished.clear();
    }
}

/// A learner's forward passes in one step: the one it acts on and, with the conscience at
/// selection only, the one without the penalty that the update learns (from a copy of the state).
#[derive(Default)]
struct Pass {
    acting: Forward,
    learned: Option<Forward>,
    state: Vec<f32>,
}

/// Multi-agent PPO with cost handling over a [`VecEnv`].
pub struct Trainer {
    scratch: StepScratch,
    config: TrainerConfig,
    venv: VecEnv,
    spec: EnvSpec,
    groups: Vec<Group>,
    /// Whether each (copy, agent) is still in its episode.
    alive: Vec<bool>,
    costs: CostRule,
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

/// Refuses a rollout that would not fit in memory or in minibatches.
fn check_rollout(p: &PpoConfig, spec: &EnvSpec, copies: usize) -> Result<(), AgentError> {
    // what one rollout holds per learner row: the observation, a mask and penalties per action
    let floats = (spec.obs_dim() + 2 * spec.num_actions() + 8) as u128;
    let rollout_bytes = p.num_steps as u128 * copies as u128 * spec.num_agents as u128 * floats * 4;
    if rollout_bytes > ROLLOUT_BUDGET_BYTES as u128 {
        return Err(setting(
            "ppo.num_steps",
            format!(
                "x num_envs: a rollout of {} steps of {copies} copies would need {:.1} GiB, over the {} GiB budget",
                p.num_steps,
                rollout_bytes as f64 / (1u64 << 30) as f64,
                ROLLOUT_BUDGET_BYTES >> 30
            ),
        ));
    }
    p.check_batch(copies)
}

/// Stops a run whose update produced a loss or gradient that is not a finite number (weights that
/// blew up): going on would only write NaN weights over good checkpoints.
fn check_finite(losses: &[UpdateStats], update: u64) -> Result<(), AgentError> {
    for (g, l) in losses.iter().enumerate() {
        let named = [
            ("value_loss", l.value_loss),
            ("policy_loss", l.policy_loss),
            ("entropy", l.entropy),
            ("grad_norm", l.grad_norm),
        ];
        if let Some((name, _)) = named.iter().find(|(_, x)| !x.is_finite()) {
            return Err(AgentError::Diverged { update, what: format!("learner {g}'s {name}") });
        }
    }
    Ok(())
}

/// Refuses the choice scorer where observations are not one row per choice.
fn check_policy_head(config: &TrainerConfig, spec: &EnvSpec) -> Result<(), AgentError> {
    if config.ppo.policy != crate::model::PolicyHead::ChoiceScorer {
        return Ok(());
    }
    let rows_ok = matches!(&spec.observation_space, moralgym_envs::Space::Box { shape, .. } if shape.len() == 2 && shape[0] == spec.num_actions() + 1);
    if rows_ok && !config.shared_policy {
        return Ok(());
    }
    Err(setting(
        "ppo.policy",
        format!(
            "choice_scorer needs observations laid out as [actions + 1, width] rows (text games) and no shared policy; {} has {}",
            spec.id, spec.observation_space
        ),
    ))
}

/// The agents that learn, checked: distinct indices below `agents`.
fn learning_agents(config: &TrainerConfig, agents: usize) -> Result<Vec<usize>, AgentError> {
    let learning: Vec<usize> = config.learners.clone().unwrap_or_else(|| (0..agents).collect());
    if learning.is_empty()
        || learning.iter().any(|&i| i >= agents)
        || (1..learning.len()).any(|i| learning[..i].contains(&learning[i]))
    {
        return Err(setting("learners", format!("must list distinct agent indices below {agents}")));
    }
    Ok(learning)
}

impl Trainer {
    /// A trainer over `venv` (already holding its env copies) for `total_steps` env steps.
    /// `env_config` is the env's config (for partner policies that need it).
    pub fn new(
        mut venv: VecEnv,
        env_config: &serde_json::Value,
        config: TrainerConfig,
        total_steps: u64,
        seed: u64,
        device: &Device,
    ) -> Result<Self, AgentError> {
        let spec = venv.spec().clone();
        let (a, copies) = (spec.num_agents, venv.num_envs());
        config.validate()?;
        check_rollout(&config.ppo, &spec, copies)?;
        let shared_inputs = if config.shared_policy { a } else { 0 };
        config.ppo.check_size(spec.obs_dim() + shared_inputs, spec.num_actions(), spec.num_costs())?;
        check_policy_head(&config, &spec)?;
        let costs = CostRule::new(&config.cost, &spec)?;
        let learning = learning_agents(&config, a)?;
        let fixed: Vec<usize> = (0..a).filter(|i| !learning.contains(i)).collect();
        let modes = config.social.modes(&learning, a)?;
        let lase = Self::lase_modules_for(&config, &spec, &venv, &modes, device, seed)?;
        let shaper = Shaper::new(&config.social, modes, copies);
        let conscience = match &config.conscience {
            Some(c) => Some(Conscience::new(c, &spec.id, env_config, seed ^ 0xC05C1E)?),
            None => None,
        };
        let partner = if fixed.is_empty() {
            None
        } else {
            Some(
                make_policy(&config.partner_policy, &spec.id, env_config, seed ^ 0xFA57)
                    .map_err(|e| setting("partner_policy", e.to_string()))?,
            )
        };
        let groups = Self::groups(&config, &spec, learning, copies, &costs, device, seed)?;
        venv.reset(seed);
        let per_update = (config.ppo.num_steps * copies) as u64;
        let total_updates = total_steps.div_ceil(per_update).max(1) as usize;
        Ok(Self {
            alive: vec![true; copies * a],
            costs,
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
            config,
            global_step: 0,
            update: 0,
            anneal_from: (0, 1.0),
            total_updates,
            scratch: StepScratch::default(),
        })
    }

    /// The learners: one for all learning agents under a shared policy, else one per agent,
    /// each with its network (an MLP, or a CNN on `[channels, height, width]` planes), rollout
    /// buffer, state and multipliers.
    fn groups(
        config: &TrainerConfig,
        spec: &EnvSpec,
        learning: Vec<usize>,
        copies: usize,
        costs: &CostRule,
        device: &Device,
        seed: u64,
    ) -> Result<Vec<Group>, AgentError> {
        let agent_sets: Vec<Vec<usize>> =
            if config.shared_policy { vec![learning] } else { learning.into_iter().map(|i| vec![i]).collect() };
        let inputs = spec.obs_dim() + if config.shared_policy { spec.num_agents } else { 0 };
        let k = spec.num_costs();
        let planes = match (&spec.observation_space, config.ppo.torso) {
            (_, Torso::Mlp) => [0; 3],
            (Space::Box { shape, .. }, Torso::Cnn) if shape.len() == 3 => [shape[0], shape[1], shape[2]],
            (space, Torso::Cnn) => {
                let what = format!("\"cnn\" reads [channels, height, width] planes; {} observes {space:?}", spec.id);
                return Err(setting("ppo.torso", what));
            }
        };
        agent_sets
            .into_iter()
            .enumerate()
            .map(|(g, agents)| {
                let seed = derive_seed(seed, g as u64);
                let learner = PpoLearner::configured(planes, inputs, spec.num_actions(), k, &config.ppo, device, seed)?;
                let lanes = copies * agents.len();
                Ok(Group {
                    state: vec![0.0; lanes * learner.state_size()],
                    starts: vec![true; lanes],
                    learner,
                    multipliers: costs.multipliers(),
                    agents,
                    buffer: RolloutBuffer::new(inputs, spec.num_actions(), k),
                })
            })
            .collect()
    }

    /// The LASE modules of the agents whose social mode is LASE.
    fn lase_modules_for(
        config: &TrainerConfig,
        spec: &EnvSpec,
        venv: &VecEnv,
        modes: &[SocialMode],
        device: &Device,
        seed: u64,
    ) -> Result<Vec<Option<Lase>>, AgentError> {
        if modes.contains(&SocialMode::Lase) {
            config.social.lase.validate()?;
            config.social.lase.check_size(spec.obs_dim(), spec.num_agents, spec.num_actions())?;
            if config.shared_policy {
                return Err(setting("social", "LASE agents learn on their own: set shared_policy = false"));
            }
        }
        let a = spec.num_agents;
        let (d, k, n) = (spec.obs_dim(), spec.num_actions(), venv.num_envs());
        let partial = spec.partially_observed;
        Ok((0..a)
            .map(|i| {
                (modes[i] == SocialMode::Lase).then(|| {
                    let s = derive_seed(seed, 1_000 + i as u64);
                    Lase::new(i, a, d, k, n, partial, &config.social.lase, &config.ppo, device, s)
                })
            })
            .collect())
    }

    /// The annealed learning rate's fraction for the next update.
    fn lr_fraction(&self) -> f64 {
        let (u0, f0) = self.anneal_from;
        let left = self.total_updates.saturating_sub(u0).max(1);
        (f0 * (1.0 - self.update.saturating_sub(u0) as f64 / left as f64)).max(0.0)
    }

    /// Linear annealing to 0 at the last update; a resumed run anneals from where its checkpoint
    /// was, even when it now runs longer (plain `1 - update / total` for a fresh run).
    fn learning_rate(&self) -> f64 {
        let p = &self.config.ppo;
        if p.anneal_lr { self.lr_fraction() * p.learning_rate } else { p.learning_rate }
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
    pub fn restore(&mut self, state: TrainerState) -> Result<(), AgentError> {
        if state.multipliers.len() != self.groups.len()
            || state.multipliers.iter().zip(&self.groups).any(|(m, g)| m.len() != g.multipliers.len())
        {
            return Err(setting("checkpoint", "its multipliers do not match this run's policies and cost mode"));
        }
        if state.multipliers.iter().flatten().any(|m| !m.is_valid()) {
            return Err(setting("checkpoint", "a multiplier is negative or not a finite number"));
        }
        if state.lr_fraction.is_some_and(|f| !(f.is_finite() && (0.0..=1.0).contains(&f))) {
            return Err(setting("checkpoint", "its learning-rate fraction is not a number from 0 to 1"));
        }
        // Every update takes the same env steps, so the two counters must agree.
        let per_update = (self.config.ppo.num_steps * self.venv.num_envs()) as u64;
        if Some(state.global_step) != (state.update as u64).checked_mul(per_update) {
            return Err(setting(
                "checkpoint",
                format!(
                    "it claims {} updates and {} env steps, but this run takes {per_update} env steps an update",
                    state.update, state.global_step
                ),
            ));
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

    /// Runs one rollout of `num_steps` vector steps and one PPO update per group. Fails only when
    /// a fixed partner's policy fails.
    pub fn iterate(&mut self) -> Result<Iteration, AgentError> {
        let start = Instant::now();
        let lr = self.learning_rate();
        let (n, a) = (self.venv.num_envs(), self.spec.num_agents);
        for g in &mut self.groups {
            g.buffer.clear();
            g.buffer.lanes = g.starts.len();
            g.buffer.initial_state.clone_from(&g.state);
        }
        // The step's buffers live in the trainer, so that only the first rollout grows them.
        let mut s = std::mem::take(&mut self.scratch);
        s.start(n, a, self.spec.num_actions());
        let steps = self.config.ppo.num_steps;
        for _ in 0..steps {
            self.act_learners(&mut s);
            self.act_partners(&mut s.joint, &mut s.partner)?;
            self.replace_stopped_actions(&mut s);
            if self.shaper.gifting() {
                self.lase_view(&mut s);
            }
            // Actions come from the masks, so a step error would be a bug in the env or here.
            self.venv.step(&s.joint).expect("sampled actions are legal");
            self.global_step += n as u64;
            for (i, r) in s.raw.iter_mut().enumerate() {
                *r = if self.alive[i] { self.venv.rewards()[i] } else { 0.0 };
            }
            if self.shaper.gifting() {
                self.relationships(&mut s);
            }
            self.shaper.shape(&s.raw, &s.w, self.venv.done(), &mut s.shaped, &mut s.gifts);
            self.record_outcomes(&s.shaped);
            self.record_lase(&s, &s.raw);
            self.end_episodes(&mut s.finished);
        }
        let (losses, lagrange) = self.update_learners(lr, &s.finished);
        check_finite(&losses, self.update as u64 + 1)?;
        let (lase, gifts) = self.update_lase(lr, &s.gifts, steps);
        self.update += 1;
        let elapsed = start.elapsed().as_secs_f64().max(1e-9);
        let done = self.summarise(&s.finished, (steps * n) as f64 / elapsed, lr, losses, lagrange, gifts, lase);
        self.scratch = s;
        Ok(done)
    }

    /// Each learner samples its agents' actions in every copy, and stores what it read and did.
    /// Burn's forward passes run in parallel, one rayon task per learner; the fused step's run one
    /// after another on this thread, since one takes a few microseconds and handing it to another
    /// worker cost more than it saved (docs/training.md). The sampling then draws from the
    /// trainer's generator learner by learner, so a run is the same on any number of threads.
    fn act_learners(&mut self, s: &mut StepScratch) {
        let (n, a) = (self.venv.num_envs(), self.spec.num_agents);
        let env_obs = a * self.spec.obs_dim();
        s.rows.resize_with(self.groups.len(), Rows::default);
        for (g, rows) in self.groups.iter().zip(&mut s.rows) {
            rows.clear();
            for e in 0..n {
                let Some(env) = self.venv.env(e) else { continue };
                let obs = &self.venv.obs()[e * env_obs..(e + 1) * env_obs];
                for &agent in &g.agents {
                    rows.push(env, obs, agent, self.config.shared_policy, self.conscience.as_ref());
                }
            }
        }
        // with the conscience at selection, the update learns the policy without its penalty
        let unpenalised = self.conscience.as_ref().is_some_and(|c| c.applies == Applies::Selection);
        s.passes.resize_with(self.groups.len(), Pass::default);
        let pass = |((g, r), p): ((&mut Group, &Rows), &mut Pass)| {
            if unpenalised {
                p.state.clone_from(&g.state);
                let learned = p.learned.get_or_insert_with(Forward::default);
                g.learner.forward_into(&r.input, &r.masks, &[], &mut p.state, &g.starts, learned);
            } else {
                p.learned = None;
            }
            g.learner.forward_into(&r.input, &r.masks, &r.penalties, &mut g.state, &g.starts, &mut p.acting);
        };
        if self.groups.iter().all(|g| g.learner.is_fused()) {
            self.groups.iter_mut().zip(&s.rows).zip(&mut s.passes).for_each(pass);
        } else {
            self.groups.par_iter_mut().zip(&s.rows).zip(&mut s.passes).for_each(pass);
        }
        let k = self.spec.num_actions();
        for ((g, r), p) in self.groups.iter_mut().zip(&s.rows).zip(&s.passes) {
            let rows = n * g.agents.len();
            s.act.resize(rows, 0);
            s.logp.resize(rows, 0.0);
            g.learner.sample(&p.acting.lp, &mut self.rng, false, &mut s.act, &mut s.logp);
            g.buffer.starts.extend_from_slice(&g.starts);
            match &p.learned {
                Some(all) => {
                    for (row, lp) in s.logp.iter_mut().enumerate() {
                        *lp = all.lp[row * k + s.act[row] as usize];
                    }
                    g.buffer.push_policy(&r.input, &r.masks, &[], &s.act, &s.logp, &p.acting.values);
                }
                None => g.buffer.push_policy(&r.input, &r.masks, &r.penalties, &s.act, &s.logp, &p.acting.values),
            }
            for (r, &action) in s.act.iter().enumerate() {
                let (e, agent) = (r / g.agents.len(), g.agents[r % g.agents.len()]);
                s.joint[e * a + agent] = action;
                g.buffer.weights.push(if self.alive[e * a + agent] { 1.0 } else { 0.0 });
            }
        }
    }

    /// The fixed partners choose their actions in every copy.
    fn act_partners(&mut self, joint: &mut [u32], all: &mut [u32]) -> Result<(), AgentError> {
        let Some(partner) = &mut self.partner else { return Ok(()) };
        let a = self.spec.num_agents;
        let d = a * self.spec.obs_dim();
        for e in 0..self.venv.num_envs() {
            if let Some(env) = self.venv.env(e) {
                partner.act(env, &self.venv.obs()[e * d..(e + 1) * d], all)?;
                for &agent in &self.fixed {
                    joint[e * a + agent] = all[agent];
                }
            }
        }
        Ok(())
    }

    /// Agents that stopped send their first legal action; the env ignores it.
    fn replace_stopped_actions(&self, s: &mut StepScratch) {
        if !self.spec.has_action_mask {
            return;
        }
        let a = self.spec.num_agents;
        for e in 0..self.venv.num_envs() {
            let Some(env) = self.venv.env(e) else { continue };
            for agent in 0..a {
                if !env.is_legal(agent, s.joint[e * a + agent]) {
                    env.action_mask(agent, &mut s.mask);
                    s.joint[e * a + agent] = s.mask.iter().position(|&m| m).unwrap_or(0) as u32;
                }
            }
        }
    }

    /// What LASE agents see before the step: who is in view, and their own observations.
    fn lase_view(&self, s: &mut StepScratch) {
        let a = self.spec.num_agents;
        s.present.clear();
        for e in 0..self.venv.num_envs() {
            let env = self.venv.env(e);
            for i in 0..a {
                s.present.extend((0..a).map(|j| {
                    i != j && self.alive[e * a + i] && self.alive[e * a + j] && env.is_some_and(|v| can_see(v, i, j))
                }));
            }
        }
        s.own_obs.clear();
        for i in 0..a {
            agent_rows(&self.spec, self.venv.obs(), i, &mut s.own_obs);
        }
    }

    /// Each LASE agent's relationship toward each co-player it saw, for the step just taken.
    fn relationships(&self, s: &mut StepScratch) {
        let (n, a, d) = (self.venv.num_envs(), self.spec.num_agents, self.spec.obs_dim());
        s.w.clear();
        s.w.resize(n * a * a, 0.0);
        s.row.resize(n * a, 0.0);
        for (i, lase) in self.lase.iter().enumerate() {
            let Some(lase) = lase else { continue };
            let rule = lase.relate_to();
            let relates = |e: usize, j: usize| {
                rule.relates(self.alive[e * a + i] && self.alive[e * a + j], s.present[(e * a + i) * a + j])
            };
            lase.relationships(&s.own_obs[i * n * d..(i + 1) * n * d], &s.joint, relates, &mut s.row);
            for e in 0..n {
                s.w[(e * a + i) * a..(e * a + i + 1) * a].copy_from_slice(&s.row[e * a..(e + 1) * a]);
            }
        }
    }

    /// Stores each learner row's training reward (the shaped reward, less weighted costs when
    /// costs are weighted), its costs and whether its episode ended.
    fn record_outcomes(&mut self, shaped: &[f32]) {
        let (a, k) = (self.spec.num_agents, self.spec.num_costs());
        for g in &mut self.groups {
            let mut lane = 0;
            for e in 0..self.venv.num_envs() {
                for &agent in &g.agents {
                    let i = e * a + agent;
                    let was_alive = self.alive[i];
                    let (r, c) =
                        if was_alive { (shaped[i], &self.venv.costs()[i * k..(i + 1) * k]) } else { (0.0, &[][..]) };
                    let done =
                        !was_alive || self.venv.terminated()[i] || self.venv.truncated()[i] || self.venv.done()[e];
                    g.buffer.push_outcome(self.costs.train_reward(r, c), c, done);
                    g.starts[lane] = done;
                    lane += 1;
                }
            }
        }
    }

    /// Gives each LASE agent the step: its Q network's transition, the co-players it saw act,
    /// and its self-interested policy's sample.
    fn record_lase(&mut self, s: &StepScratch, raw: &[f32]) {
        let (n, a, d) = (self.venv.num_envs(), self.spec.num_agents, self.spec.obs_dim());
        for (i, lase) in self.lase.iter_mut().enumerate() {
            let Some(lase) = lase else { continue };
            let obs = &s.own_obs[i * n * d..(i + 1) * n * d];
            let ended = |e: usize| {
                let k = e * a + i;
                self.venv.terminated()[k] || self.venv.truncated()[k] || self.venv.done()[e]
            };
            for e in 0..n {
                let k = e * a + i;
                let step = (&obs[e * d..(e + 1) * d], &s.joint[e * a..(e + 1) * a], raw[k], ended(e));
                lase.record(e, self.alive[k].then_some(step));
                for j in (0..a).filter(|&j| s.present[k * a + j]) {
                    lase.record_view(&obs[e * d..(e + 1) * d], j, s.joint[e * a + j]);
                }
            }
            // the acting policy's masks for agent i this step (its group holds only i)
            let g = self.groups.iter().find(|g| g.agents == [i]).expect("LASE agents learn alone");
            let actions: Vec<u32> = (0..n).map(|e| s.joint[e * a + i]).collect();
            let live: Vec<bool> = (0..n).map(|e| self.alive[e * a + i]).collect();
            let rewards: Vec<f32> = (0..n).map(|e| raw[e * a + i]).collect();
            let dones: Vec<bool> = (0..n).map(|e| !self.alive[e * a + i] || ended(e)).collect();
            lase.record_policy(obs, g.buffer.last_masks(n), &actions, &live, &rewards, &dones);
        }
    }

    /// Collects the episodes that ended and marks who is still playing.
    fn end_episodes(&mut self, finished: &mut Vec<Finished>) {
        let a = self.spec.num_agents;
        for e in 0..self.venv.num_envs() {
            if let Some(ep) = self.venv.episode(e) {
                finished.push(Finished { length: ep.length, returns: ep.returns.to_vec(), costs: ep.costs.to_vec() });
            }
            for agent in 0..a {
                let i = e * a + agent;
                self.alive[i] =
                    self.venv.done()[e] || (self.alive[i] && !self.venv.terminated()[i] && !self.venv.truncated()[i]);
            }
        }
    }

    /// Per group: bootstrap values, GAE per head, the advantage the policy follows and the
    /// multipliers' step and the epochs' sample orders, group by group; then PPO's epochs of
    /// every group at once, one rayon task per group (the orders are drawn before, in group
    /// order, so a run is the same on any number of threads). Returns the losses and the
    /// multipliers by name.
    fn update_learners(&mut self, lr: f64, finished: &[Finished]) -> (Vec<UpdateStats>, BTreeMap<String, f64>) {
        let (n, a, k) = (self.venv.num_envs(), self.spec.num_agents, self.spec.num_costs());
        let heads = 1 + k;
        let (gamma, lambda) = (self.config.ppo.gamma, self.config.ppo.gae_lambda);
        let mut lagrange = BTreeMap::new();
        let mut input = Vec::new();
        let mut shuffles = Vec::with_capacity(self.groups.len());
        for g in &mut self.groups {
            let rows = n * g.agents.len();
            input.clear();
            let env_obs = a * self.spec.obs_dim();
            for e in 0..n {
                for &agent in &g.agents {
                    let obs = &self.venv.obs()[e * env_obs..(e + 1) * env_obs];
                    policy_input(&self.spec, self.config.shared_policy, obs, agent, &mut input);
                }
            }
            // Bootstrapping needs only values; masks do not change them. A recurrent network reads
            // a copy of its state: the next rollout's first step takes the same one forward.
            let (_, last) = g.learner.forward_in(&input, &[], &[], &mut g.state.clone(), &g.starts);
            debug_assert_eq!(last.len(), rows * heads);
            let per_head = g.buffer.compute_returns(&last, rows, gamma, lambda);
            // Multipliers follow the mean episode cost of this group's agents, and move before
            // the policy update that uses them (OmniSafe's order).
            let agents = &g.agents;
            let cost = |c: Option<usize>| mean_cost(finished, agents, k, c);
            let episodes = (!finished.is_empty()).then_some(&cost as &dyn Fn(Option<usize>) -> f64);
            g.buffer.advantages =
                self.costs.step_then_advantages(per_head, &mut g.multipliers, &g.buffer.weights, episodes);
            g.buffer.standardised = self.costs.standardises();
            shuffles.push(g.learner.shuffles(&g.buffer, &mut self.rng));
            let owner = if self.config.shared_policy { "shared" } else { self.spec.agents[g.agents[0]].as_str() };
            self.costs.named(owner, &g.multipliers, &mut lagrange);
        }
        let losses = self
            .groups
            .par_iter_mut()
            .zip(shuffles)
            .map(|(g, orders)| g.learner.update_in(&g.buffer, lr, &orders))
            .collect();
        (losses, lagrange)
    }

    /// Trains every LASE agent's networks; returns their losses and each giver's mean gift
    /// weight per step toward each co-player.
    fn update_lase(
        &mut self,
        lr: f64,
        gifts: &[f64],
        steps: usize,
    ) -> (BTreeMap<String, LaseStats>, BTreeMap<String, f64>) {
        let (n, a) = (self.venv.num_envs(), self.spec.num_agents);
        let (gamma, lambda) = (self.config.ppo.gamma, self.config.ppo.gae_lambda);
        let (mut stats, mut means) = (BTreeMap::new(), BTreeMap::new());
        // one task per LASE agent, each with its own generator drawn in agent order
        let jobs: Vec<(usize, &mut Lase, Rng)> = self
            .lase
            .iter_mut()
            .enumerate()
            .filter_map(|(i, lase)| lase.as_mut().map(|l| (i, l)))
            .map(|(i, l)| (i, l, Rng::new(self.rng.next_u64())))
            .collect();
        let (spec, obs) = (&self.spec, self.venv.obs());
        let done: Vec<(usize, LaseStats)> = jobs
            .into_par_iter()
            .map(|(i, lase, mut rng)| {
                let mut last = Vec::with_capacity(n * spec.obs_dim());
                agent_rows(spec, obs, i, &mut last);
                (i, lase.update(&last, lr, gamma, lambda, &mut rng))
            })
            .collect();
        for (i, s) in done {
            stats.insert(self.spec.agents[i].clone(), s);
            for j in (0..a).filter(|&j| j != i) {
                let name = format!("{}->{}", self.spec.agents[i], self.spec.agents[j]);
                means.insert(name, gifts[i * a + j] / (steps * n) as f64);
            }
        }
        (stats, means)
    }

    /// The iteration's line of `metrics.jsonl`.
    #[allow(clippy::too_many_arguments)]
    fn summarise(
        &self,
        finished: &[Finished],
        sps: f64,
        lr: f64,
        losses: Vec<UpdateStats>,
        lagrange: BTreeMap<String, f64>,
        gifts: BTreeMap<String, f64>,
        lase: BTreeMap<String, LaseStats>,
    ) -> Iteration {
        let (a, k) = (self.spec.num_agents, self.spec.num_costs());
        let episodes = finished.len();
        let mean = |f: &dyn Fn(&Finished) -> f64| {
            (episodes > 0).then(|| finished.iter().map(f).sum::<f64>() / episodes as f64)
        };
        let everyone: Vec<usize> = (0..a).collect();
        let costs = if episodes == 0 {
            BTreeMap::new()
        } else {
            let names = self.spec.cost_spec.names();
            names
                .iter()
                .enumerate()
                .map(|(c, name)| (name.to_string(), mean_cost(finished, &everyone, k, Some(c))))
                .collect()
        };
        Iteration {
            update: self.update,
            global_step: self.global_step,
            sps,
            learning_rate: lr,
            episodes,
            episodic_return: mean(&|f| f.returns.iter().map(|&x| x as f64).sum::<f64>() / a as f64),
            episodic_length: mean(&|f| f.length as f64),
            costs,
            lagrange,
            losses,
            gifts,
            lase,
        }
    }

    /// This trainer's policies as a [`Policy`] (sampling, or greedy when `greedy`).
    pub fn policy(&self, seed: u64, greedy: bool) -> TrainedPolicy<'_> {
        let partner = self.partner.as_ref().and_then(|_| {
            make_policy(&self.config.partner_policy, &self.spec.id, &self.env_config, seed ^ 0xFA57).ok()
        });
        TrainedPolicy {
            states: self.groups.iter().map(|g| vec![0.0; g.agents.len() * g.learner.state_size()]).collect(),
            groups: self.groups.iter().map(|g| (g.agents.as_slice(), &g.learner)).collect(),
            partner,
            shared: self.config.shared_policy,
            conscience: self.conscience.as_ref(),
            rng: Rng::new(seed),
            greedy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MACHIAVELLI's conscience acts at selection only: the rollout keeps no penalties, so the
    /// update learns the unpenalised policy; moralgym's form keeps them for the update.
    #[test]
    fn a_selection_only_conscience_leaves_the_update_without_penalties() {
        let env = serde_json::json!({"game": "heist"});
        for (applies, stored) in [(Applies::Selection, false), (Applies::RolloutAndUpdate, true)] {
            let venv = VecEnv::make("TextGame-v0", &env, 2, 1).expect("env");
            let conscience = ConscienceConfig { applies, ..ConscienceConfig::default() };
            let ppo = PpoConfig { num_steps: 16, ..PpoConfig::default() };
            let config = TrainerConfig { ppo, conscience: Some(conscience), ..TrainerConfig::default() };
            let mut t = Trainer::new(venv, &env, config, 64, 1, &burn::tensor::Device::flex()).expect("trainer");
            t.iterate().expect("one iteration");
            let b = &t.groups[0].buffer;
            assert_eq!(!b.penalties.is_empty(), stored, "{applies:?}");
            assert!(b.logp.iter().all(|l| l.is_finite() && *l <= 0.0), "{applies:?}: log-probabilities");
        }
    }

    /// A recurrent policy's update replays each lane's sequence from the state the rollout
    /// started with, zeroing it where an episode started: before the first gradient step it
    /// reproduces the log-probabilities the rollout sampled with, on the first rollout (from
    /// zero states) and on later ones (from carried states, with episode ends inside the
    /// rollout: the Coin Game's 100-step episodes in 128-step rollouts).
    #[test]
    fn a_recurrent_update_replays_the_rollout_it_learns_from() {
        let venv = VecEnv::make("CoinGame-v1", &serde_json::Value::Null, 3, 1).expect("env");
        // burn's default start: the policy's logits are not scaled down, so they depend on the state
        let init = crate::model::Init::KaimingUniform;
        let ppo = PpoConfig { lstm_size: Some(8), hidden: vec![16], num_minibatches: 3, init, ..PpoConfig::default() };
        let config = TrainerConfig { ppo, ..TrainerConfig::default() };
        let mut t = Trainer::new(venv, &serde_json::Value::Null, config, 4096, 2, &burn::tensor::Device::flex())
            .expect("trainer");
        assert_eq!(t.groups[0].learner.state_size(), 32);
        for i in 0..3 {
            let it = t.iterate().expect("an iteration");
            let b = &t.groups[0].buffer;
            assert!(b.starts.iter().skip(b.lanes).any(|&s| s), "episodes start inside rollout {i}");
            assert_eq!(i > 0, b.initial_state.iter().any(|&x| x != 0.0), "rollout {i} starts from the carried state");
            for l in &it.losses {
                assert!(
                    l.old_approx_kl.abs() < 1e-7,
                    "rollout {i}: replayed log-probabilities differ: {}",
                    l.old_approx_kl
                );
            }
        }
    }
}
