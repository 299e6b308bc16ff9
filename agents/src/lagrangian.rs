//! PPO-Lagrangian's multipliers (OmniSafe's rule): each lambda >= 0 follows gradient ascent on
//! lambda * (J_c - d) with Adam, once per rollout, from the mean episode cost J_c of the episodes
//! that finished in it.

/// One multiplier with its own Adam state.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Multiplier {
    /// Current value (never negative).
    pub value: f64,
    /// Per-episode cost limit d.
    pub limit: f64,
    lr: f64,
    m: f64,
    v: f64,
    t: i32,
}

impl Multiplier {
    /// A multiplier starting at `init` for limit `limit`, learning rate `lr`.
    pub fn new(init: f64, limit: f64, lr: f64) -> Self {
        Self { value: init.max(0.0), limit, lr, m: 0.0, v: 0.0, t: 0 }
    }

    /// One Adam step on the loss `-lambda * (episode_cost - limit)`, then projection to `>= 0`.
    pub fn update(&mut self, episode_cost: f64) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        let grad = -(episode_cost - self.limit);
        self.t += 1;
        self.m = B1 * self.m + (1.0 - B1) * grad;
        self.v = B2 * self.v + (1.0 - B2) * grad * grad;
        let m_hat = self.m / (1.0 - B1.powi(self.t));
        let v_hat = self.v / (1.0 - B2.powi(self.t));
        self.value = (self.value - self.lr * m_hat / (v_hat.sqrt() + EPS)).max(0.0);
    }
}

/// Combines reward and cost advantages: (A_r - sum_k lambda_k A_k) / (1 + sum_k lambda_k).
pub fn combine(reward_adv: f32, cost_adv: &[f32], lambdas: &[f64]) -> f32 {
    let penalty: f64 = cost_adv.iter().zip(lambdas).map(|(a, l)| *a as f64 * l).sum();
    let total: f64 = lambdas.iter().sum();
    ((reward_adv as f64 - penalty) / (1.0 + total)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplier_rises_above_the_limit_falls_below_and_stays_non_negative() {
        let mut m = Multiplier::new(0.001, 10.0, 0.035);
        for _ in 0..20 {
            m.update(30.0);
        }
        let high = m.value;
        assert!(high > 0.5, "{high}");
        for _ in 0..200 {
            m.update(0.0);
        }
        assert_eq!(m.value, 0.0, "projected at zero");
    }

    #[test]
    fn combined_advantage_matches_omnisafe() {
        assert_eq!(combine(1.0, &[2.0], &[0.0]), 1.0);
        assert_eq!(combine(1.0, &[2.0], &[1.0]), (1.0 - 2.0) / 2.0);
        assert!((combine(3.0, &[1.0, 2.0], &[0.5, 0.25]) - (3.0 - 0.5 - 0.5) / 1.75).abs() < 1e-6);
    }
}
