//! PPO for discrete actions with action masks, following CleanRL's `ppo.py`: clipped surrogate,
//! optional value clipping, entropy bonus, advantage normalisation, global-norm gradient
//! clipping, minibatch epochs. Reading order: the hyper-parameters, the learner's `act` (what a
//! rollout samples), `update` (epochs of minibatches from the [`RolloutBuffer`], which holds the
//! rollout and computes GAE per value head) and `losses` (the gradient step's objective); the
//! gradient clip is below. The settings are in `config.rs`; `fused.rs` is the fused CPU engine
//! that computes the same gradient step by hand (docs/training.md says why it exists).

use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::store::ModuleRecord;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use moralgym_envs::Rng;

mod config;
mod fused;

pub use config::{Engine, MAX_PARAMETERS, MAX_UPDATE_EPOCHS, PpoConfig, UpdateStats};
pub(crate) use config::{MASKED_LOGIT, StepStats};
pub use fused::Forward;
use fused::{Adam, AdamRecord, FusedActorCritic};

use crate::buffer::{Minibatch, RolloutBuffer, illegal, standardise, tensor2};
use crate::error::{AgentError, setting};
use crate::model::{ActorCritic, Architecture, LstmState, PolicyHead, Sequences, Torso};

/// PPO's losses and diagnostics on one minibatch, as scalars on the training device.
struct Losses {
    policy: Tensor<1>,
    value: Tensor<1>,
    entropy: Tensor<1>,
    old_approx_kl: Tensor<1>,
    approx_kl: Tensor<1>,
    clipfrac: Tensor<1>,
}

/// One policy and its optimizer.
pub struct PpoLearner {
    model: ActorCritic,
    infer: ActorCritic,
    optim: ModuleOptimizer,
    /// The fused CPU step's copy of the weights and its Adam state, when it computes the updates
    /// (the burn networks then mirror its weights after every update).
    fused: Option<FusedActorCritic>,
    device: Device,
    config: PpoConfig,
    obs_dim: usize,
    actions: usize,
}

/// Serialises weight initialisation (see [`PpoLearner::new`]).
static INIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds a network whose weights are drawn from `seed`. burn draws initial weights from a
/// process-wide generator, and lazily, on a parameter's first use: `build` must create the network
/// and touch every parameter, all under one lock, so that runs in parallel threads stay
/// reproducible.
pub(crate) fn seeded<M>(device: &Device, seed: u64, build: impl FnOnce(&Device) -> M) -> M {
    let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    build(device)
}

impl PpoLearner {
    /// A fresh policy for `obs_dim` inputs, `actions` actions and `costs` cost components, on
    /// `device` (gradients are taken on `device.autodiff()`), its weights drawn from `seed`. Its
    /// network is a feed-forward MLP whatever `ppo.torso` and `ppo.lstm_size` say: a
    /// convolutional torso needs the observation's planes, and a recurrent layer a caller that
    /// carries its state ([`PpoLearner::configured`]).
    pub fn new(obs_dim: usize, actions: usize, costs: usize, config: &PpoConfig, device: &Device, seed: u64) -> Self {
        Self::build(None, None, [obs_dim, actions, costs], config, device, seed)
    }

    /// [`PpoLearner::new`] with the torso `ppo.torso` names and the recurrent layer
    /// `ppo.lstm_size` asks for. With `cnn`, the convolutions read the first `c * h * w` of the
    /// `obs_dim` inputs as the planes `[c, h, w]` (the rest join their flattened output). Fails,
    /// naming `ppo.torso`, `ppo.cnn` or `ppo.lstm_size`, when they do not fit.
    #[allow(clippy::too_many_arguments)]
    pub fn configured(
        planes: [usize; 3],
        obs_dim: usize,
        actions: usize,
        costs: usize,
        config: &PpoConfig,
        device: &Device,
        seed: u64,
    ) -> Result<Self, AgentError> {
        let planes = match config.torso {
            Torso::Mlp => None,
            Torso::Cnn => {
                let [c, h, w] = planes;
                if c * h * w > obs_dim || c * h * w == 0 {
                    let what =
                        format!("needs [channels, height, width] planes within the {obs_dim} inputs, not {planes:?}");
                    return Err(setting("ppo.torso", what));
                }
                config.cnn.output(planes).map_err(|e| setting("ppo.cnn", e))?;
                Some(planes)
            }
        };
        if config.lstm_size.is_some() && config.policy != PolicyHead::Mlp {
            return Err(setting("ppo.lstm_size", "the choice scorer has no recurrent form; use policy = \"mlp\""));
        }
        Ok(Self::build(planes, config.lstm_size, [obs_dim, actions, costs], config, device, seed))
    }

    /// The network for `[obs_dim, actions, costs]` with the given torso planes and LSTM units.
    fn build(
        planes: Option<[usize; 3]>,
        lstm: Option<usize>,
        [obs_dim, actions, costs]: [usize; 3],
        config: &PpoConfig,
        device: &Device,
        seed: u64,
    ) -> Self {
        let train = device.clone().autodiff();
        let model = seeded(&train, seed, |d| {
            let arch = Architecture {
                hidden: &config.hidden,
                activation: config.activation,
                head: config.policy,
                init: config.init,
                conv: planes.map(|p| (&config.cnn, p)),
                lstm,
            };
            let model = ActorCritic::new(obs_dim, actions, costs, arch, d);
            let probe = Tensor::<2>::zeros([1, obs_dim], d);
            let _ = (model.logits(probe.clone()), model.values(probe));
            model
        });
        let optim = AdamConfig::new().with_epsilon(config.adam_epsilon).init();
        let plain = config.policy == PolicyHead::Mlp && planes.is_none() && lstm.is_none();
        let fused = (config.engine == Engine::Auto && plain && *device == Device::flex()).then(|| {
            FusedActorCritic::from_model(&model, &config.hidden, config.activation, [obs_dim, actions, 1 + costs])
        });
        let (config, device) = (config.clone(), device.clone());
        Self { infer: model.valid(), model, optim, fused, device, config, obs_dim, actions }
    }

    /// Samples an action for each of `n` rows of `obs` (respecting `masks` if given, and
    /// subtracting a conscience's `penalties` from the logits if given), writing the actions, their
    /// log-probabilities and the `1 + costs` values per row. With `greedy` the most likely legal
    /// action is taken instead.
    #[allow(clippy::too_many_arguments)]
    pub fn act(
        &self,
        obs: &[f32],
        masks: &[bool],
        penalties: &[f32],
        rng: &mut Rng,
        greedy: bool,
        actions: &mut [u32],
        logp: &mut [f32],
        values: &mut [f32],
    ) {
        let (lp, v) = self.forward(obs, masks, penalties);
        values.copy_from_slice(&v);
        self.sample(&lp, rng, greedy, actions, logp);
    }

    /// Samples an action for each row of `lp` (the log-probabilities [`PpoLearner::forward`]
    /// gives), or takes the most likely with `greedy`, writing the actions and their
    /// log-probabilities. Draws one number from `rng` per row when sampling.
    pub fn sample(&self, lp: &[f32], rng: &mut Rng, greedy: bool, actions: &mut [u32], logp: &mut [f32]) {
        for i in 0..actions.len() {
            let row = &lp[i * self.actions..(i + 1) * self.actions];
            let a = if greedy {
                (0..self.actions).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0)
            } else {
                let u = rng.unit() as f32;
                let mut acc = 0.0;
                let mut pick = self.actions - 1;
                for (k, l) in row.iter().enumerate() {
                    acc += l.exp();
                    if u < acc {
                        pick = k;
                        break;
                    }
                }
                // never return an action of zero probability (rounding at the top end)
                while row[pick] <= MASKED_LOGIT / 2.0 && pick > 0 {
                    pick -= 1;
                }
                pick
            };
            actions[i] = a as u32;
            logp[i] = row[a];
        }
    }

    /// Whether the fused CPU step computes this learner's passes (a forward pass of a few rows
    /// then takes microseconds, not burn's hundreds of small tensor ops).
    pub fn is_fused(&self) -> bool {
        self.fused.is_some()
    }

    /// Floats of a recurrent network's state per row (`[h, c]` of the actor, then of the critic);
    /// 0 for a feed-forward one.
    pub fn state_size(&self) -> usize {
        4 * self.model.lstm_units()
    }

    /// [`PpoLearner::forward_in`] into `out`. The fused step reuses its buffers (a pass then
    /// allocates nothing); burn's passes replace them.
    pub fn forward_into(
        &self,
        obs: &[f32],
        masks: &[bool],
        penalties: &[f32],
        state: &mut [f32],
        starts: &[bool],
        out: &mut Forward,
    ) {
        match &self.fused {
            Some(fused) if self.model.lstm_units() == 0 => fused.forward_into(obs, masks, penalties, out),
            _ => (out.lp, out.values) = self.forward_in(obs, masks, penalties, state, starts),
        }
    }

    /// [`PpoLearner::forward`] for a recurrent network: each row's state (`state`, `[rows *
    /// state_size]`) is zeroed where `starts` says its episode starts, used, and replaced by the
    /// state after the step. A feed-forward network ignores both.
    pub fn forward_in(
        &self,
        obs: &[f32],
        masks: &[bool],
        penalties: &[f32],
        state: &mut [f32],
        starts: &[bool],
    ) -> (Vec<f32>, Vec<f32>) {
        let units = self.model.lstm_units();
        if units == 0 {
            return self.forward(obs, masks, penalties);
        }
        let n = obs.len() / self.obs_dim;
        let part = |k: usize| -> Tensor<2> {
            let rows: Vec<f32> = state.chunks(4 * units).flat_map(|r| r[k * units..(k + 1) * units].to_vec()).collect();
            tensor2(rows, n, units, &self.device)
        };
        let keep: Vec<f32> = starts.iter().map(|&s| if s { 0.0 } else { 1.0 }).collect();
        let seq = Sequences {
            steps: 1,
            keep: tensor2(keep, n, 1, &self.device),
            actor: LstmState { h: part(0), c: part(1) },
            critic: LstmState { h: part(2), c: part(3) },
        };
        let x = tensor2(obs.to_vec(), n, self.obs_dim, &self.device);
        let (mut logits, actor) = self.infer.logits_in(x.clone(), Some(&seq));
        let (values, critic) = self.infer.values_in(x, Some(&seq));
        if !penalties.is_empty() {
            logits = logits - tensor2(penalties.to_vec(), n, self.actions, &self.device);
        }
        if let Some(bad) = illegal(masks, n, self.actions, &self.device) {
            logits = logits.mask_fill(bad, MASKED_LOGIT);
        }
        let read = |t: Tensor<2>| -> Vec<f32> { t.into_data().try_into_vec().expect("the network computes in f32") };
        let (actor, critic) = (actor.expect("recurrent"), critic.expect("recurrent"));
        let parts = [read(actor.h), read(actor.c), read(critic.h), read(critic.c)];
        for (r, row) in state.chunks_mut(4 * units).enumerate() {
            for (k, p) in parts.iter().enumerate() {
                row[k * units..(k + 1) * units].copy_from_slice(&p[r * units..(r + 1) * units]);
            }
        }
        (read(log_softmax(logits, 1)), read(values))
    }

    /// The minibatch's sequences of `lanes`, `steps` long: their resets and first states.
    fn sequences(&self, buffer: &RolloutBuffer, lanes: &[usize], steps: usize, device: &Device) -> Sequences {
        let (units, n) = (self.model.lstm_units(), buffer.lanes);
        let keep: Vec<f32> = (0..steps)
            .flat_map(|t| lanes.iter().map(move |&l| if buffer.starts[t * n + l] { 0.0 } else { 1.0 }))
            .collect();
        let part = |k: usize| -> Tensor<2> {
            let rows: Vec<f32> = lanes
                .iter()
                .flat_map(|&l| buffer.initial_state[(4 * l + k) * units..(4 * l + k + 1) * units].to_vec())
                .collect();
            tensor2(rows, lanes.len(), units, device)
        };
        Sequences {
            steps,
            keep: tensor2(keep, steps * lanes.len(), 1, device),
            actor: LstmState { h: part(0), c: part(1) },
            critic: LstmState { h: part(2), c: part(3) },
        }
    }

    /// The log-probability of every action (`[rows * actions]`, masked and penalised as in
    /// [`PpoLearner::act`]) and the `1 + costs` values of each row of `obs`.
    pub fn forward(&self, obs: &[f32], masks: &[bool], penalties: &[f32]) -> (Vec<f32>, Vec<f32>) {
        if let Some(fused) = &self.fused {
            return fused.forward(obs, masks, penalties);
        }
        let n = obs.len() / self.obs_dim;
        let x = tensor2(obs.to_vec(), n, self.obs_dim, &self.device);
        let mut logits = self.infer.logits(x.clone());
        if !penalties.is_empty() {
            logits = logits - tensor2(penalties.to_vec(), n, self.actions, &self.device);
        }
        if let Some(bad) = illegal(masks, n, self.actions, &self.device) {
            logits = logits.mask_fill(bad, MASKED_LOGIT);
        }
        let lp = log_softmax(logits, 1).into_data().try_into_vec().expect("the network computes in f32");
        let v = self.infer.values(x).into_data().try_into_vec().expect("the network computes in f32");
        (lp, v)
    }

    /// Runs the PPO epochs on the rollout in `buffer` (its advantages and returns set) with
    /// learning rate `lr`: `update_epochs` passes over shuffled minibatches, each one clipped
    /// surrogate step (CleanRL's `ppo.py`, from "Optimizing the policy and value network"), the
    /// epochs stopping early once an epoch ends above `target_kl`.
    pub fn update(&mut self, buffer: &RolloutBuffer, lr: f64, rng: &mut Rng) -> UpdateStats {
        let orders = self.shuffles(buffer, rng);
        self.update_in(buffer, lr, &orders)
    }

    /// The order of each epoch of an update on `buffer`, of its samples (of its sequences, for a
    /// recurrent network): one permutation shuffled again per epoch, drawn from `rng` up front, so
    /// that updates can run in parallel.
    pub fn shuffles(&self, buffer: &RolloutBuffer, rng: &mut Rng) -> Vec<Vec<usize>> {
        let m = if self.state_size() > 0 { buffer.lanes } else { buffer.len() };
        let mut order: Vec<usize> = (0..m).collect();
        (0..self.config.update_epochs)
            .map(|_| {
                rng.shuffle(&mut order);
                order.clone()
            })
            .collect()
    }

    /// [`PpoLearner::update`] with each epoch's sample order given (by [`PpoLearner::shuffles`]).
    /// A recurrent network's minibatches are whole sequences: `order` lists lanes, and a
    /// minibatch holds every step of `lanes / num_minibatches` of them, time-major.
    pub fn update_in(&mut self, buffer: &RolloutBuffer, lr: f64, orders: &[Vec<usize>]) -> UpdateStats {
        let c = self.config.clone();
        let m = orders.first().map_or(0, Vec::len);
        let mb = (m / c.num_minibatches.max(1)).max(1);
        let train = self.device.clone().autodiff();
        let mut stats = UpdateStats::default();
        let (mut clipfracs, mut norms, mut steps) = (0.0, 0.0, 0usize);
        let recurrent = self.state_size() > 0;
        for (epoch, order) in orders.iter().enumerate() {
            for (k, chunk) in order.chunks(mb).enumerate() {
                let step = match &mut self.fused {
                    Some(fused) => fused.step(buffer, chunk, &c, lr),
                    None if recurrent => {
                        let steps = buffer.len() / buffer.lanes.max(1);
                        let idx: Vec<usize> =
                            (0..steps).flat_map(|t| chunk.iter().map(move |&lane| t * buffer.lanes + lane)).collect();
                        let seq = self.sequences(buffer, chunk, steps, &train);
                        self.burn_step(buffer, &idx, Some(&seq), lr, &train)
                    }
                    None => self.burn_step(buffer, chunk, None, lr, &train),
                };
                if epoch == 0 && k == 0 {
                    stats.old_approx_kl = step.old_approx_kl;
                }
                stats.approx_kl = step.approx_kl;
                clipfracs += step.clipfrac;
                stats.policy_loss = step.policy;
                stats.value_loss = step.value;
                stats.entropy = step.entropy;
                norms += step.grad_norm;
                steps += 1;
            }
            stats.epochs = epoch + 1;
            if c.target_kl.is_some_and(|t| stats.approx_kl > t) {
                break;
            }
        }
        stats.clipfrac = clipfracs / steps.max(1) as f64;
        stats.grad_norm = norms / steps.max(1) as f64;
        stats.explained_variance = explained_variance(&buffer.values, &buffer.returns, buffer.heads(), &buffer.weights);
        if let Some(fused) = &self.fused {
            self.model = fused.write_into(self.model.clone());
        }
        self.infer = self.model.valid();
        stats
    }

    /// One gradient step on the rows `idx` by burn's autodiff: the losses, their gradient, the
    /// global-norm clip and Adam.
    fn burn_step(
        &mut self,
        buffer: &RolloutBuffer,
        idx: &[usize],
        seq: Option<&Sequences>,
        lr: f64,
        train: &Device,
    ) -> StepStats {
        let c = &self.config;
        let mut batch = buffer.minibatch(idx, train);
        if c.norm_adv && !buffer.standardised {
            standardise(&mut batch.advantages, &batch.weights, true);
        }
        let l = self.losses(batch, seq, train);
        let stats = StepStats {
            policy: scalar(l.policy.clone()),
            value: scalar(l.value.clone()),
            entropy: scalar(l.entropy.clone()),
            old_approx_kl: scalar(l.old_approx_kl),
            approx_kl: scalar(l.approx_kl),
            clipfrac: scalar(l.clipfrac),
            grad_norm: 0.0,
        };
        let loss = l.policy - l.entropy.mul_scalar(c.ent_coef) + l.value.mul_scalar(c.vf_coef);
        let mut grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let grad_norm = clip_global_norm(&self.model, &mut grads, c.max_grad_norm);
        let model = self.model.clone();
        self.model = self.optim.step(lr, model, grads);
        StepStats { grad_norm, ..stats }
    }

    /// PPO's losses on one minibatch: the clipped surrogate, the (optionally clipped) value loss
    /// summed over the value heads, the entropy, and the diagnostics; each a mean weighted by
    /// the samples' weights.
    fn losses(&self, b: Minibatch, seq: Option<&Sequences>, device: &Device) -> Losses {
        let c = &self.config;
        let total_w: f32 = b.weights.iter().sum::<f32>().max(1.0);
        let adv = tensor2(b.advantages, b.len, 1, device);
        let w = tensor2(b.weights, b.len, 1, device);
        let wmean = |x: Tensor<2>| (x * w.clone()).sum().div_scalar(total_w);

        let mut logits = self.model.logits_in(b.obs.clone(), seq).0;
        if let Some(p) = b.penalties {
            logits = logits - p;
        }
        if let Some(bad) = b.illegal {
            logits = logits.mask_fill(bad, MASKED_LOGIT);
        }
        let logp_all = log_softmax(logits, 1);
        let new_logp = logp_all.clone().gather(1, b.actions);
        let entropy = (logp_all.clone().exp() * logp_all).sum_dim(1).neg();
        let logratio = new_logp - b.old_logp;
        let ratio = logratio.clone().exp();
        let pg1 = adv.clone().neg() * ratio.clone();
        let pg2 = adv.neg() * ratio.clone().clamp(1.0 - c.clip_coef, 1.0 + c.clip_coef);

        let new_v = self.model.values_in(b.obs, seq).0;
        let unclipped = (new_v.clone() - b.returns.clone()).square();
        let value = if c.clip_vloss {
            let clipped = b.old_values.clone() + (new_v - b.old_values).clamp(-c.clip_coef, c.clip_coef);
            let clipped = (clipped - b.returns).square();
            wmean(unclipped.max_pair(clipped).sum_dim(1)).mul_scalar(0.5)
        } else {
            wmean(unclipped.sum_dim(1)).mul_scalar(0.5)
        };
        Losses {
            policy: wmean(pg1.max_pair(pg2)),
            value,
            entropy: wmean(entropy),
            old_approx_kl: wmean(logratio.clone().neg()),
            approx_kl: wmean((ratio.clone() - 1.0) - logratio),
            clipfrac: wmean(ratio.sub_scalar(1.0).abs().greater_elem(c.clip_coef).float()),
        }
    }

    /// The network.
    pub fn model(&self) -> &ActorCritic {
        &self.model
    }

    /// Saves the network's weights as a burnpack file.
    pub fn save(&self, path: &Path) -> Result<(), AgentError> {
        save_weights(&self.infer, path)
    }

    /// Saves the optimizer's state (Adam moments) as a burnpack file.
    pub fn save_optimizer(&self, path: &Path) -> Result<(), AgentError> {
        if let Some(fused) = &self.fused {
            return save_weights(&fused.adam.record(&self.device), path);
        }
        self.optim.save(path).map_err(|e| checkpoint(path, format!("cannot save: {e}")))
    }

    /// Loads an optimizer state saved by [`PpoLearner::save_optimizer`].
    pub fn load_optimizer(&mut self, path: &Path) -> Result<(), AgentError> {
        if let Some(fused) = &mut self.fused {
            let record = load_weights(&fused.adam.record(&self.device), path)?;
            fused.adam = Adam::from_record(record, fused.adam.m.len())
                .ok_or_else(|| checkpoint(path, "holds Adam's state of a network of another size".into()))?;
            return Ok(());
        }
        // the fused step's state is a record of exactly three tensors (m, v, t); burn's
        // optimizer would take it without complaint and start from nothing
        let record = ModuleRecord::load(path).map_err(|e| checkpoint(path, format!("cannot load: {e}")))?;
        if record.len() == AdamRecord::TENSORS {
            return Err(checkpoint(path, "holds the fused CPU step's Adam state, not burn's optimizer's".into()));
        }
        let fresh = AdamConfig::new().with_epsilon(self.config.adam_epsilon).init();
        let optim = std::mem::replace(&mut self.optim, fresh);
        self.optim = optim.load(path).map_err(|e| checkpoint(path, format!("cannot load: {e}")))?;
        Ok(())
    }

    /// Loads weights saved by [`PpoLearner::save`] from a network of the same shape.
    pub fn load(&mut self, path: &Path) -> Result<(), AgentError> {
        self.model = load_weights(&self.model, path)?;
        self.infer = self.model.valid();
        if let Some(fused) = &mut self.fused {
            fused.read_from(&self.model);
        }
        Ok(())
    }
}

/// Saves a network's weights as a burnpack file.
pub(crate) fn save_weights<M: Module>(model: &M, path: &Path) -> Result<(), AgentError> {
    model.clone().into_record().save(path).map_err(|e| checkpoint(path, format!("cannot save: {e}")))
}

/// `model` with the weights [`save_weights`] wrote to `path` (same shape).
pub(crate) fn load_weights<M: Module>(model: &M, path: &Path) -> Result<M, AgentError> {
    let record = ModuleRecord::load(path).map_err(|e| checkpoint(path, format!("cannot load: {e}")))?;
    model.clone().try_load_record(record).map_err(|e| checkpoint(path, format!("does not fit the network: {e}")))
}

fn checkpoint(path: &Path, message: String) -> AgentError {
    AgentError::Checkpoint { path: path.display().to_string(), message }
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

fn explained_variance(values: &[f32], returns: &[f32], heads: usize, w: &[f32]) -> f64 {
    let pairs: Vec<(f64, f64)> =
        (0..w.len()).filter(|&i| w[i] > 0.0).map(|i| (values[i * heads] as f64, returns[i * heads] as f64)).collect();
    let n = pairs.len().max(1) as f64;
    let mean_y = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let var_y = pairs.iter().map(|p| (p.1 - mean_y).powi(2)).sum::<f64>() / n;
    let resid: Vec<f64> = pairs.iter().map(|p| p.1 - p.0).collect();
    let mean_r = resid.iter().sum::<f64>() / n;
    let var_r = resid.iter().map(|r| (r - mean_r).powi(2)).sum::<f64>() / n;
    if var_y == 0.0 { f64::NAN } else { 1.0 - var_r / var_y }
}

/// Global-norm gradient clipping as PyTorch's `clip_grad_norm_`: every gradient is scaled by
/// `max_norm / total_norm` when the norm over all parameters exceeds `max_norm`. Returns the
/// norm before clipping. (burn's own `GradientClipping::Norm` clips each tensor separately.)
pub fn clip_global_norm<M: Module>(model: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    struct SquaredNorm<'a> {
        grads: &'a GradientsParams,
        total: f64,
    }
    impl ModuleVisitor for SquaredNorm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.total += g.square().sum().into_scalar::<f32>() as f64;
            }
        }
    }
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: f64,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                self.grads.register::<D>(param.id, g.mul_scalar(self.factor));
            }
        }
    }
    let mut sq = SquaredNorm { grads, total: 0.0 };
    model.visit(&mut sq);
    let norm = sq.total.sqrt();
    if norm > max_norm && norm.is_finite() {
        model.visit(&mut Scale { grads, factor: max_norm / (norm + 1e-6) });
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, CnnConfig, Init};

    /// One case of the fused step against burn's autodiff: the sizes, the network and the
    /// hyper-parameters, and what the rollout holds.
    #[derive(Clone, Debug)]
    struct Case {
        obs_dim: usize,
        actions: usize,
        costs: usize,
        rows: usize,
        hidden: Vec<usize>,
        activation: Activation,
        clip_vloss: bool,
        norm_adv: bool,
        masks: bool,
        penalties: bool,
        learning_rate: f64,
        clip_coef: f64,
        ent_coef: f64,
        vf_coef: f64,
        max_grad_norm: f64,
        epochs: usize,
        minibatches: usize,
        seed: u64,
    }

    /// From the same weights, the fused step and burn's autodiff give the same forward pass and,
    /// after an update, the same losses, gradient norm and weights, within `tol` of each value's
    /// size (`|x - y| <= tol * (1 + |y|)`). Both paths get stopped rows (weight 0), a value head
    /// per cost, and the case's masks and conscience penalties.
    fn fused_matches_burn(c: &Case, tol: f32) {
        let (d, k, costs, n) = (c.obs_dim, c.actions, c.costs, c.rows);
        let mut rng = Rng::new(c.seed);
        let obs: Vec<f32> = (0..n * d).map(|_| rng.unit() as f32 * 2.0 - 1.0).collect();
        let masks: Vec<bool> =
            if c.masks { (0..n * k).map(|i| i % k == 0 || rng.unit() < 0.7).collect() } else { Vec::new() };
        let penalties: Vec<f32> = if c.penalties {
            (0..n * k).map(|_| if rng.unit() < 0.2 { 1.5 } else { 0.0 }).collect()
        } else {
            Vec::new()
        };
        let config = |engine| PpoConfig {
            hidden: c.hidden.clone(),
            activation: c.activation,
            clip_vloss: c.clip_vloss,
            norm_adv: c.norm_adv,
            learning_rate: c.learning_rate,
            clip_coef: c.clip_coef,
            ent_coef: c.ent_coef,
            vf_coef: c.vf_coef,
            max_grad_norm: c.max_grad_norm,
            update_epochs: c.epochs,
            num_minibatches: c.minibatches,
            engine,
            ..PpoConfig::default()
        };
        let mut fused = PpoLearner::new(d, k, costs, &config(Engine::Auto), &Device::flex(), c.seed);
        let mut burn = PpoLearner::new(d, k, costs, &config(Engine::Burn), &Device::flex(), c.seed);
        assert!(fused.fused.is_some() && burn.fused.is_none());
        let (lp_f, v_f) = fused.forward(&obs, &masks, &penalties);
        let (lp_b, v_b) = burn.forward(&obs, &masks, &penalties);
        assert_close(&lp_f, &lp_b, tol, "log-probabilities");
        assert_close(&v_f, &v_b, tol, "values");

        let (mut a, mut lp, mut v) = (vec![0u32; n], vec![0.0f32; n], vec![0.0f32; n * (1 + costs)]);
        burn.act(&obs, &masks, &penalties, &mut Rng::new(3), false, &mut a, &mut lp, &mut v);
        let mut buffer = RolloutBuffer::new(d, k, costs);
        buffer.push_policy(&obs, &masks, &penalties, &a, &lp, &v);
        buffer.weights = (0..n).map(|i| if i % 9 == 4 { 0.0 } else { 1.0 }).collect();
        for i in 0..n {
            let cost: Vec<f32> = (0..costs).map(|j| if j == 0 { rng.unit() as f32 } else { (i % 3) as f32 }).collect();
            buffer.push_outcome(rng.unit() as f32 * 2.0 - 1.0, &cost, i % 17 == 16);
        }
        let last = vec![0.5f32; 1 + costs];
        let per_head = buffer.compute_returns(&last, 1, 0.99, 0.95);
        buffer.advantages = per_head[0].clone();
        let sf = fused.update(&buffer, c.learning_rate, &mut Rng::new(8));
        let sb = burn.update(&buffer, c.learning_rate, &mut Rng::new(8));
        for (what, x, y) in [
            ("policy loss", sf.policy_loss, sb.policy_loss),
            ("value loss", sf.value_loss, sb.value_loss),
            ("entropy", sf.entropy, sb.entropy),
            ("old approx kl", sf.old_approx_kl, sb.old_approx_kl),
            ("approx kl", sf.approx_kl, sb.approx_kl),
            ("clipfrac", sf.clipfrac, sb.clipfrac),
            ("grad norm", sf.grad_norm, sb.grad_norm),
        ] {
            assert!((x - y).abs() <= tol as f64 * (1.0 + y.abs()), "{c:?}: {what}: fused {x}, burn {y}");
        }
        for ((wf, bf), (wb, bb)) in fused.model.layers().into_iter().zip(burn.model.layers()) {
            let flat = |t: Tensor<2>| -> Vec<f32> { t.into_data().try_into_vec().expect("f32") };
            assert_close(&flat(wf), &flat(wb), tol, "weights after the update");
            let flat = |t: Option<Tensor<1>>| -> Vec<f32> { t.expect("bias").into_data().try_into_vec().expect("f32") };
            assert_close(&flat(bf), &flat(bb), tol, "biases after the update");
        }
        // the burn networks mirror the fused weights: both paths now act alike
        let (lp_f, _) = fused.forward(&obs, &masks, &penalties);
        let (lp_m, _) = {
            let mirror = PpoLearner { fused: None, ..fused };
            mirror.forward(&obs, &masks, &penalties)
        };
        assert_close(&lp_f, &lp_m, tol, "the mirrored network");
    }

    /// The fused CPU step computes PPO's maths as burn's autodiff does, on two fixed cases (an
    /// update of 4 epochs x 4 minibatches with masks, conscience penalties, stopped rows and
    /// three value heads; both activations, with and without value clipping).
    #[test]
    fn the_fused_step_matches_burns_autodiff() {
        for (activation, clip_vloss) in [(Activation::Tanh, true), (Activation::Relu, false)] {
            let case = Case {
                obs_dim: 6,
                actions: 4,
                costs: 2,
                rows: 96,
                hidden: vec![16, 8],
                activation,
                clip_vloss,
                norm_adv: true,
                masks: true,
                penalties: true,
                learning_rate: 1e-2,
                clip_coef: 0.2,
                ent_coef: 0.01,
                vf_coef: 0.5,
                max_grad_norm: 0.5,
                epochs: 4,
                minibatches: 4,
                seed: 5,
            };
            fused_matches_burn(&case, 1e-4);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

        /// The same over random sizes, networks, masks, penalties, cost heads and
        /// hyper-parameters (a small `max_grad_norm` makes the clip fire in most cases).
        #[test]
        fn the_fused_step_matches_burns_autodiff_on_random_cases(
            obs_dim in 1usize..8,
            actions in 2usize..6,
            costs in 0usize..3,
            rows in 8usize..80,
            hidden in proptest::collection::vec(1usize..24, 1..3),
            tanh: bool,
            clip_vloss: bool,
            norm_adv: bool,
            masks: bool,
            penalties: bool,
            learning_rate in 1e-4f64..1e-2,
            clip_coef in 0.05f64..0.4,
            ent_coef in 0.0f64..0.05,
            vf_coef in 0.1f64..1.0,
            max_grad_norm in 0.05f64..5.0,
            epochs in 1usize..4,
            minibatches in 1usize..4,
            seed in 0u64..1000,
        ) {
            let activation = if tanh { Activation::Tanh } else { Activation::Relu };
            let case = Case {
                obs_dim, actions, costs, rows, hidden, activation, clip_vloss, norm_adv, masks, penalties,
                learning_rate, clip_coef, ent_coef, vf_coef, max_grad_norm, epochs, minibatches, seed,
            };
            fused_matches_burn(&case, 1e-4);
        }
    }

    /// The fused step's Adam state survives a save and a load; a state written by one engine is
    /// refused by the other with a typed error (a resumed run may move to another device).
    #[test]
    fn optimizer_states_round_trip_and_are_refused_across_engines() {
        let dir = std::env::temp_dir().join(format!("moralgym-optim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config = |engine| PpoConfig { hidden: vec![8], engine, ..PpoConfig::default() };
        let mut fused = PpoLearner::new(3, 2, 0, &config(Engine::Auto), &Device::flex(), 1);
        let mut burn = PpoLearner::new(3, 2, 0, &config(Engine::Burn), &Device::flex(), 1);
        let fused_state = fused.fused.as_mut().expect("fused");
        fused_state.adam.t = 7;
        fused_state.adam.m.iter_mut().enumerate().for_each(|(i, m)| *m = i as f32 * 0.5);
        let saved = fused_state.adam.clone();
        let (f, b) = (dir.join("fused.optim.bpk"), dir.join("burn.optim.bpk"));
        fused.save_optimizer(&f).expect("saves");
        burn.save_optimizer(&b).expect("saves");
        let mut again = PpoLearner::new(3, 2, 0, &config(Engine::Auto), &Device::flex(), 2);
        again.load_optimizer(&f).expect("loads");
        assert_eq!(again.fused.as_ref().expect("fused").adam, saved);
        let refused = |r: Result<(), AgentError>| matches!(r, Err(AgentError::Checkpoint { .. }));
        assert!(refused(again.load_optimizer(&b)), "a burn optimizer state is not Adam's flat state");
        assert!(refused(burn.load_optimizer(&f)), "nor the other way round");
        let bigger = PpoConfig { hidden: vec![9], ..config(Engine::Auto) };
        assert!(refused(PpoLearner::new(3, 2, 0, &bigger, &Device::flex(), 1).load_optimizer(&f)));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// `ppo.torso = "cnn"` puts convolutions over the planes before the MLP (burn's path, biases
    /// zero under the orthogonal start), reads any inputs after the planes beside their output,
    /// and names the setting at fault when the layers or the planes do not fit.
    #[test]
    fn the_convolutional_torso_reads_the_planes_and_refuses_what_does_not_fit() {
        let config = PpoConfig { torso: Torso::Cnn, hidden: vec![8], ..PpoConfig::default() };
        // 2 planes of 4 x 4, then 3 extra inputs (a shared policy's agent id)
        let learner = PpoLearner::configured([2, 4, 4], 35, 3, 0, &config, &Device::flex(), 1).expect("fits");
        assert!(learner.fused.is_none(), "convolutions train on burn's path");
        let convs = &learner.model.actor_conv;
        assert_eq!(convs.len(), 1);
        assert_eq!(convs[0].weight.val().dims(), [6, 2, 3, 3]);
        let bias: Vec<f32> = convs[0].bias.as_ref().expect("bias").val().into_data().try_into_vec().expect("f32");
        assert!(bias.iter().all(|&b| b == 0.0));
        // 6 planes of 2 x 2 flattened, and the 3 extra inputs: the first hidden layer reads 27
        assert_eq!(learner.model.layers()[0].0.dims(), [27, 8]);
        let mut rng = Rng::new(0);
        let obs: Vec<f32> = (0..4 * 35).map(|_| rng.unit() as f32).collect();
        let (lp, v) = learner.forward(&obs, &[], &[]);
        assert_eq!((lp.len(), v.len()), (12, 4));
        // an extra input changes the output: it reaches the MLP
        let mut other = obs.clone();
        other[34] += 1.0;
        assert_ne!(learner.forward(&other, &[], &[]).1[0], v[0]);

        let key = |r: Result<PpoLearner, AgentError>| match r {
            Err(AgentError::Setting { key, .. }) => key,
            _ => "no error".into(),
        };
        let wide = PpoConfig { cnn: CnnConfig { kernels: vec![5], ..CnnConfig::default() }, ..config.clone() };
        assert_eq!(key(PpoLearner::configured([2, 4, 4], 35, 3, 0, &wide, &Device::flex(), 1)), "ppo.cnn");
        let uneven = PpoConfig { cnn: CnnConfig { strides: vec![], ..CnnConfig::default() }, ..config.clone() };
        assert_eq!(key(PpoLearner::configured([2, 4, 4], 35, 3, 0, &uneven, &Device::flex(), 1)), "ppo.cnn");
        assert_eq!(key(PpoLearner::configured([3, 4, 4], 35, 3, 0, &config, &Device::flex(), 1)), "ppo.torso");
    }

    fn assert_close(x: &[f32], y: &[f32], tol: f32, what: &str) {
        assert_eq!(x.len(), y.len(), "{what}");
        for (i, (a, b)) in x.iter().zip(y).enumerate() {
            assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what} [{i}]: {a} against {b}");
        }
    }

    #[test]
    fn global_norm_clip_scales_all_gradients_together() {
        let device = Device::flex().autodiff();
        let arch = Architecture {
            hidden: &[4],
            activation: Activation::Tanh,
            head: PolicyHead::Mlp,
            init: Init::KaimingUniform,
            conv: None,
            lstm: None,
        };
        let model = ActorCritic::new(3, 2, 0, arch, &device);
        let x = tensor2(vec![1.0, -2.0, 3.0, 0.5, 0.5, 0.5], 2, 3, &device);
        let loss = model.logits(x.clone()).sum().mul_scalar(100.0) + model.values(x).sum().mul_scalar(100.0);
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let before = clip_global_norm(&model, &mut grads, 1.0);
        assert!(before > 1.0, "{before}");
        let after = clip_global_norm(&model, &mut grads, 1e9);
        assert!((after - 1.0).abs() < 1e-3, "norm after clipping {after}");
    }

    /// CleanRL's `layer_init`: every weight matrix W `[inputs, outputs]` is (semi-)orthogonal
    /// times its gain (W^T W or W W^T, whichever is the smaller square, is gain^2 I): sqrt(2) in
    /// the hidden layers, 0.01 in the policy head, 1 in the value heads; every bias is zero.
    #[test]
    fn the_default_initialisation_is_cleanrls_orthogonal_one() {
        let config = PpoConfig { hidden: vec![64, 32], ..PpoConfig::default() };
        let learner = PpoLearner::new(10, 5, 2, &config, &Device::flex(), 3);
        let layers = learner.model.layers();
        let s2 = std::f64::consts::SQRT_2;
        let gains = [s2, s2, 0.01, s2, s2, 1.0]; // actor 10-64-32-5, critic 10-64-32-3
        assert_eq!(layers.len(), gains.len());
        for (k, ((w, b), gain)) in layers.into_iter().zip(gains).enumerate() {
            let [rows, cols] = w.dims();
            let gram = if rows >= cols { w.clone().transpose().matmul(w) } else { w.clone().matmul(w.transpose()) };
            let n = rows.min(cols);
            let g: Vec<f32> = gram.into_data().try_into_vec().expect("f32");
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { gain * gain } else { 0.0 };
                    assert!(
                        (g[i * n + j] as f64 - want).abs() < 1e-4 * gain.max(1.0),
                        "layer {k} ({rows}x{cols}) [{i},{j}]: {}",
                        g[i * n + j]
                    );
                }
            }
            let b: Vec<f32> = b.expect("a bias").into_data().try_into_vec().expect("f32");
            assert!(b.iter().all(|&x| x == 0.0), "layer {k}: biases start at zero");
        }
        // burn's default stays reachable, and is not orthogonal
        let v0 = PpoConfig { init: Init::KaimingUniform, ..config };
        let (w, b) = PpoLearner::new(10, 5, 2, &v0, &Device::flex(), 3).model.layers().remove(0);
        let d = w.clone().transpose().matmul(w).into_data().try_into_vec::<f32>().expect("f32");
        assert!((d[0] as f64 - 2.0).abs() > 1e-2 || b.expect("bias").abs().sum().into_scalar::<f32>() > 0.0);
    }

    /// CleanRL's `target_kl`: the update stops after the epoch whose last minibatch's approximate
    /// KL exceeds it; without it every epoch runs.
    #[test]
    fn target_kl_stops_the_epochs_early() {
        let run = |target_kl: Option<f64>| {
            let config = PpoConfig { target_kl, learning_rate: 1e-2, ..PpoConfig::default() };
            let mut learner = PpoLearner::new(2, 3, 0, &config, &Device::flex(), 1);
            let mut rng = Rng::new(4);
            let n = 64;
            let obs: Vec<f32> = (0..2 * n).map(|i| (i % 5) as f32 / 5.0).collect();
            let (mut a, mut lp, mut v) = (vec![0u32; n], vec![0.0f32; n], vec![0.0f32; n]);
            learner.act(&obs, &[], &[], &mut rng, false, &mut a, &mut lp, &mut v);
            let mut buffer = RolloutBuffer::new(2, 3, 0);
            buffer.push_policy(&obs, &[], &[], &a, &lp, &v);
            buffer.weights = vec![1.0; n];
            for &x in &a {
                buffer.push_outcome(if x == 0 { 1.0 } else { -1.0 }, &[], true);
            }
            buffer.compute_returns(&vec![0.0; n], n, 0.99, 0.95);
            buffer.advantages = a.iter().map(|&x| if x == 0 { 1.0 } else { -1.0 }).collect();
            learner.update(&buffer, 1e-2, &mut rng)
        };
        let full = run(None);
        assert_eq!(full.epochs, 4);
        assert!(full.approx_kl > 1e-9, "the policy moved: {}", full.approx_kl);
        assert_eq!(run(Some(1e-9)).epochs, 1, "the first epoch already exceeds a tiny target");
        assert_eq!(run(Some(1e9)).epochs, 4, "a loose target never stops");
    }

    #[test]
    fn a_large_conscience_penalty_keeps_flagged_actions_out_while_a_clean_one_exists() {
        let learner = PpoLearner::new(2, 3, 0, &PpoConfig::default(), &Device::flex(), 1);
        let mut rng = Rng::new(2);
        let n = 200;
        let obs: Vec<f32> = (0..2 * n).map(|i| (i % 7) as f32 / 7.0).collect();
        // actions 0 and 2 flagged (penalised by 1000), action 1 clean
        let penalties: Vec<f32> = (0..n).flat_map(|_| [1000.0, 0.0, 1000.0]).collect();
        let (mut a, mut lp, mut v) = (vec![0u32; n], vec![0.0f32; n], vec![0.0f32; n]);
        learner.act(&obs, &[], &penalties, &mut rng, false, &mut a, &mut lp, &mut v);
        assert!(a.iter().all(|&x| x == 1), "{a:?}");
        // without the conscience all three actions occur
        learner.act(&obs, &[], &[], &mut rng, false, &mut a, &mut lp, &mut v);
        assert!((0..3).all(|k| a.contains(&k)));
    }

    #[test]
    fn the_choice_scorer_scores_each_choice_from_context_and_choice_alone() {
        let device = Device::flex();
        let head = PolicyHead::ChoiceScorer;
        let arch = Architecture {
            hidden: &[8],
            activation: Activation::Tanh,
            head,
            init: Init::Orthogonal,
            conv: None,
            lstm: None,
        };
        let model = ActorCritic::new(4 * 3, 3, 0, arch, &device);
        // rows: context, choice 0, choice 1, choice 2 (width 3)
        let rows = [[0.1f32, 0.2, 0.3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let swapped = [rows[0], rows[3], rows[2], rows[1]];
        let logits = |r: &[[f32; 3]; 4]| -> Vec<f32> {
            model.logits(tensor2(r.concat(), 1, 12, &device)).into_data().try_into_vec().expect("f32")
        };
        let (a, b) = (logits(&rows), logits(&swapped));
        // swapping choices 0 and 2 swaps their logits and leaves choice 1's unchanged
        assert!((a[0] - b[2]).abs() < 1e-6 && (a[2] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6, "{a:?} {b:?}");
        assert!((a[0] - a[2]).abs() > 1e-6, "different choices score differently");
    }

    #[test]
    fn masked_actions_are_never_sampled() {
        let learner = PpoLearner::new(2, 4, 0, &PpoConfig::default(), &Device::flex(), 0);
        let mut rng = Rng::new(0);
        let obs = vec![0.3f32; 2 * 64];
        let masks: Vec<bool> = (0..64).flat_map(|i| [false, i % 2 == 0, true, false]).collect();
        let (mut a, mut lp, mut v) = (vec![0u32; 64], vec![0.0f32; 64], vec![0.0f32; 64]);
        learner.act(&obs, &masks, &[], &mut rng, false, &mut a, &mut lp, &mut v);
        for (i, &x) in a.iter().enumerate() {
            assert!(masks[i * 4 + x as usize], "row {i} took masked action {x}");
            assert!(lp[i] <= 0.0 && lp[i] > -10.0);
        }
    }

    #[test]
    fn epochs_and_network_size_have_budgets_named_by_key() {
        let epochs = PpoConfig { update_epochs: 1_000_000, ..PpoConfig::default() };
        assert!(epochs.validate().is_err_and(|e| e.to_string().contains("ppo.update_epochs")));
        assert!(PpoConfig { update_epochs: MAX_UPDATE_EPOCHS, ..PpoConfig::default() }.validate().is_ok());
        let huge = PpoConfig { hidden: vec![65_536, 65_536], ..PpoConfig::default() };
        assert!(huge.validate().is_ok(), "each layer is allowed alone");
        let e = huge.check_size(10, 4, 0).expect_err("two 65,536-unit layers are 8.6 billion weights");
        assert!(e.to_string().contains("ppo.hidden"), "{e}");
        // The same layers fit for a small input only when small: 64-64 fits any text game.
        assert!(PpoConfig::default().check_size(129 * 128, 64, 18).is_ok());
        let wide_input = PpoConfig { hidden: vec![4096], ..PpoConfig::default() };
        assert!(wide_input.check_size(1 << 22, 8, 0).is_err(), "4 million inputs into 4096 units");
        let lstm = PpoConfig { lstm_size: Some(4096), hidden: vec![4096], ..PpoConfig::default() };
        assert!(lstm.check_size(64, 4, 0).is_err(), "two 4096 LSTMs are 268 million weights");
    }
}
