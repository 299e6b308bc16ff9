//! LASE (Kong et al., NeurIPS 2024): an agent that learns how much each co-player's action helps
//! it and gifts it a share of its reward accordingly.
//!
//! Per LASE agent `i`:
//! - a joint-action Q network `Q_i(o_i, a)` trained on i's own reward before gifts, with SARSA
//!   targets `r + gamma * Q_i(o', a')` from a replay of its recent steps;
//! - a self-interested policy `pi_i` (PPO on i's own reward, from the steps the acting policy
//!   takes) that serves as i's model of how a co-player would act;
//! - a perspective taker `PT_i(o_i, onehot(j)) -> o_hat_j` (or none: `o_hat_j = o_i`), trained so
//!   that `pi_i(o_hat_j)` predicts j's actions while `o_hat_j` stays near `o_i`;
//! - the relationship `w_ij` of [`crate::social::relationship`] with `pi_i(o_hat_j)` as the
//!   counterfactual policy; 0 for co-players i cannot see.
//!
//! The acting policy, trained on the gifted reward, lives in the trainer like any other learner.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use moralgym_envs::Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::buffer::{RolloutBuffer, tensor2};
use crate::error::{AgentError, setting};
use crate::model::{Activation, Mlp};
use crate::ppo::{PpoConfig, PpoLearner, UpdateStats, clip_global_norm, load_weights, save_weights, seeded};
use crate::social::relationship;

/// Where LASE's view of a co-player comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Perspective {
    /// A learned perspective taker in partially observed games, the identity in fully observed ones.
    #[default]
    Auto,
    /// Always a learned perspective taker.
    Learned,
    /// `o_hat_j = o_i`: "LASE without perspective taking".
    Identity,
}

/// Toward which co-players a LASE agent computes its relationship w_ij.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelateTo {
    /// Every co-player still taking part, seen or not (the authors' code; visibility only masks
    /// the perspective-taking loss).
    #[default]
    Every,
    /// Only co-players in view; w_ij = 0 for the others (moralgym v0).
    Visible,
}

impl RelateTo {
    /// Whether i relates to co-player j at a step: both taking part and, for `Visible`, j in
    /// i's view.
    pub fn relates(self, both_take_part: bool, in_view: bool) -> bool {
        both_take_part && (self == RelateTo::Every || in_view)
    }
}

/// The `[social.lase]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LaseConfig {
    /// How i imagines co-player j's observation: `auto`, `learned` or `identity`.
    pub perspective: Perspective,
    /// Added to the range of Q in the relationship's denominator (the authors add none; a flat Q,
    /// where j's action does not matter, gives w = 0 either way).
    pub epsilon: f64,
    /// Which co-players the relationship is computed toward.
    pub relate_to: RelateTo,
    /// Hidden layers of the Q network and of the perspective taker.
    pub hidden: Vec<usize>,
    /// Adam learning rate of the Q network.
    pub q_learning_rate: f64,
    /// Discount of the Q network's SARSA target (the authors' 0.99; the acting policy's is
    /// `ppo.gamma`).
    pub q_gamma: f64,
    /// Adam learning rate of the perspective taker.
    pub pt_learning_rate: f64,
    /// Weight d of the distance term in the perspective-taking loss.
    pub pt_distance: f64,
    /// Steps kept in the replay (per agent).
    pub replay_size: usize,
    /// Samples per gradient step of the Q network and the perspective taker.
    pub batch_size: usize,
    /// Gradient steps of each per iteration.
    pub updates: usize,
    /// Global gradient-norm limit of both.
    pub max_grad_norm: f64,
}

impl Default for LaseConfig {
    fn default() -> Self {
        Self {
            perspective: Perspective::Auto,
            epsilon: 0.0,
            relate_to: RelateTo::Every,
            hidden: vec![64, 64],
            q_learning_rate: 1e-3,
            q_gamma: 0.99,
            pt_learning_rate: 1e-3,
            pt_distance: 0.1,
            replay_size: 20_000,
            batch_size: 256,
            updates: 32,
            max_grad_norm: 1.0,
        }
    }
}

/// Most bytes one LASE agent's replay memory may take (4 GiB).
pub const MAX_REPLAY_BYTES: u128 = 4 << 30;

impl LaseConfig {
    /// Refuses networks over [`crate::ppo::MAX_PARAMETERS`] (the Q network and the perspective
    /// taker together, for `obs_dim` observation floats, `agents` agents and `actions` actions)
    /// and a replay memory over [`MAX_REPLAY_BYTES`], before anything is allocated.
    pub fn check_size(&self, obs_dim: usize, agents: usize, actions: usize) -> Result<(), AgentError> {
        let net = |inputs: u128, outputs: u128| {
            let (mut n, mut prev) = (0u128, inputs);
            for &h in &self.hidden {
                n += (prev + 1) * h as u128;
                prev = h as u128;
            }
            n + (prev + 1) * outputs
        };
        let (d, a, k) = (obs_dim as u128, agents as u128, actions as u128);
        let params = net(d + a * k, 1) + net(d + a, d);
        if params > crate::ppo::MAX_PARAMETERS {
            return Err(setting(
                "social.lase.hidden",
                format!(
                    "gives {params} parameters for {obs_dim} inputs, over the budget of {}",
                    crate::ppo::MAX_PARAMETERS
                ),
            ));
        }
        // Each replay entry holds two steps: an observation and a joint action each.
        let entry = 2 * (4 * d + 4 * a + 64);
        let bytes = self.replay_size as u128 * entry;
        if bytes > MAX_REPLAY_BYTES {
            return Err(setting(
                "social.lase.replay_size",
                format!(
                    "{} entries of {entry} bytes for these observations are {bytes} bytes, over the budget of {MAX_REPLAY_BYTES} (4 GiB)",
                    self.replay_size
                ),
            ));
        }
        Ok(())
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), AgentError> {
        let fail = |what: &str| Err(setting("social.lase", what));
        if self.hidden.contains(&0) || self.replay_size == 0 || self.batch_size == 0 {
            return fail("hidden sizes, replay_size and batch_size must be at least 1");
        }
        if self.replay_size > 10_000_000 || self.batch_size > 1_000_000 || self.updates > 100_000 {
            return fail("replay_size must be at most 10,000,000, batch_size 1,000,000, updates 100,000");
        }
        if !(self.q_learning_rate > 0.0 && self.pt_learning_rate > 0.0 && self.epsilon >= 0.0) {
            return fail("learning rates must be > 0 and epsilon >= 0");
        }
        if !(0.0..=1.0).contains(&self.q_gamma) {
            return fail("q_gamma must be in [0, 1]");
        }
        if !(0.0..=1.0).contains(&self.pt_distance) {
            return fail("pt_distance must be in [0, 1]");
        }
        Ok(())
    }
}

/// LASE's perspective-taking loss over a batch: `(1 - d) * CE(pi(o_hat), a_j) + d * |o_hat - o|_1`,
/// both terms averaged over rows; `logp` are the policy's log-probabilities on `o_hat`.
pub fn perspective_loss(logp: Tensor<2>, actions: Tensor<2, Int>, o_hat: Tensor<2>, o: Tensor<2>, d: f64) -> Tensor<1> {
    let ce = logp.gather(1, actions).mean().neg();
    let l1 = (o_hat - o).abs().sum_dim(1).mean();
    ce.mul_scalar(1.0 - d) + l1.mul_scalar(d)
}

/// A perspective taker's output for rows `[o_i, onehot(who[r])]`, `obs` holding one `obs_dim` row
/// per entry of `who`.
fn imagine(net: &Mlp, obs: &[f32], who: &[usize], obs_dim: usize, agents: usize, device: &Device) -> Tensor<2> {
    let mut x = Vec::with_capacity(who.len() * (obs_dim + agents));
    for (row, &j) in obs.chunks(obs_dim).zip(who) {
        x.extend_from_slice(row);
        x.extend((0..agents).map(|k| if k == j { 1.0 } else { 0.0 }));
    }
    net.forward(tensor2(x, who.len(), obs_dim + agents, device))
}

/// Losses of one LASE update.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LaseStats {
    /// Mean squared SARSA error of the Q network.
    pub q_loss: f64,
    /// Perspective-taking loss (0 without a perspective taker or visible co-players).
    pub pt_loss: f64,
    /// The self-interested policy's PPO update.
    pub selfish: UpdateStats,
}

struct Net {
    model: Mlp,
    infer: Mlp,
    optim: ModuleOptimizer,
}

impl Net {
    fn new(inputs: usize, outputs: usize, hidden: &[usize], device: &Device, seed: u64) -> Self {
        let train = device.clone().autodiff();
        let model = seeded(&train, seed, |d| {
            let m = Mlp::new(inputs, outputs, hidden, Activation::Relu, d);
            let _ = m.forward(Tensor::<2>::zeros([1, inputs], d));
            m
        });
        Self { infer: model.valid(), model, optim: AdamConfig::new().init() }
    }

    fn step(&mut self, loss: Tensor<1>, lr: f64, max_norm: f64) -> f64 {
        let value = loss.clone().into_scalar::<f32>() as f64;
        let mut grads = GradientsParams::from_grads(loss.backward(), &self.model);
        clip_global_norm(&self.model, &mut grads, max_norm);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        value
    }

    fn save(&self, path: &Path) -> Result<(), AgentError> {
        save_weights(&self.infer, path)
    }

    fn load(&mut self, path: &Path) -> Result<(), AgentError> {
        self.model = load_weights(&self.model, path)?;
        self.infer = self.model.valid();
        Ok(())
    }
}

/// One step of one env copy as the replay keeps it.
#[derive(Clone)]
struct Step {
    obs: Vec<f32>,
    joint: Vec<u32>,
    reward: f32,
    done: bool,
}

/// Everything LASE agent `agent` learns besides its acting policy.
pub struct Lase {
    agent: usize,
    agents: usize,
    actions: usize,
    obs_dim: usize,
    config: LaseConfig,
    device: Device,
    q: Net,
    pt: Option<Net>,
    /// The self-interested policy.
    selfish: PpoLearner,
    /// Transitions (step, next step) in a ring.
    replay: Vec<(Step, Step)>,
    next: usize,
    pending: Vec<Option<Step>>,
    /// This rollout's (o_i, j, a_j) for visible co-players j.
    pt_obs: Vec<f32>,
    pt_who: Vec<usize>,
    pt_actions: Vec<u32>,
    /// The self-interested policy's rollout (its own rewards).
    buffer: RolloutBuffer,
}

impl Lase {
    /// LASE modules for `agent` of `agents`, each seeing `obs_dim` floats and choosing among
    /// `actions`, with `copies` env copies; the self-interested policy uses `ppo`. `partial` says
    /// whether the env is partially observed (for `Perspective::Auto`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        agent: usize,
        agents: usize,
        obs_dim: usize,
        actions: usize,
        copies: usize,
        partial: bool,
        config: &LaseConfig,
        ppo: &PpoConfig,
        device: &Device,
        seed: u64,
    ) -> Self {
        let q = Net::new(obs_dim + agents * actions, 1, &config.hidden, device, seed ^ 0x51);
        let learned = match config.perspective {
            Perspective::Auto => partial,
            Perspective::Learned => true,
            Perspective::Identity => false,
        };
        let pt = learned.then(|| Net::new(obs_dim + agents, obs_dim, &config.hidden, device, seed ^ 0x9E));
        Self {
            agent,
            agents,
            actions,
            obs_dim,
            config: config.clone(),
            device: device.clone(),
            q,
            pt,
            selfish: PpoLearner::new(obs_dim, actions, 0, ppo, device, seed ^ 0x5E1F),
            replay: Vec::new(),
            next: 0,
            pending: vec![None; copies],
            pt_obs: Vec::new(),
            pt_who: Vec::new(),
            pt_actions: Vec::new(),
            buffer: RolloutBuffer::new(obs_dim, actions, 0),
        }
    }

    fn q_input(&self, obs: &[f32], joint: &[u32], out: &mut Vec<f32>) {
        out.extend_from_slice(obs);
        let base = out.len();
        out.resize(base + self.agents * self.actions, 0.0);
        for (k, &a) in joint.iter().enumerate() {
            out[base + k * self.actions + a as usize] = 1.0;
        }
    }

    /// Toward which co-players this agent computes relationships.
    pub fn relate_to(&self) -> RelateTo {
        self.config.relate_to
    }

    /// Writes this agent's relationships `w[e * agents + j]` toward each co-player in each env
    /// copy, from its observations `obs[e * obs_dim..]` and the joint actions `joint[e * agents..]`
    /// taken there; `present(e, j)` says whether i relates to j there (else w = 0).
    pub fn relationships(&self, obs: &[f32], joint: &[u32], present: impl Fn(usize, usize) -> bool, w: &mut [f32]) {
        w.fill(0.0);
        let (d, a, k) = (self.obs_dim, self.agents, self.actions);
        let copies = joint.len() / a;
        let pairs: Vec<(usize, usize)> = (0..copies)
            .flat_map(|e| (0..a).map(move |j| (e, j)))
            .filter(|&(e, j)| j != self.agent && present(e, j))
            .collect();
        if pairs.is_empty() {
            return;
        }
        let mut x = Vec::with_capacity(pairs.len() * k * (d + a * k));
        let mut views = Vec::with_capacity(pairs.len() * d);
        let mut alt = vec![0u32; a];
        for &(e, j) in &pairs {
            let o = &obs[e * d..(e + 1) * d];
            alt.copy_from_slice(&joint[e * a..(e + 1) * a]);
            for choice in 0..k {
                alt[j] = choice as u32;
                self.q_input(o, &alt, &mut x);
            }
            views.extend_from_slice(o);
        }
        let q: Vec<f32> = self
            .q
            .infer
            .forward(tensor2(x, pairs.len() * k, d + a * k, &self.device))
            .into_data()
            .try_into_vec()
            .expect("f32");
        if let Some(pt) = &self.pt {
            let who: Vec<usize> = pairs.iter().map(|p| p.1).collect();
            let o_hat = imagine(&pt.infer, &views, &who, d, a, &self.device);
            views = o_hat.into_data().try_into_vec().expect("f32");
        }
        let (logp, _) = self.selfish.forward(&views, &[], &[]);
        let eps = self.config.epsilon as f32;
        for (r, &(e, j)) in pairs.iter().enumerate() {
            let probs: Vec<f32> = logp[r * k..(r + 1) * k].iter().map(|l| l.exp()).collect();
            w[e * a + j] = relationship(&q[r * k..(r + 1) * k], joint[e * a + j] as usize, &probs, eps);
        }
    }

    /// Records one step of env copy `e` for the Q network: i's observation before the step, the
    /// joint action, i's own reward and whether i's episode ended. `None` (i not taking part)
    /// drops the copy's pending step.
    pub fn record(&mut self, e: usize, step: Option<(&[f32], &[u32], f32, bool)>) {
        let Some((obs, joint, reward, done)) = step else {
            self.pending[e] = None;
            return;
        };
        let now = Step { obs: obs.to_vec(), joint: joint.to_vec(), reward, done };
        if let Some(prev) = self.pending[e].replace(now.clone()) {
            self.push((prev, now.clone()));
        }
        if done {
            // an episode's last step has no successor (its target is its reward): it stands in
            self.pending[e] = None;
            self.push((now.clone(), now));
        }
    }

    fn push(&mut self, t: (Step, Step)) {
        if self.replay.len() < self.config.replay_size {
            self.replay.push(t);
        } else {
            self.replay[self.next] = t;
        }
        self.next = (self.next + 1) % self.config.replay_size;
    }

    /// Records that i saw co-player `j` take `action` when i's observation was `obs`.
    pub fn record_view(&mut self, obs: &[f32], j: usize, action: u32) {
        self.pt_obs.extend_from_slice(obs);
        self.pt_who.push(j);
        self.pt_actions.push(action);
    }

    /// Records one vector step of the self-interested policy: i's observations in each copy
    /// (`copies * obs_dim`), masks (empty if none), the actions i took, whether i was taking part,
    /// its own rewards and episode ends.
    pub fn record_policy(
        &mut self,
        obs: &[f32],
        masks: &[bool],
        actions: &[u32],
        live: &[bool],
        rewards: &[f32],
        dones: &[bool],
    ) {
        let (lp, values) = self.selfish.forward(obs, masks, &[]);
        let k = self.actions;
        let logp: Vec<f32> = actions.iter().enumerate().map(|(r, &a)| lp[r * k + a as usize]).collect();
        let b = &mut self.buffer;
        b.push_policy(obs, masks, &[], actions, &logp, &values);
        b.weights.extend(live.iter().map(|&l| if l { 1.0 } else { 0.0 }));
        for (&r, &done) in rewards.iter().zip(dones) {
            b.push_outcome(r, &[], done);
        }
    }

    /// Trains the Q network, the perspective taker and the self-interested policy on what was
    /// recorded; `last_obs` (copies * obs_dim) bootstraps the policy's values.
    pub fn update(&mut self, last_obs: &[f32], lr: f64, gamma: f64, lambda: f64, rng: &mut Rng) -> LaseStats {
        let mut stats = LaseStats {
            q_loss: self.train_q(self.config.q_gamma, rng),
            pt_loss: self.train_pt(rng),
            ..Default::default()
        };
        let copies = self.pending.len();
        let (_, last) = self.selfish.forward(last_obs, &[], &[]);
        self.buffer.advantages = self.buffer.compute_returns(&last, copies, gamma, lambda).swap_remove(0);
        if !self.buffer.is_empty() {
            stats.selfish = self.selfish.update(&self.buffer, lr, rng);
        }
        self.buffer.clear();
        self.pt_obs.clear();
        self.pt_who.clear();
        self.pt_actions.clear();
        stats
    }

    fn train_q(&mut self, gamma: f64, rng: &mut Rng) -> f64 {
        if self.replay.is_empty() {
            return 0.0;
        }
        let w = self.obs_dim + self.agents * self.actions;
        let train = self.device.clone().autodiff();
        let b = self.config.batch_size.min(self.replay.len());
        let target_net = self.q.infer.clone(); // targets from the network as it was at the start
        let mut total = 0.0;
        for _ in 0..self.config.updates {
            let (mut x, mut x_next, mut r, mut live) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..b {
                let (now, next) = &self.replay[rng.below(self.replay.len())];
                self.q_input(&now.obs, &now.joint, &mut x);
                self.q_input(&next.obs, &next.joint, &mut x_next);
                r.push(now.reward);
                live.push(if now.done { 0.0 } else { 1.0 });
            }
            let next_q: Vec<f32> =
                target_net.forward(tensor2(x_next, b, w, &self.device)).into_data().try_into_vec().expect("f32");
            let target: Vec<f32> = (0..b).map(|i| r[i] + gamma as f32 * live[i] * next_q[i]).collect();
            let pred = self.q.model.forward(tensor2(x, b, w, &train));
            let loss = (pred - tensor2(target, b, 1, &train)).square().mean();
            total += self.q.step(loss, self.config.q_learning_rate, self.config.max_grad_norm);
        }
        self.q.infer = self.q.model.valid();
        total / self.config.updates.max(1) as f64
    }

    fn train_pt(&mut self, rng: &mut Rng) -> f64 {
        let Some(pt) = &mut self.pt else { return 0.0 };
        let m = self.pt_who.len();
        if m == 0 {
            return 0.0;
        }
        let (d, a) = (self.obs_dim, self.agents);
        let train = self.device.clone().autodiff();
        let b = self.config.batch_size.min(m);
        let mut total = 0.0;
        for _ in 0..self.config.updates {
            let idx: Vec<usize> = (0..b).map(|_| rng.below(m)).collect();
            let obs: Vec<f32> = idx.iter().flat_map(|&i| self.pt_obs[i * d..(i + 1) * d].iter().copied()).collect();
            let who: Vec<usize> = idx.iter().map(|&i| self.pt_who[i]).collect();
            let o_hat = imagine(&pt.model, &obs, &who, d, a, &train);
            // the self-interested policy reads the imagined view; only the perspective taker learns
            let logp = log_softmax(self.selfish.model().logits(o_hat.clone()), 1);
            let actions: Vec<i64> = idx.iter().map(|&i| self.pt_actions[i] as i64).collect();
            let actions = Tensor::<2, Int>::from_data(TensorData::new(actions, [b, 1]), &train);
            let loss = perspective_loss(logp, actions, o_hat, tensor2(obs, b, d, &train), self.config.pt_distance);
            total += pt.step(loss, self.config.pt_learning_rate, self.config.max_grad_norm);
        }
        pt.infer = pt.model.valid();
        total / self.config.updates.max(1) as f64
    }

    /// Saves the Q network, the perspective taker and the self-interested policy as
    /// `<stem>.q.bpk`, `<stem>.pt.bpk`, `<stem>.selfish.bpk` in `dir`.
    pub fn save(&self, dir: &Path, stem: &str) -> Result<(), AgentError> {
        self.q.save(&dir.join(format!("{stem}.q.bpk")))?;
        if let Some(pt) = &self.pt {
            pt.save(&dir.join(format!("{stem}.pt.bpk")))?;
        }
        self.selfish.save(&dir.join(format!("{stem}.selfish.bpk")))
    }

    /// Loads what [`Lase::save`] wrote.
    pub fn load(&mut self, dir: &Path, stem: &str) -> Result<(), AgentError> {
        self.q.load(&dir.join(format!("{stem}.q.bpk")))?;
        if let Some(pt) = &mut self.pt {
            pt.load(&dir.join(format!("{stem}.pt.bpk")))?;
        }
        self.selfish.load(&dir.join(format!("{stem}.selfish.bpk")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perspective_loss_matches_a_hand_computation() {
        let device = Device::flex();
        // two rows, two actions
        let logp = tensor2(vec![(0.25f32).ln(), (0.75f32).ln(), (0.5f32).ln(), (0.5f32).ln()], 2, 2, &device);
        let actions = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 0], [2, 1]), &device);
        let o_hat = tensor2(vec![1.0, 0.0, 0.5, 0.5], 2, 2, &device);
        let o = tensor2(vec![0.0, 0.0, 0.5, 1.5], 2, 2, &device);
        let got = perspective_loss(logp, actions, o_hat, o, 0.1).into_scalar::<f32>();
        // CE = -(ln 0.75 + ln 0.5) / 2; L1 = (1 + 1) / 2 = 1
        let ce = -((0.75f32).ln() + (0.5f32).ln()) / 2.0;
        let want = 0.9 * ce + 0.1 * 1.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn the_q_network_learns_what_a_co_player_is_worth() {
        // a one-step game: i gets 4 when j (agent 1) plays 0, else 0, whatever i does
        let device = Device::flex();
        let config = LaseConfig { updates: 200, ..Default::default() };
        let mut lase = Lase::new(0, 2, 1, 2, 1, false, &config, &PpoConfig::default(), &device, 4);
        let mut rng = Rng::new(1);
        for t in 0..400 {
            let joint = [(t % 2) as u32, ((t / 2) % 2) as u32];
            let r = if joint[1] == 0 { 4.0 } else { 0.0 };
            lase.record(0, Some((&[1.0], &joint, r, true)));
        }
        lase.train_q(0.99, &mut rng);
        let mut w = [0.0; 2];
        lase.relationships(&[1.0], &[0, 0], |_, _| true, &mut w);
        assert!(w[0] == 0.0 && w[1] > 0.2, "j's helpful action earns a positive relationship: {w:?}");
        lase.relationships(&[1.0], &[0, 1], |_, _| true, &mut w);
        assert!(w[1] < -0.2, "its harmful one a negative relationship: {w:?}");
        lase.relationships(&[1.0], &[0, 0], |_, _| false, &mut w);
        assert_eq!(w, [0.0, 0.0], "no relationship toward a co-player it does not relate to");
    }

    /// The authors compute w_ij toward every co-player; visibility only masks the perspective
    /// taker's loss. Relating to visible co-players only is the named variant.
    #[test]
    fn relationships_cover_every_co_player_by_default() {
        assert_eq!(LaseConfig::default().relate_to, RelateTo::Every);
        assert!(LaseConfig::default().check_size(1000, 4, 8).is_ok(), "the defaults on a large grid view");
        let wide = LaseConfig { hidden: vec![65_536, 65_536], ..Default::default() };
        assert!(wide.check_size(10, 2, 4).unwrap_err().to_string().contains("social.lase.hidden"));
        let long = LaseConfig { replay_size: 10_000_000, ..Default::default() };
        assert!(long.check_size(1000, 4, 8).unwrap_err().to_string().contains("social.lase.replay_size"));
        assert_eq!(LaseConfig::default().epsilon, 0.0, "no epsilon, as the authors");
        for (rule, part, seen, want) in [
            (RelateTo::Every, true, false, true),
            (RelateTo::Every, true, true, true),
            (RelateTo::Every, false, true, false),
            (RelateTo::Visible, true, false, false),
            (RelateTo::Visible, true, true, true),
            (RelateTo::Visible, false, true, false),
        ] {
            assert_eq!(rule.relates(part, seen), want, "{rule:?} taking part {part}, in view {seen}");
        }
    }
}
