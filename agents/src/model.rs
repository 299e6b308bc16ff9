//! The actor-critic network: separate MLPs for the policy and the values (as CleanRL does); the
//! critic has one head for the task reward and one per cost component.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Nonlinearity between layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// tanh (CleanRL's default for PPO).
    #[default]
    Tanh,
    /// ReLU.
    Relu,
}

impl Activation {
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            // tanh(x) = 2 sigmoid(2x) - 1: the same function to float rounding, and burn's CPU
            // backend computes sigmoid from expf, four times faster than libm's tanhf, which it
            // calls twice per tanh (forward and, recomputed, backward).
            Activation::Tanh => sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0),
            Activation::Relu => relu(x),
        }
    }
}

/// How the actor turns an observation into action logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyHead {
    /// An MLP from the whole observation to one logit per action.
    #[default]
    Mlp,
    /// For observations laid out as rows `[context, action 0, action 1, ...]` (text games): one
    /// MLP scores each action from the context row and the action's own row, shared by all
    /// actions, as MACHIAVELLI's DRRN scores (state, choice) pairs.
    ChoiceScorer,
}

/// How the actor-critic's weights start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// CleanRL's `layer_init`: orthogonal weights with gain sqrt(2) in the hidden layers, 0.01
    /// in the policy head and 1 in the value heads, zero biases.
    #[default]
    Orthogonal,
    /// burn's (and PyTorch's) default for a linear layer: Kaiming uniform weights and biases
    /// (moralgym v0).
    KaimingUniform,
}

impl Init {
    /// A convolution from `c_in` to `c_out` channels, `k` x `k` at stride `s`, its weights
    /// orthogonal at gain sqrt(2) (CleanRL's `layer_init` of its Atari torso) or burn's default.
    fn conv(self, c_in: usize, c_out: usize, k: usize, s: usize, device: &Device) -> Conv2d {
        let config = Conv2dConfig::new([c_in, c_out], [k, k]).with_stride([s, s]);
        match self {
            Init::KaimingUniform => config.init(device),
            Init::Orthogonal => {
                let gain = std::f64::consts::SQRT_2;
                let mut conv = config.with_bias(false).with_initializer(Initializer::Orthogonal { gain }).init(device);
                conv.bias = Some(Initializer::Zeros.init([c_out], device));
                conv
            }
        }
    }

    /// A linear layer from `d_in` to `d_out`, its weights at `gain` when orthogonal.
    fn linear(self, d_in: usize, d_out: usize, gain: f64, device: &Device) -> Linear {
        let default = LinearConfig::new(d_in, d_out);
        match self {
            Init::KaimingUniform => default.init(device),
            Init::Orthogonal if d_in.max(d_out) > BURN_QR_ROWS => Linear {
                weight: burn::module::Param::from_tensor(thin_orthogonal(d_in, d_out, gain, device)),
                bias: Some(Initializer::Zeros.init([d_out], device)),
            },
            Init::Orthogonal => Linear {
                weight: Initializer::Orthogonal { gain }.init_with([d_in, d_out], Some(d_in), Some(d_out), device),
                bias: Some(Initializer::Zeros.init([d_out], device)),
            },
        }
    }
}

/// The longest side of a weight matrix that burn's orthogonal initializer makes. Its QR builds
/// the full square Q (rows x rows) whatever the shape, so a layer reading a parser game's
/// 16,448 features takes a gigabyte and minutes; longer matrices are made by [`thin_orthogonal`].
/// Below this the initializer stays burn's, so recorded runs keep their weights bit for bit.
const BURN_QR_ROWS: usize = 2048;

/// The matrix PyTorch's `orthogonal_` (and burn's initializer) makes, times `gain`: a standard
/// normal draw `[d_in, d_out]` (from burn's seeded stream), transposed if wide, replaced by the Q
/// of its QR decomposition with R's diagonal made positive, transposed back. That Q is unique
/// for a full-rank draw: it is what Gram-Schmidt makes of the draw's columns, computed here in
/// f64 (each column orthogonalised twice, for accuracy), in O(rows x cols^2) time.
fn thin_orthogonal(d_in: usize, d_out: usize, gain: f64, device: &Device) -> Tensor<2> {
    let draw: Tensor<2> = Tensor::random([d_in, d_out], burn::tensor::Distribution::Normal(0.0, 1.0), device);
    let values: Vec<f32> = draw.into_data().try_to_vec::<f32>().unwrap_or_default();
    let (rows, cols) = if d_in >= d_out { (d_in, d_out) } else { (d_out, d_in) };
    // columns of the (tall) matrix, each contiguous
    let at = |r: usize, c: usize| if d_in >= d_out { values[r * d_out + c] } else { values[c * d_out + r] };
    let mut q: Vec<Vec<f64>> = (0..cols).map(|c| (0..rows).map(|r| f64::from(at(r, c))).collect()).collect();
    for c in 0..cols {
        for _ in 0..2 {
            for p in 0..c {
                let dot: f64 = q[c].iter().zip(&q[p]).map(|(a, b)| a * b).sum();
                let (done, rest) = q.split_at_mut(c);
                for (x, y) in rest[0].iter_mut().zip(&done[p]) {
                    *x -= dot * y;
                }
            }
        }
        let norm = q[c].iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
        q[c].iter_mut().for_each(|x| *x /= norm);
    }
    let mut out = vec![0f32; d_in * d_out];
    for (c, column) in q.iter().enumerate() {
        for (r, &x) in column.iter().enumerate() {
            let (i, j) = if d_in >= d_out { (r, c) } else { (c, r) };
            out[i * d_out + j] = (x * gain) as f32;
        }
    }
    Tensor::from_data(burn::tensor::TensorData::new(out, [d_in, d_out]), device)
}

/// What reads the observation before the MLP layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Torso {
    /// Nothing: the MLP reads the flat observation.
    #[default]
    Mlp,
    /// Convolutions ([`CnnConfig`]) over the observation's channel planes (a grid game's
    /// egocentric `[channels, side, side]` window), ReLU after each, flattened into the MLP.
    Cnn,
}

/// The convolutional torso: one layer per entry, `channels[i]` filters of `kernels[i]` x
/// `kernels[i]` at stride `strides[i]`, no padding. The default is the torso of the sequential
/// social dilemma games' baseline network (Vinitsky et al.'s `ConvToFCNet`): one layer of six 3 x 3
/// filters, stride 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CnnConfig {
    /// Filters per layer.
    pub channels: Vec<usize>,
    /// Kernel side per layer.
    pub kernels: Vec<usize>,
    /// Stride per layer.
    pub strides: Vec<usize>,
}

impl Default for CnnConfig {
    fn default() -> Self {
        Self { channels: vec![6], kernels: vec![3], strides: vec![1] }
    }
}

impl CnnConfig {
    /// The planes `[channels, height, width]` the layers make of `planes`; `Err` says which
    /// setting does not fit.
    pub fn output(&self, planes: [usize; 3]) -> Result<[usize; 3], String> {
        let layers = self.channels.len();
        if layers == 0 || self.kernels.len() != layers || self.strides.len() != layers {
            return Err("channels, kernels and strides must list the same number (at least 1) of layers".into());
        }
        let [mut c, mut h, mut w] = planes;
        for i in 0..layers {
            let (f, k, s) = (self.channels[i], self.kernels[i], self.strides[i]);
            if f == 0 || k == 0 || s == 0 || f > 4096 {
                return Err(format!("layer {i}: channels must be 1 to 4096, kernels and strides at least 1"));
            }
            if k > h || k > w {
                return Err(format!("layer {i}: a {k} x {k} kernel does not fit the {h} x {w} planes it reads"));
            }
            (c, h, w) = (f, (h - k) / s + 1, (w - k) / s + 1);
        }
        Ok([c, h, w])
    }
}

/// The layers of an actor-critic: hidden sizes, nonlinearity, policy head and initialisation.
#[derive(Clone, Copy, Debug)]
pub struct Architecture<'a> {
    /// Hidden layer sizes of the actor and of the critic.
    pub hidden: &'a [usize],
    /// Nonlinearity between layers.
    pub activation: Activation,
    /// The actor's head.
    pub head: PolicyHead,
    /// How the weights start.
    pub init: Init,
    /// Convolutions over the first `c * h * w` inputs, read as `[c, h, w]` planes (the rest, if
    /// any, join the flattened planes); `None` for a plain MLP.
    pub conv: Option<(&'a CnnConfig, [usize; 3])>,
    /// Units of an LSTM between the hidden layers and the head, in actor and critic each.
    pub lstm: Option<usize>,
}

/// An LSTM cell as PyTorch's `nn.LSTM` computes one step: gates `W_x x + W_h h + b` split into
/// input, forget, cell and output gates (in that order), `c' = s(f) c + s(i) tanh(g)`,
/// `h' = s(o) tanh(c')`.
#[derive(Module, Debug)]
pub struct LstmCell {
    input: Linear,
    hidden: Linear,
}

impl LstmCell {
    /// A cell from `d_in` inputs to `units`; CleanRL's `ppo_atari_lstm.py` start (orthogonal
    /// weights at gain 1, zero biases) or burn's default.
    fn new(d_in: usize, units: usize, init: Init, device: &Device) -> Self {
        let mut hidden = init.linear(units, 4 * units, 1.0, device);
        hidden.bias = None;
        Self { input: init.linear(d_in, 4 * units, 1.0, device), hidden }
    }

    /// One step for a batch: `(h', c')` from inputs `x` and the state `(h, c)`.
    fn step(&self, x: Tensor<2>, h: Tensor<2>, c: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let gates = self.input.forward(x) + self.hidden.forward(h);
        let [i, f, g, o]: [Tensor<2>; 4] = gates.chunk(4, 1).try_into().expect("four gates");
        let c = sigmoid(f) * c + sigmoid(i) * tanh_of(g);
        let h = sigmoid(o) * tanh_of(c.clone());
        (h, c)
    }
}

/// tanh as `2 sigmoid(2x) - 1` (see [`Activation::Tanh`]).
fn tanh_of<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0)
}

/// An LSTM's state for a batch of sequences: `[batch, units]` each.
#[derive(Clone, Debug)]
pub struct LstmState {
    /// Hidden state.
    pub h: Tensor<2>,
    /// Cell state.
    pub c: Tensor<2>,
}

/// How a batch of sequences runs through the recurrent layer: `steps` steps of `batch` rows
/// each (rows time-major: step `t` holds rows `t * batch .. (t + 1) * batch`), `keep` (`[steps *
/// batch, 1]`, 0 where a sequence's episode starts at that step, so its state is zeroed first, 1
/// elsewhere) and the states before the first step, actor's and critic's.
#[derive(Clone, Debug)]
pub struct Sequences {
    /// Steps per sequence.
    pub steps: usize,
    /// 0 where a sequence's state restarts before that step, else 1.
    pub keep: Tensor<2>,
    /// The actor's state before the first step.
    pub actor: LstmState,
    /// The critic's state before the first step.
    pub critic: LstmState,
}

/// Policy logits and value estimates from a flat observation.
#[derive(Module, Debug)]
pub struct ActorCritic {
    pub(crate) actor_conv: Vec<Conv2d>,
    critic_conv: Vec<Conv2d>,
    actor_lstm: Option<LstmCell>,
    critic_lstm: Option<LstmCell>,
    actor: Vec<Linear>,
    actor_out: Linear,
    critic: Vec<Linear>,
    critic_out: Linear,
    #[module(skip)]
    activation: Activation,
    /// With a choice scorer: (actions, row width).
    #[module(skip)]
    rows: Option<(usize, usize)>,
    /// With a convolutional torso: the planes `[c, h, w]` it reads.
    #[module(skip)]
    planes: Option<[usize; 3]>,
}

impl ActorCritic {
    /// A network from `inputs` to `actions` logits and `1 + costs` values, laid out as `arch`
    /// says. With `head = ChoiceScorer`, `inputs` must be `(actions + 1) * row` for some row width;
    /// with a convolutional torso, its layers must fit the planes ([`CnnConfig::output`]) and the
    /// planes fit in `inputs` (checked by [`crate::ppo::PpoLearner::configured`]).
    pub fn new(inputs: usize, actions: usize, costs: usize, arch: Architecture<'_>, device: &Device) -> Self {
        let rows = (arch.head == PolicyHead::ChoiceScorer).then(|| (actions, inputs / (actions + 1)));
        let convs = || -> (Vec<Conv2d>, usize) {
            let Some((cnn, [c, h, w])) = arch.conv else { return (Vec::new(), inputs) };
            let mut layers = Vec::with_capacity(cnn.channels.len());
            let mut c_in = c;
            for ((&f, &k), &s) in cnn.channels.iter().zip(&cnn.kernels).zip(&cnn.strides) {
                layers.push(arch.init.conv(c_in, f, k, s, device));
                c_in = f;
            }
            let [c2, h2, w2] = cnn.output([c, h, w]).unwrap_or([0, 0, 0]);
            (layers, c2 * h2 * w2 + inputs - c * h * w)
        };
        let (actor_conv, conv_width) = convs();
        let (critic_conv, _) = convs();
        let inputs = conv_width;
        let torso = |inputs: usize| {
            let mut layers = Vec::with_capacity(arch.hidden.len());
            let mut width = inputs;
            for &h in arch.hidden {
                layers.push(arch.init.linear(width, h, std::f64::consts::SQRT_2, device));
                width = h;
            }
            (layers, width)
        };
        let (actor, a_width) = torso(rows.map_or(inputs, |(_, d)| 2 * d));
        let (critic, c_width) = torso(inputs);
        let cell = |width: usize| arch.lstm.map(|units| LstmCell::new(width, units, arch.init, device));
        let (actor_lstm, critic_lstm) = (cell(a_width), cell(c_width));
        let (a_width, c_width) = arch.lstm.map_or((a_width, c_width), |units| (units, units));
        Self {
            actor_conv,
            critic_conv,
            actor_lstm,
            critic_lstm,
            planes: arch.conv.map(|(_, planes)| planes),
            actor,
            actor_out: arch.init.linear(a_width, if rows.is_some() { 1 } else { actions }, 0.01, device),
            critic,
            critic_out: arch.init.linear(c_width, 1 + costs, 1.0, device),
            activation: arch.activation,
            rows,
        }
    }

    /// The weight matrices `[inputs, outputs]` and biases of every linear layer, actor first
    /// (hidden layers, then its head), then the critic's: for tests of the initialisation.
    pub fn layers(&self) -> Vec<(Tensor<2>, Option<Tensor<1>>)> {
        let all = self.actor.iter().chain([&self.actor_out]).chain(&self.critic).chain([&self.critic_out]);
        all.map(|l| (l.weight.val(), l.bias.as_ref().map(|b| b.val()))).collect()
    }

    /// The convolutional torso's output, flattened, followed by the inputs it does not read;
    /// `obs` itself without one.
    fn torso(&self, convs: &[Conv2d], obs: Tensor<2>) -> Tensor<2> {
        let Some([c, h, w]) = self.planes else { return obs };
        let [b, d] = obs.dims();
        let n = c * h * w;
        let mut x: Tensor<4> = obs.clone().narrow(1, 0, n).reshape([b, c, h, w]);
        for conv in convs {
            x = relu(conv.forward(x));
        }
        let [_, c2, h2, w2] = x.dims();
        let flat: Tensor<2> = x.reshape([b, c2 * h2 * w2]);
        if d > n { Tensor::cat(vec![flat, obs.narrow(1, n, d - n)], 1) } else { flat }
    }

    /// Units of the recurrent layer (0 without one).
    pub fn lstm_units(&self) -> usize {
        self.actor_lstm.as_ref().map_or(0, |cell| cell.hidden.weight.dims()[0])
    }

    /// Runs `x` (time-major rows of `seq`) through `cell` from `seq`'s state; returns every
    /// step's output and the state after the last step.
    fn recur(cell: &LstmCell, x: Tensor<2>, seq: &Sequences, state: &LstmState) -> (Tensor<2>, LstmState) {
        let b = x.dims()[0] / seq.steps;
        let (mut h, mut c) = (state.h.clone(), state.c.clone());
        let mut out = Vec::with_capacity(seq.steps);
        for t in 0..seq.steps {
            let keep = seq.keep.clone().narrow(0, t * b, b);
            (h, c) = cell.step(x.clone().narrow(0, t * b, b), h * keep.clone(), c * keep);
            out.push(h.clone());
        }
        (Tensor::cat(out, 0), LstmState { h, c })
    }

    /// Action logits `[batch, actions]`.
    pub fn logits(&self, obs: Tensor<2>) -> Tensor<2> {
        self.logits_in(obs, None).0
    }

    /// Action logits of time-major sequences (`seq`, when the network is recurrent; a recurrent
    /// network without one starts every row from a zero state), and the actor's state after.
    pub fn logits_in(&self, obs: Tensor<2>, seq: Option<&Sequences>) -> (Tensor<2>, Option<LstmState>) {
        let Some((k, d)) = self.rows else {
            let mut x = self.torso(&self.actor_conv, obs);
            for layer in &self.actor {
                x = self.activation.apply(layer.forward(x));
            }
            let (x, state) = self.through(self.actor_lstm.as_ref(), x, seq, |s| &s.actor);
            return (self.actor_out.forward(x), state);
        };
        let b = obs.dims()[0];
        let x: Tensor<3> = obs.reshape([b, k + 1, d]);
        let context = x.clone().narrow(1, 0, 1).repeat_dim(1, k);
        let choices = x.narrow(1, 1, k);
        let mut h: Tensor<2> = Tensor::cat(vec![context, choices], 2).reshape([b * k, 2 * d]);
        for layer in &self.actor {
            h = self.activation.apply(layer.forward(h));
        }
        (self.actor_out.forward(h).reshape([b, k]), None)
    }

    /// Values `[batch, 1 + costs]`: column 0 the task reward, then one per cost component.
    pub fn values(&self, obs: Tensor<2>) -> Tensor<2> {
        self.values_in(obs, None).0
    }

    /// Values of time-major sequences, as [`ActorCritic::logits_in`], and the critic's state after.
    pub fn values_in(&self, obs: Tensor<2>, seq: Option<&Sequences>) -> (Tensor<2>, Option<LstmState>) {
        let mut x = self.torso(&self.critic_conv, obs);
        for layer in &self.critic {
            x = self.activation.apply(layer.forward(x));
        }
        let (x, state) = self.through(self.critic_lstm.as_ref(), x, seq, |s| &s.critic);
        (self.critic_out.forward(x), state)
    }

    /// `x` through the recurrent layer `cell` if there is one (from a zero state without `seq`).
    fn through(
        &self,
        cell: Option<&LstmCell>,
        x: Tensor<2>,
        seq: Option<&Sequences>,
        state: impl Fn(&Sequences) -> &LstmState,
    ) -> (Tensor<2>, Option<LstmState>) {
        let Some(cell) = cell else { return (x, None) };
        let (out, after) = match seq {
            Some(seq) => Self::recur(cell, x, seq, state(seq)),
            None => {
                let [b, _] = x.dims();
                let zero = Tensor::<2>::zeros([b, self.lstm_units()], &x.device());
                let (h, c) = cell.step(x, zero.clone(), zero);
                (h.clone(), LstmState { h, c })
            }
        };
        (out, Some(after))
    }
}

/// A plain MLP from `inputs` to `outputs` (LASE's joint-action Q network and perspective taker).
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    out: Linear,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    /// `hidden` layers between `inputs` and `outputs`, initialised on `device`.
    pub fn new(inputs: usize, outputs: usize, hidden: &[usize], activation: Activation, device: &Device) -> Self {
        let mut layers = Vec::with_capacity(hidden.len());
        let mut width = inputs;
        for &h in hidden {
            layers.push(LinearConfig::new(width, h).init(device));
            width = h;
        }
        Self { layers, out: LinearConfig::new(width, outputs).init(device), activation }
    }

    /// `[batch, outputs]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = x;
        for layer in &self.layers {
            x = self.activation.apply(layer.forward(x));
        }
        self.out.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32")
    }

    /// The thin construction is burn's (PyTorch's) matrix: from the same seeded draw, tall and
    /// wide, the two agree to float rounding.
    #[test]
    fn thin_orthogonal_is_the_initializers_matrix() {
        let device = Device::flex();
        for (d_in, d_out) in [(40, 7), (7, 40), (12, 12)] {
            device.seed(5);
            let burns = Initializer::Orthogonal { gain: 2.0 }.init_with([d_in, d_out], None, None, &device).val();
            device.seed(5);
            let thin = thin_orthogonal(d_in, d_out, 2.0, &device);
            for (a, b) in values(burns).iter().zip(values(thin)) {
                assert!((a - b).abs() < 1e-4, "{d_in}x{d_out}: {a} vs {b}");
            }
        }
    }

    /// A layer too long for burn's QR (the critic of a parser game reads 16,448 features) is
    /// made thin, and is orthogonal times its gain.
    #[test]
    fn long_layers_are_orthogonal() {
        let device = Device::flex();
        let layer = Init::Orthogonal.linear(BURN_QR_ROWS + 900, 16, std::f64::consts::SQRT_2, &device);
        let w = layer.weight.val();
        let gram = values(w.clone().transpose().matmul(w));
        for i in 0..16 {
            for j in 0..16 {
                let want = if i == j { 2.0 } else { 0.0 };
                assert!((gram[i * 16 + j] - want).abs() < 1e-4, "[{i},{j}]: {}", gram[i * 16 + j]);
            }
        }
    }
}
