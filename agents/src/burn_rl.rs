//! Any single-agent moralgym env as a `burn::rl::Environment`, for Rust code built on burn's own
//! RL traits. burn's `StepResult` carries one reward, so the costs stay beside it: read them with
//! [`BurnEnv::last_costs`], or fold them in with [`BurnEnv::with_cost_weights`].

use burn::rl::{Environment, StepResult};
use moralgym_envs::{Env, EnvError, EnvResult, SingleAgent, derive_seed, make};
use serde_json::Value;

/// A moralgym env behind burn's `Environment` trait. State: the flat observation; action: the
/// discrete action index.
pub struct BurnEnv {
    env: SingleAgent,
    obs: Vec<f32>,
    seed: u64,
    episodes: u64,
    weights: Vec<f32>,
    last_costs: Vec<f32>,
    last_error: Option<EnvError>,
}

impl BurnEnv {
    /// Creates and resets env `id` (which must have one agent); episode `k` is seeded with
    /// `derive_seed(seed, k)`.
    pub fn new(id: &str, config: &Value, seed: u64) -> EnvResult<Self> {
        let env = SingleAgent::new(make(id, config)?)?;
        let k = env.spec().num_costs();
        let mut this = Self {
            env,
            obs: Vec::new(),
            seed,
            episodes: 0,
            weights: vec![0.0; k],
            last_costs: vec![0.0; k],
            last_error: None,
        };
        this.reset();
        Ok(this)
    }

    /// Makes the reward `task reward - sum_k weights[k] * cost_k` (one weight per component).
    pub fn with_cost_weights(mut self, weights: Vec<f32>) -> EnvResult<Self> {
        if weights.len() != self.weights.len() {
            return Err(EnvError::Length { what: "cost weights", expected: self.weights.len(), got: weights.len() });
        }
        self.weights = weights;
        Ok(self)
    }

    /// Costs of the last step, one per component of the spec's `CostSpec`.
    pub fn last_costs(&self) -> &[f32] {
        &self.last_costs
    }

    /// The error of the last step, if its action was illegal (that step then ended the episode).
    pub fn last_error(&self) -> Option<&EnvError> {
        self.last_error.as_ref()
    }

    /// The wrapped env.
    pub fn env(&self) -> &SingleAgent {
        &self.env
    }
}

impl Environment for BurnEnv {
    type State = Vec<f32>;
    type Action = u32;

    /// burn asks for a compile-time bound; the real limit is `spec().max_episode_steps`, after
    /// which a step reports `truncated`.
    const MAX_STEPS: usize = usize::MAX;

    fn state(&self) -> Vec<f32> {
        self.obs.clone()
    }

    /// Steps the env. An illegal action cannot be returned as an error through burn's trait: the
    /// step then ends the episode (`truncated`, reward 0, state unchanged) and
    /// [`BurnEnv::last_error`] says why.
    fn step(&mut self, action: u32) -> StepResult<Vec<f32>> {
        match self.env.step(action) {
            Ok(s) => {
                self.last_error = None;
                let penalty: f32 = s.costs.iter().zip(&self.weights).map(|(c, w)| c * w).sum();
                self.last_costs = s.costs;
                self.obs = s.obs;
                StepResult {
                    next_state: self.obs.clone(),
                    reward: (s.reward - penalty) as f64,
                    done: s.terminated,
                    truncated: s.truncated,
                }
            }
            Err(e) => {
                self.last_error = Some(e);
                self.last_costs.fill(0.0);
                StepResult { next_state: self.obs.clone(), reward: 0.0, done: false, truncated: true }
            }
        }
    }

    fn reset(&mut self) {
        self.obs = self.env.reset(Some(derive_seed(self.seed, self.episodes)));
        self.episodes += 1;
        self.last_error = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn burn_env_steps_a_one_agent_moralgym_env_and_keeps_costs_apart() {
        let config = json!({"num_agents": 1, "max_steps": 30, "map": ["A.", "AA"]});
        let mut env = BurnEnv::new("Harvest-v1", &config, 3).expect("one agent");
        assert_eq!(env.state().len(), env.env().spec().obs_dim());
        let mut total = 0.0;
        let mut depletion = 0.0;
        let mut steps = 0;
        loop {
            let s = env.step([2, 1, 3, 0][steps % 4]); // left, down, right, up: a loop over the patch
            total += s.reward;
            depletion += env.last_costs()[0];
            steps += 1;
            if s.done || s.truncated {
                assert!(s.truncated && env.last_error().is_none());
                break;
            }
        }
        assert_eq!(steps, 30);
        assert!(total >= 1.0, "the agent walks over apples: {total}");
        assert!(depletion >= 1.0, "taking a patch's last apple costs: {depletion}");
        let err = BurnEnv::new("CoinGame-v1", &json!({}), 0).err().expect("two agents");
        assert!(err.to_string().contains("num_agents = 1"), "{err}");
    }

    #[test]
    fn illegal_actions_end_the_episode_with_the_error_recorded_and_weights_fold_costs_in() {
        let mut env = BurnEnv::new("Harvest-v1", &json!({"num_agents": 1}), 0).expect("env");
        let s = env.step(99);
        assert!(s.truncated && s.reward == 0.0);
        assert!(matches!(env.last_error(), Some(EnvError::IllegalAction { action: 99, .. })));
        assert!(env.with_cost_weights(vec![1.0]).is_err(), "Harvest has two cost components");
    }
}
