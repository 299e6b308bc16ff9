//! The actor-critic network: separate MLPs for the policy and the values (as CleanRL does); the
//! critic has one head for the task reward and one per cost component.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, tanh};
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
            Activation::Tanh => tanh(x),
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
    /// A network from `inputs` to `actions` logits and `1 + costs` values, with `hidden` layers.
    /// With `head = ChoiceScorer`, `inputs` must be `(actions + 1) * row` for some row width.
    pub fn new(
        inputs: usize,
        actions: usize,
        costs: usize,
        hidden: &[usize],
        activation: Activation,
        head: PolicyHead,
        device: &Device,
    ) -> Self {
        let rows = (head == PolicyHead::ChoiceScorer).then(|| (actions, inputs / (actions + 1)));
        let torso = |inputs: usize| {
            let mut layers = Vec::with_capacity(hidden.len());
            let mut width = inputs;
            for &h in hidden {
                layers.push(LinearConfig::new(width, h).init(device));
                width = h;
            }
            (layers, width)
        };
        let (actor, a_width) = torso(rows.map_or(inputs, |(_, d)| 2 * d));
        let (critic, c_width) = torso(inputs);
        Self {
            actor,
            actor_out: LinearConfig::new(a_width, if rows.is_some() { 1 } else { actions }).init(device),
            critic,
            critic_out: LinearConfig::new(c_width, 1 + costs).init(device),
            activation,
            rows,
        }
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
