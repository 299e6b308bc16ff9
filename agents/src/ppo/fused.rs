//! PPO's minibatch step for the MLP actor-critic on the CPU, written out by hand: the forward
//! pass, the losses of [`crate::ppo`], their gradients, the global-norm clip and Adam, over one
//! flat parameter vector, with `gemm` for the matrix products.
//!
//! Why by hand: on burn's CPU backend one minibatch of 256 samples is a few hundred small tensor
//! ops, each allocating and dispatching through the autodiff graph, and every activation is
//! computed twice (burn recomputes it in the backward pass). The arithmetic itself is about 40
//! MFLOP. Here each layer is one `gemm` call forward and two backward, the element-wise work is
//! fused into plain loops, and nothing is recomputed. The burn network of [`crate::ppo`] stays the
//! reference (a test checks both give the same losses and weights to float rounding) and the path
//! for other devices and policy heads; the learner mirrors these weights into it after every
//! update, so saving, loading and LASE's use of the network are unchanged.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use multiversion::multiversion;

use super::config::{MASKED_LOGIT, PpoConfig, StepStats};
use crate::buffer::{RolloutBuffer, gather_rows, standardise};
use crate::model::{Activation, ActorCritic};

/// Adam's first and second moment decay (burn's and PyTorch's defaults, which the learner uses).
const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;

/// One dense layer's place in the parameter vector: weights `[d_in, d_out]` row-major at `w`,
/// then the bias at `w + d_in * d_out`.
#[derive(Clone, Copy, Debug)]
struct Dense {
    w: usize,
    d_in: usize,
    d_out: usize,
}

impl Dense {
    fn b(&self) -> usize {
        self.w + self.d_in * self.d_out
    }
}

/// Adam's state over the parameter vector.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Adam {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    /// Steps taken.
    pub t: i32,
}

/// Adam's state as a module, so that it is saved as a burnpack file like every other state.
#[derive(Module, Debug)]
pub(crate) struct AdamRecord {
    m: Param<Tensor<1>>,
    v: Param<Tensor<1>>,
    t: Param<Tensor<1>>,
}

impl AdamRecord {
    /// Tensors in the record.
    pub const TENSORS: usize = 3;
}

impl Adam {
    /// The state on `device`, to save.
    pub fn record(&self, device: &Device) -> AdamRecord {
        let param = |x: &[f32]| Param::from_tensor(Tensor::from_data(TensorData::new(x.to_vec(), [x.len()]), device));
        AdamRecord { m: param(&self.m), v: param(&self.v), t: param(&[self.t as f32]) }
    }

    /// The state a loaded record holds, if it is one of `n` parameters.
    pub fn from_record(record: AdamRecord, n: usize) -> Option<Self> {
        let read = |p: &Param<Tensor<1>>| -> Option<Vec<f32>> { p.val().into_data().try_into_vec().ok() };
        let (m, v, t) = (read(&record.m)?, read(&record.v)?, read(&record.t)?);
        (m.len() == n && v.len() == n && t.len() == 1 && t[0] >= 0.0).then(|| Self { m, v, t: t[0] as i32 })
    }
}

/// The actor-critic's parameters in burn's visiting order (each layer's weight, then bias:
/// the actor's hidden layers and head, then the critic's), and Adam's state.
pub(crate) struct FusedActorCritic {
    pub params: Vec<f32>,
    grads: Vec<f32>,
    pub adam: Adam,
    actor: Vec<Dense>,
    critic: Vec<Dense>,
    activation: Activation,
    obs_dim: usize,
    actions: usize,
    heads: usize,
}

/// A net's forward pass: each hidden layer's output (for the backward pass) and the net's.
struct Trace {
    hidden: Vec<Vec<f32>>,
    out: Vec<f32>,
}

/// A forward pass's outputs and the buffers of its hidden layers, kept between passes.
#[derive(Clone, Debug, Default)]
pub struct Forward {
    /// Log-probabilities, `[rows * actions]`.
    pub lp: Vec<f32>,
    /// Values, `[rows * heads]`.
    pub values: Vec<f32>,
    hidden: Vec<Vec<f32>>,
}

impl FusedActorCritic {
    /// The same network as `model` (built with `hidden` layers for `obs_dim` inputs, `actions`
    /// logits and `heads` values), its weights copied out of it.
    pub fn from_model(model: &ActorCritic, hidden: &[usize], activation: Activation, sizes: [usize; 3]) -> Self {
        let [obs_dim, actions, heads] = sizes;
        let mut offset = 0;
        let mut net = |out: usize| {
            let mut layers = Vec::with_capacity(hidden.len() + 1);
            let mut d_in = obs_dim;
            for &d_out in hidden.iter().chain([&out]) {
                layers.push(Dense { w: offset, d_in, d_out });
                offset += d_in * d_out + d_out;
                d_in = d_out;
            }
            layers
        };
        let (actor, critic) = (net(actions), net(heads));
        let params = read_params(model);
        assert_eq!(params.len(), offset, "the fused layout follows the network's layers");
        let n = params.len();
        Self {
            params,
            grads: vec![0.0; n],
            adam: Adam { m: vec![0.0; n], v: vec![0.0; n], t: 0 },
            actor,
            critic,
            activation,
            obs_dim,
            actions,
            heads,
        }
    }

    /// Copies the weights into `model` (same layout), keeping its parameter ids.
    pub fn write_into(&self, model: ActorCritic) -> ActorCritic {
        model.map(&mut Writer { params: &self.params, at: 0 })
    }

    /// Replaces the weights by `model`'s (after a load).
    pub fn read_from(&mut self, model: &ActorCritic) {
        self.params = read_params(model);
    }

    /// The log-probability of every action (masked and penalised as [`crate::ppo::PpoLearner::act`]
    /// says) and the values of each row of `obs`.
    pub fn forward(&self, obs: &[f32], masks: &[bool], penalties: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let mut out = Forward::default();
        self.forward_into(obs, masks, penalties, &mut out);
        (out.lp, out.values)
    }

    /// [`FusedActorCritic::forward`] into `out`, whose buffers are reused: once they have grown
    /// to the batch, a pass allocates nothing.
    pub fn forward_into(&self, obs: &[f32], masks: &[bool], penalties: &[f32], out: &mut Forward) {
        let n = obs.len() / self.obs_dim;
        self.net_into(&self.actor, obs, n, &mut out.hidden, &mut out.lp);
        self.adjust(&mut out.lp, masks, penalties);
        for row in out.lp.chunks_mut(self.actions) {
            let lse = log_sum_exp(row);
            row.iter_mut().for_each(|l| *l -= lse);
        }
        self.net_into(&self.critic, obs, n, &mut out.hidden, &mut out.values);
    }

    /// One PPO gradient step on the rows `idx` of `buffer` at learning rate `lr`: PPO's losses
    /// as [`crate::ppo::PpoLearner`]'s burn path computes them, their gradient, the global-norm
    /// clip and Adam.
    pub fn step(&mut self, buffer: &RolloutBuffer, idx: &[usize], c: &PpoConfig, lr: f64) -> StepStats {
        let batch = Batch::gather(buffer, idx, c, [self.obs_dim, self.actions, self.heads]);
        let n = idx.len();
        let actor = self.net(&self.actor, &batch.obs, n);
        let critic = self.net(&self.critic, &batch.obs, n);
        let mut logits = actor.out.clone();
        self.adjust(&mut logits, &batch.masks, &batch.penalties);
        let mut stats = StepStats::default();
        let d_logits = policy_gradient(&logits, &batch, c, self.actions, &mut stats);
        let d_values = value_gradient(&critic.out, &batch, c, self.heads, &mut stats);

        // backward, clip, Adam
        self.grads.iter_mut().for_each(|g| *g = 0.0);
        self.backward(&self.actor.clone(), &batch.obs, n, &actor, d_logits);
        self.backward(&self.critic.clone(), &batch.obs, n, &critic, d_values);
        stats.grad_norm = self.grads.iter().map(|&g| (g as f64) * (g as f64)).sum::<f64>().sqrt();
        let max = c.max_grad_norm;
        if stats.grad_norm > max && stats.grad_norm.is_finite() {
            let factor = (max / (stats.grad_norm + 1e-6)) as f32;
            self.grads.iter_mut().for_each(|g| *g *= factor);
        }
        self.adam_step(lr as f32, c.adam_epsilon);
        stats
    }

    /// Subtracts the conscience's penalties from `logits` and pushes illegal actions down.
    fn adjust(&self, logits: &mut [f32], masks: &[bool], penalties: &[f32]) {
        for (l, p) in logits.iter_mut().zip(penalties) {
            *l -= p;
        }
        for (l, &legal) in logits.iter_mut().zip(masks) {
            if !legal {
                *l = MASKED_LOGIT;
            }
        }
    }

    /// One net's forward pass over `n` rows into `out`, the hidden layers' outputs in `hidden`
    /// (buffers grown as needed and reused).
    fn net_into(&self, layers: &[Dense], x: &[f32], n: usize, hidden: &mut Vec<Vec<f32>>, out: &mut Vec<f32>) {
        if hidden.len() < layers.len() {
            hidden.resize_with(layers.len(), Vec::new);
        }
        for (l, layer) in layers.iter().enumerate() {
            let (before, rest) = hidden.split_at_mut(l);
            let input = before.last().map_or(x, Vec::as_slice);
            let y = if l + 1 < layers.len() { &mut rest[0] } else { &mut *out };
            y.clear();
            for _ in 0..n {
                y.extend_from_slice(&self.params[layer.b()..layer.b() + layer.d_out]);
            }
            // y = bias + x W
            matmul(y, true, input, &self.params[layer.w..layer.b()], [n, layer.d_in, layer.d_out], [false, false]);
            if l + 1 < layers.len() {
                activate(self.activation, y);
            }
        }
    }

    /// One net's forward pass over `n` rows, keeping each hidden layer's output.
    fn net(&self, layers: &[Dense], x: &[f32], n: usize) -> Trace {
        let mut trace = Trace { hidden: Vec::new(), out: Vec::new() };
        self.net_into(layers, x, n, &mut trace.hidden, &mut trace.out);
        trace
    }

    /// Accumulates the gradient of one net, from `d_out` (the loss's gradient with respect to its
    /// output) back through its layers.
    fn backward(&mut self, layers: &[Dense], x: &[f32], n: usize, trace: &Trace, d_out: Vec<f32>) {
        let mut dz = d_out;
        for l in (0..layers.len()).rev() {
            let layer = layers[l];
            let input = if l == 0 { x } else { &trace.hidden[l - 1] };
            let (w, b) = (layer.w, layer.b());
            // dW = x^T dz, db = column sums of dz
            let (dw, rest) = self.grads[w..].split_at_mut(layer.d_in * layer.d_out);
            matmul(dw, false, input, &dz, [layer.d_in, n, layer.d_out], [true, false]);
            let db = &mut rest[..layer.d_out];
            for row in dz.chunks(layer.d_out) {
                db.iter_mut().zip(row).for_each(|(g, x)| *g += x);
            }
            if l == 0 {
                break;
            }
            // dx = dz W^T, then through the activation that produced x
            let mut dx = vec![0.0f32; n * layer.d_in];
            matmul(&mut dx, false, &dz, &self.params[w..b], [n, layer.d_out, layer.d_in], [false, true]);
            activation_backward(self.activation, &mut dx, &trace.hidden[l - 1]);
            dz = dx;
        }
    }

    /// Adam as burn's `Adam` computes it (no weight decay, no AMSGrad).
    fn adam_step(&mut self, lr: f32, epsilon: f32) {
        let a = &mut self.adam;
        a.t += 1;
        let bc2 = (1.0 - BETA_2.powi(a.t)).sqrt();
        let factor = bc2 / (1.0 - BETA_1.powi(a.t));
        adam_update(&mut self.params, &self.grads, a, lr, factor, epsilon * bc2);
    }
}

/// A minibatch's rows of a rollout buffer, gathered for one gradient step.
struct Batch {
    obs: Vec<f32>,
    actions: Vec<usize>,
    old_logp: Vec<f32>,
    /// Advantages, standardised over the minibatch where the buffer is not.
    adv: Vec<f32>,
    weights: Vec<f32>,
    /// The sum of the weights, at least 1.
    total_w: f32,
    masks: Vec<bool>,
    penalties: Vec<f32>,
    returns: Vec<f32>,
    old_values: Vec<f32>,
}

impl Batch {
    /// The rows `idx` of `buffer`, for inputs, actions and heads of the given sizes.
    fn gather(buffer: &RolloutBuffer, idx: &[usize], c: &PpoConfig, [d, k, h]: [usize; 3]) -> Self {
        let weights = gather_rows(&buffer.weights, idx, 1);
        let mut adv = gather_rows(&buffer.advantages, idx, 1);
        if c.norm_adv && !buffer.standardised {
            standardise(&mut adv, &weights, true);
        }
        Self {
            obs: gather_rows(&buffer.obs, idx, d),
            actions: idx.iter().map(|&i| buffer.actions[i] as usize).collect(),
            old_logp: gather_rows(&buffer.logp, idx, 1),
            total_w: weights.iter().sum::<f32>().max(1.0),
            adv,
            weights,
            masks: gather_rows(&buffer.masks, idx, k),
            penalties: gather_rows(&buffer.penalties, idx, k),
            returns: gather_rows(&buffer.returns, idx, h),
            old_values: gather_rows(&buffer.values, idx, h),
        }
    }
}

/// PPO's policy losses (clipped surrogate, entropy, the KL estimates, the clip fraction) into
/// `stats`, and their gradient with respect to the actor's output (`logits`, masked and
/// penalised, `[rows * k]`).
fn policy_gradient(logits: &[f32], batch: &Batch, c: &PpoConfig, k: usize, stats: &mut StepStats) -> Vec<f32> {
    let (clip, ent_coef) = (c.clip_coef as f32, c.ent_coef as f32);
    let mut d_logits = vec![0.0f32; batch.actions.len() * k];
    let mut p = vec![0.0f32; k];
    for (r, &a) in batch.actions.iter().enumerate() {
        let z = &logits[r * k..(r + 1) * k];
        let lse = log_sum_exp(z);
        let mut entropy = 0.0;
        for j in 0..k {
            p[j] = (z[j] - lse).exp();
            entropy -= p[j] * (z[j] - lse);
        }
        let logratio = (z[a] - lse) - batch.old_logp[r];
        let ratio = logratio.exp();
        let adv = batch.adv[r];
        let pg1 = -adv * ratio;
        let pg2 = -adv * ratio.clamp(1.0 - clip, 1.0 + clip);
        let w = batch.weights[r] / batch.total_w;
        stats.policy += (w * pg1.max(pg2)) as f64;
        stats.entropy += (w * entropy) as f64;
        stats.old_approx_kl += (w * -logratio) as f64;
        stats.approx_kl += (w * ((ratio - 1.0) - logratio)) as f64;
        stats.clipfrac += if (ratio - 1.0).abs() > clip { w as f64 } else { 0.0 };
        // the larger term carries the gradient (the unclipped one on a tie, as burn's
        // max_pair); the clipped term has none outside the clip range, where it is chosen
        let d_logp = if pg1 >= pg2 { -adv * ratio * w } else { 0.0 };
        let row = &mut d_logits[r * k..(r + 1) * k];
        for j in 0..k {
            let onehot = if j == a { 1.0 } else { 0.0 };
            row[j] = d_logp * (onehot - p[j]) + ent_coef * w * p[j] * ((z[j] - lse) + entropy);
        }
        if !batch.masks.is_empty() {
            for (g, &legal) in row.iter_mut().zip(&batch.masks[r * k..(r + 1) * k]) {
                if !legal {
                    *g = 0.0;
                }
            }
        }
    }
    d_logits
}

/// The value loss over every head (clipped as CleanRL's `clip_vloss`) into `stats`, and its
/// gradient with respect to the critic's output (`values`, `[rows * h]`).
fn value_gradient(values: &[f32], batch: &Batch, c: &PpoConfig, h: usize, stats: &mut StepStats) -> Vec<f32> {
    let (clip, vf) = (c.clip_coef as f32, c.vf_coef as f32);
    let mut d_values = vec![0.0f32; batch.weights.len() * h];
    for (r, &weight) in batch.weights.iter().enumerate() {
        let w = weight / batch.total_w;
        for j in r * h..(r + 1) * h {
            let (v, ret, old) = (values[j], batch.returns[j], batch.old_values[j]);
            let unclipped = (v - ret).powi(2);
            let (loss, grad) = if c.clip_vloss {
                let delta = v - old;
                let clipped_v = old + delta.clamp(-clip, clip);
                let clipped = (clipped_v - ret).powi(2);
                if unclipped >= clipped {
                    (unclipped, 2.0 * (v - ret))
                } else {
                    let inside = (-clip..=clip).contains(&delta);
                    (clipped, if inside { 2.0 * (clipped_v - ret) } else { 0.0 })
                }
            } else {
                (unclipped, 2.0 * (v - ret))
            };
            stats.value += (0.5 * w * loss) as f64;
            d_values[j] = vf * 0.5 * w * grad;
        }
    }
    d_values
}

/// `dst = (dst if accumulate) + a b` for row-major `a` `[m, k]` and `b` `[k, n]`, either given
/// transposed (stored as `[k, m]` or `[n, k]`).
fn matmul(dst: &mut [f32], accumulate: bool, a: &[f32], b: &[f32], [m, k, n]: [usize; 3], [ta, tb]: [bool; 2]) {
    assert!(dst.len() == m * n && a.len() == m * k && b.len() == k * n, "matmul shapes");
    let (a_rs, a_cs) = if ta { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if tb { (1, k as isize) } else { (n as isize, 1) };
    // SAFETY: the three slices hold exactly the matrices the strides describe (checked above),
    // and `dst` is borrowed mutably, so it overlaps neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Adam's moments and parameter step, with `factor` and `eps` its bias corrections folded in.
#[multiversion(targets = "simd")]
fn adam_update(params: &mut [f32], grads: &[f32], a: &mut Adam, lr: f32, factor: f32, eps: f32) {
    for (((p, g), m), v) in params.iter_mut().zip(grads).zip(&mut a.m).zip(&mut a.v) {
        *m = BETA_1 * *m + (1.0 - BETA_1) * g;
        *v = BETA_2 * *v + (1.0 - BETA_2) * g * g;
        *p -= lr * (*m * factor / (v.sqrt() + eps));
    }
}

/// Multiplies the gradient `dy` by the activation's derivative at its outputs `y`.
#[multiversion(targets = "simd")]
fn activation_backward(activation: Activation, dy: &mut [f32], y: &[f32]) {
    match activation {
        Activation::Tanh => dy.iter_mut().zip(y).for_each(|(g, y)| *g *= 1.0 - y * y),
        Activation::Relu => dy.iter_mut().zip(y).for_each(|(g, &y)| *g *= f32::from(y > 0.0)),
    }
}

/// The activation in place.
#[multiversion(targets = "simd")]
fn activate(activation: Activation, y: &mut [f32]) {
    match activation {
        Activation::Tanh => y.iter_mut().for_each(|x| *x = tanh(*x)),
        Activation::Relu => y.iter_mut().for_each(|x| *x = x.max(0.0)),
    }
}

/// tanh to within a few units in the last place, without branches or libm calls, so that the
/// loop over a layer vectorises: its odd Taylor series to x^7 below |x| = 1/16 (the next term is
/// under 1e-12), else `(1 - e) / (1 + e)` with `e = exp(-2|x|)`; signed.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let a2 = a * a;
    let small = a * (1.0 + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0))));
    let e = exp_nonpositive(-2.0 * a);
    let large = (1.0 - e) / (1.0 + e);
    (if a < 0.0625 { small } else { large }).copysign(x)
}

/// exp(x) for x <= 0 (below -87 it returns exp(-87)), without branches: x = k ln 2 + r with
/// |r| <= ln 2 / 2 (k rounded by adding 1.5 * 2^23; ln 2 split in two for an exact k ln 2), exp(r)
/// by its Taylor series to r^7 (the next term is under 6e-9 of it), times 2^k built from its bits.
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.max(-87.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (1.0 / 2.0
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // t's low mantissa bits hold k; 2^k for k in [-126, 0] is a normal float
    let k_bits = t.to_bits() as i32 - ROUND.to_bits() as i32;
    p * f32::from_bits(((k_bits + 127) << 23) as u32)
}

fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    max + row.iter().map(|&z| (z - max).exp()).sum::<f32>().ln()
}

/// Every float parameter of `model`, flattened, in visiting order.
fn read_params<M: Module>(model: &M) -> Vec<f32> {
    struct Reader(Vec<f32>);
    impl ModuleVisitor for Reader {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data: Vec<f32> = param.val().into_data().try_into_vec().expect("the network computes in f32");
            self.0.extend(data);
        }
    }
    let mut reader = Reader(Vec::new());
    model.visit(&mut reader);
    reader.0
}

/// Replaces every float parameter, in visiting order, by the next values of `params`.
struct Writer<'a> {
    params: &'a [f32],
    at: usize,
}

impl ModuleMapper for Writer<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|old| {
            let shape = old.shape();
            let n = shape.num_elements();
            let data = TensorData::new(self.params[self.at..self.at + n].to_vec(), shape);
            self.at += n;
            let fresh = Tensor::from_data(data, &old.device());
            if old.is_require_grad() { fresh.require_grad() } else { fresh }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branch_free_tanh_and_exp_are_within_a_few_ulp() {
        let mut worst: (f64, f32) = (0.0, 0.0);
        let points = (-40_000..=40_000).map(|i| i as f32 * 5e-4).chain((1..200).map(|i| 1e-6 * i as f32));
        for x in points.chain([0.0625, -0.0625, 1e-30, 50.0, -50.0, 0.0, -0.0]) {
            let exact = (x as f64).tanh();
            let err = (tanh(x) as f64 - exact).abs() / exact.abs().max(1e-30);
            if err > worst.0 {
                worst = (err, x);
            }
            let e = exp_nonpositive(-x.abs());
            let exact_e = (-(x.abs() as f64)).exp();
            assert!((e as f64 - exact_e).abs() <= 3e-7 * exact_e, "exp({}) = {e}, not {exact_e}", -x.abs());
        }
        assert!(worst.0 < 1e-6, "tanh's largest relative error {} at {}", worst.0, worst.1);
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(-50.0), -1.0);
    }
}
