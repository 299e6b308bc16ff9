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

/// Policy logits and value estimates from a flat observation.
#[derive(Module, Debug)]
pub struct ActorCritic {
    actor: Vec<Linear>,
    actor_out: Linear,
    critic: Vec<Linear>,
    critic_out: Linear,
    #[module(skip)]
    activation: Activation,
}

impl ActorCritic {
    /// A network from `inputs` to `actions` logits and `1 + costs` values, with `hidden` layers.
    pub fn new(
        inputs: usize,
        actions: usize,
        costs: usize,
        hidden: &[usize],
        activation: Activation,
        device: &Device,
    ) -> Self {
        let torso = |device: &Device| {
            let mut layers = Vec::with_capacity(hidden.len());
            let mut width = inputs;
            for &h in hidden {
                layers.push(LinearConfig::new(width, h).init(device));
                width = h;
            }
            (layers, width)
        };
        let (actor, a_width) = torso(device);
        let (critic, c_width) = torso(device);
        Self {
            actor,
            actor_out: LinearConfig::new(a_width, actions).init(device),
            critic,
            critic_out: LinearConfig::new(c_width, 1 + costs).init(device),
            activation,
        }
    }

    /// Action logits `[batch, actions]`.
    pub fn logits(&self, obs: Tensor<2>) -> Tensor<2> {
        let mut x = obs;
        for layer in &self.actor {
            x = self.activation.apply(layer.forward(x));
        }
        self.actor_out.forward(x)
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
