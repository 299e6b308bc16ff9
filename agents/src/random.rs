//! The uniformly random policy: the baseline every benchmark normalises against.

use moralgym_envs::{ParallelEnv, Rng};

use crate::policy::{Policy, PolicyError};

/// Picks each agent's action uniformly among its legal actions, from its own seeded RNG.
#[derive(Clone, Debug)]
pub struct RandomPolicy {
    rng: Rng,
    mask: Vec<bool>,
}

impl RandomPolicy {
    /// A random policy with its own stream.
    pub fn new(seed: u64) -> Self {
        Self { rng: Rng::new(seed), mask: Vec::new() }
    }

    /// Writes one legal action per agent of `env` into `actions`.
    pub fn act(&mut self, env: &dyn ParallelEnv, actions: &mut [u32]) {
        let spec = env.spec();
        let n = spec.num_actions();
        for (agent, a) in actions.iter_mut().enumerate() {
            if !spec.has_action_mask {
                *a = self.rng.below(n) as u32;
                continue;
            }
            self.mask.resize(n, true);
            env.action_mask(agent, &mut self.mask);
            let legal = self.mask.iter().filter(|&&m| m).count();
            *a = match legal {
                0 => 0,
                _ => {
                    let k = self.rng.below(legal);
                    self.mask.iter().enumerate().filter(|(_, m)| **m).nth(k).map_or(0, |(i, _)| i as u32)
                }
            };
        }
    }
}

impl Policy for RandomPolicy {
    fn act(&mut self, env: &dyn ParallelEnv, _obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        RandomPolicy::act(self, env, actions);
        Ok(())
    }
}
