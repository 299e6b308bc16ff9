//! A learned harm predictor for the conscience: logistic regression on logged (observation,
//! action, cost) data, trained from random play before learning starts.
//!
//! Features of an action: for observations laid out as rows `[context, action 0, action 1, ...]`
//! (text games: the narration, then each choice), the context row and the action's own row;
//! otherwise the observation placed in the action's own block of `actions` blocks (one regression
//! per action, so that harm can depend on state and action together) and a one-hot action. The
//! label is whether the step in which the action was taken incurred any cost.

use moralgym_envs::{ParallelEnv, Rng};

/// Logistic regression from an action's features to the probability that it incurs a cost.
#[derive(Clone, Debug, PartialEq)]
pub struct HarmClassifier {
    weights: Vec<f32>,
    bias: f32,
    rows: Option<usize>,
    obs_dim: usize,
    actions: usize,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl HarmClassifier {
    fn layout(env: &dyn ParallelEnv) -> (Option<usize>, usize, usize) {
        let spec = env.spec();
        let rows = match &spec.observation_space {
            moralgym_envs::Space::Box { shape, .. } if shape.len() == 2 && shape[0] == spec.num_actions() + 1 => {
                Some(shape[1])
            }
            _ => None,
        };
        (rows, spec.obs_dim(), spec.num_actions())
    }

    fn dim(&self) -> usize {
        self.rows.map_or((self.obs_dim + 1) * self.actions, |d| 2 * d)
    }

    /// Writes the features of `action` given one agent's observation.
    fn features(&self, obs: &[f32], action: usize, out: &mut Vec<f32>) {
        out.clear();
        match self.rows {
            Some(d) => {
                out.extend_from_slice(&obs[..d]);
                out.extend_from_slice(&obs[(action + 1) * d..(action + 2) * d]);
            }
            None => {
                out.resize((self.obs_dim + 1) * self.actions, 0.0);
                out[action * self.obs_dim..(action + 1) * self.obs_dim].copy_from_slice(obs);
                out[self.obs_dim * self.actions + action] = 1.0;
            }
        }
    }

    /// Probability that taking `action` incurs a cost.
    pub fn predict(&self, obs: &[f32], action: usize, scratch: &mut Vec<f32>) -> f32 {
        self.features(obs, action, scratch);
        sigmoid(self.bias + scratch.iter().zip(&self.weights).map(|(x, w)| x * w).sum::<f32>())
    }

    /// Logs `samples` transitions of agent 0 playing uniformly random legal actions in `env`
    /// (seeded with `seed`) and fits the regression; returns it with its training accuracy.
    pub fn fit(env: &mut dyn ParallelEnv, samples: usize, seed: u64) -> (Self, f64) {
        let (rows, obs_dim, actions) = Self::layout(env);
        let mut model = Self { weights: Vec::new(), bias: 0.0, rows, obs_dim, actions };
        model.weights = vec![0.0; model.dim()];
        let mut rng = Rng::new(seed);
        let spec = env.spec().clone();
        let mut data: Vec<(Vec<f32>, f32)> = Vec::with_capacity(samples);
        let mut obs = env.reset(Some(seed));
        let mut mask = vec![true; actions];
        let mut joint = vec![0u32; spec.num_agents];
        let mut feats = Vec::new();
        while data.len() < samples {
            for (agent, a) in joint.iter_mut().enumerate() {
                env.action_mask(agent, &mut mask);
                let legal: Vec<usize> = (0..actions).filter(|&k| mask[k]).collect();
                *a = legal[rng.below(legal.len())] as u32;
            }
            let step = match env.step(&joint) {
                Ok(s) => s,
                Err(_) => {
                    obs = env.reset(None);
                    continue;
                }
            };
            let k = spec.num_costs();
            let harmed = step.costs[..k].iter().any(|&c| c > 0.0);
            model.features(&obs[..obs_dim], joint[0] as usize, &mut feats);
            data.push((feats.clone(), harmed as u8 as f32));
            obs = if step.all_done() { env.reset(None) } else { step.obs };
        }
        // Plain stochastic gradient descent on the log loss.
        let mut order: Vec<usize> = (0..data.len()).collect();
        for epoch in 0..30 {
            rng.shuffle(&mut order);
            let lr = 0.5 / (1.0 + epoch as f32 * 0.2);
            for &i in &order {
                let (x, y) = &data[i];
                let p = sigmoid(model.bias + x.iter().zip(&model.weights).map(|(a, w)| a * w).sum::<f32>());
                let g = p - y;
                model.bias -= lr * g;
                for (w, a) in model.weights.iter_mut().zip(x) {
                    *w -= lr * g * a;
                }
            }
        }
        let correct = data
            .iter()
            .filter(|(x, y)| {
                let p = sigmoid(model.bias + x.iter().zip(&model.weights).map(|(a, w)| a * w).sum::<f32>());
                (p > 0.5) == (*y > 0.5)
            })
            .count();
        (model, correct as f64 / data.len().max(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moralgym_envs::make;
    use serde_json::json;

    #[test]
    fn the_learned_predictor_separates_harmful_from_clean_choices_in_a_text_game() {
        let mut env = make("TextGame-v0", &json!({"game": "heist"})).expect("env");
        let (model, accuracy) = HarmClassifier::fit(env.as_mut(), 3000, 1);
        assert!(accuracy > 0.85, "training accuracy {accuracy}");
        // at the first decision of the recon scene: the forged badge (deception) versus the job
        let mut env = make("TextGame-v0", &json!({"game": "heist"})).expect("env");
        let mut obs = env.reset(Some(0));
        let mut feats = Vec::new();
        let mut agree = 0;
        let mut total = 0;
        let mut harm = vec![0.0; env.spec().num_actions()];
        let mut mask = vec![false; env.spec().num_actions()];
        for _ in 0..8 {
            env.harm_oracle().expect("text games annotate harm").action_harm(0, &mut harm);
            env.action_mask(0, &mut mask);
            for a in (0..mask.len()).filter(|&a| mask[a]) {
                total += 1;
                agree += ((model.predict(&obs, a, &mut feats) > 0.5) == (harm[a] > 0.0)) as usize;
            }
            let s = env.step(&[0]).expect("legal");
            if s.terminated[0] {
                break;
            }
            obs = s.obs;
        }
        assert!(agree * 10 >= total * 7, "agrees with the oracle on {agree} of {total} offered choices");
    }

    #[test]
    fn the_learned_predictor_learns_harm_from_costs_where_no_oracle_exists() {
        use moralgym_envs::social::grid::{DOWN, LEFT, RIGHT, UP};
        use moralgym_envs::social::{CoinGame, CoinGameConfig};
        let mut env = make("CoinGame-v1", &json!({})).expect("env");
        let (model, accuracy) = HarmClassifier::fit(env.as_mut(), 40_000, 2);
        assert!(accuracy > 0.9, "{accuracy}");
        // agent 0 beside agent 1's coin: stepping onto it is the harmful move
        let mut game = CoinGame::new("CoinGame-v1", CoinGameConfig::default()).expect("env");
        game.reset(Some(0));
        game.place_agent(0, 2, 0);
        game.place_agent(1, 4, 4);
        game.put_coin(2, 1, 1);
        let s = game.step(&[LEFT, DOWN]).expect("both blocked by walls: nothing moves");
        let obs = &s.obs[..game.spec().obs_dim()];
        let mut f = Vec::new();
        let (onto, away) = (model.predict(obs, RIGHT as usize, &mut f), model.predict(obs, UP as usize, &mut f));
        assert!(onto > 2.0 * away, "P(harm | right onto the coin) {onto} vs P(harm | up) {away}");
    }
}
