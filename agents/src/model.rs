//! The actor-critic network: separate MLPs for the policy and the values (as CleanRL does); the
//! critic has one head for the task reward and one per cost component.

use burn::module::Module;
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
    /// A linear layer from `d_in` to `d_out`, its weights at `gain` when orthogonal.
    fn linear(self, d_in: usize, d_out: usize, gain: f64, device: &Device) -> Linear {
        let default = LinearConfig::new(d_in, d_out);
        match self {
            Init::KaimingUniform => default.init(device),
            Init::Orthogonal => Linear {
                weight: Initializer::Orthogonal { gain }.init_with([d_in, d_out], Some(d_in), Some(d_out), device),
                bias: Some(Initializer::Zeros.init([d_out], device)),
            },
        }
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
}

/// Policy logits and value estimates from a flat observation.
#[derive(Module, Debug)]
pub struct ActorCritic {
    actor: Vec<Linear>,
    actor_out: Linear,
    critic: Vec<Linear>,
    critic_out: Linear,
    #[module(skip)]
    activation: Activation,
    /// With a choice scorer: (actions, row width).
    #[module(skip)]
    rows: Option<(usize, usize)>,
}

impl ActorCritic {
    /// A network from `inputs` to `actions` logits and `1 + costs` values, laid out as `arch`
    /// says. With `head = ChoiceScorer`, `inputs` must be `(actions + 1) * row` for some row width.
    pub fn new(inputs: usize, actions: usize, costs: usize, arch: Architecture<'_>, device: &Device) -> Self {
        let rows = (arch.head == PolicyHead::ChoiceScorer).then(|| (actions, inputs / (actions + 1)));
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
        Self {
            actor,
            actor_out: arch.init.linear(a_width, if rows.is_some() { 1 } else { actions }, 0.01, device),
            critic,
            critic_out: arch.init.linear(c_width, 1 + costs, 1.0, device),
            activation: arch.activation,
            rows,
        }
    }

    /// The weight matrices `[inputs, outputs]` and biases of every layer, actor first (hidden
    /// layers, then its head), then the critic's: for tests of the initialisation.
    pub fn layers(&self) -> Vec<(Tensor<2>, Option<Tensor<1>>)> {
        let all = self.actor.iter().chain([&self.actor_out]).chain(&self.critic).chain([&self.critic_out]);
        all.map(|l| (l.weight.val(), l.bias.as_ref().map(|b| b.val()))).collect()
    }

    /// Action logits `[batch, actions]`.
    pub fn logits(&self, obs: Tensor<2>) -> Tensor<2> {
        let Some((k, d)) = self.rows else {
            let mut x = obs;
            for layer in &self.actor {
                x = self.activation.apply(layer.forward(x));
            }
            return self.actor_out.forward(x);
        };
        let b = obs.dims()[0];
        let x: Tensor<3> = obs.reshape([b, k + 1, d]);
        let context = x.clone().narrow(1, 0, 1).repeat_dim(1, k);
        let choices = x.narrow(1, 1, k);
        let mut h: Tensor<2> = Tensor::cat(vec![context, choices], 2).reshape([b * k, 2 * d]);
        for layer in &self.actor {
            h = self.activation.apply(layer.forward(h));
        }
        self.actor_out.forward(h).reshape([b, k])
    }

    /// Values `[batch, 1 + costs]`: column 0 the task reward, then one per cost component.
    pub fn values(&self, obs: Tensor<2>) -> Tensor<2> {
        let mut x = obs;
        for layer in &self.critic {
            x = self.activation.apply(layer.forward(x));
        }
        self.critic_out.forward(x)
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
