//! What each learner trains on in a mixed-motive game: its own reward (selfish), the group's
//! (group-optimal), its reward less an envy and a guilt term (inequity aversion), or its reward
//! after LASE's empathy gifting. This module holds the settings and the exact formulas; the
//! networks LASE needs are in [`crate::lase`].
//!
//! Order of a step: gifts move reward between agents first (zero-sum), then each agent's mode
//! turns the gifted rewards into its training reward. Costs are never moved or mixed.

use serde::{Deserialize, Serialize};

use crate::error::{AgentError, setting};
use crate::lase::LaseConfig;

/// How an agent values the rewards of the group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocialMode {
    /// Its own reward (independent learners).
    #[default]
    Selfish,
    /// The sum of everyone's rewards ("GO" in LASE's paper).
    GroupOptimal,
    /// Hughes et al. (2018): own reward less `alpha` times the mean advantage of the others and
    /// `beta` times its own mean advantage over them, on temporally smoothed rewards.
    InequityAversion,
    /// LASE: gifts a share of its reward to each co-player in proportion to how much that
    /// co-player's action helped it, and trains on what it keeps plus what it is given.
    Lase,
}

/// The `[social]` table of a run config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SocialConfig {
    /// Mode of every learning agent.
    pub mode: SocialMode,
    /// Per-agent modes (one entry per agent), overriding `mode`: e.g. one LASE agent among
    /// selfish ones. Fixed partners must be `selfish` here (they do not learn).
    pub agents: Option<Vec<SocialMode>>,
    /// Inequity aversion: weight of disadvantageous inequity (envy).
    pub ia_alpha: f64,
    /// Inequity aversion: weight of advantageous inequity (guilt).
    pub ia_beta: f64,
    /// Inequity aversion: decay of the smoothed rewards, e_t = decay * e_{t-1} + r_t
    /// (Hughes et al.: gamma * lambda = 0.99 * 0.975).
    pub ia_decay: f64,
    /// LASE settings.
    pub lase: LaseConfig,
}

impl Default for SocialConfig {
    fn default() -> Self {
        Self {
            mode: SocialMode::Selfish,
            agents: None,
            ia_alpha: 5.0,
            ia_beta: 0.05,
            ia_decay: 0.99 * 0.975,
            lase: LaseConfig::default(),
        }
    }
}

impl SocialConfig {
    /// Each agent's mode: `agents` if given, else `mode` for learners and selfish for the rest.
    pub fn modes(&self, learners: &[usize], num_agents: usize) -> Result<Vec<SocialMode>, AgentError> {
        let modes = match &self.agents {
            Some(list) if list.len() != num_agents => {
                return Err(setting(
                    "social.agents",
                    format!("needs one mode per agent ({num_agents}), got {}", list.len()),
                ));
            }
            Some(list) => list.clone(),
            None => {
                (0..num_agents).map(|i| if learners.contains(&i) { self.mode } else { SocialMode::Selfish }).collect()
            }
        };
        if let Some(i) = (0..num_agents).find(|i| !learners.contains(i) && modes[*i] != SocialMode::Selfish) {
            return Err(setting(
                "social.agents",
                format!("agent {i} is a fixed partner and does not learn; its social mode must be selfish"),
            ));
        }
        if !(self.ia_alpha.is_finite() && self.ia_beta.is_finite() && (0.0..=1.0).contains(&self.ia_decay)) {
            return Err(setting("social", "ia_alpha and ia_beta must be finite and ia_decay in [0, 1]"));
        }
        Ok(modes)
    }
}

/// LASE's social relationship of agent i toward co-player j at one step:
/// `w = (Q(a) - b) / (max Q - min Q + eps)` with the counterfactual baseline
/// `b = sum_a' probs[a'] * Q(a')`, where `q[a']` is i's value of the joint action with j's action
/// replaced by `a'`, `taken` is j's actual action and `probs` i's estimate of j's policy.
/// Lies in [-1, 1]; 0 when j's action does not change i's value (zero range, even with eps 0).
pub fn relationship(q: &[f32], taken: usize, probs: &[f32], eps: f32) -> f32 {
    let (lo, hi) = q.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let range = hi - lo;
    if range <= 0.0 || !range.is_finite() {
        return 0.0;
    }
    let baseline: f32 = q.iter().zip(probs).map(|(q, p)| q * p).sum::<f32>() / probs.iter().sum::<f32>().max(1e-12);
    ((q[taken] - baseline) / (range + eps)).clamp(-1.0, 1.0)
}

/// Gifting weights from relationships: `w[i * n + j]` is i's relationship toward j (the diagonal
/// is ignored). Row i of the result is what giver i hands out: `g_ij = max(w_ij, 0) / (n - 1)` to
/// each co-player and `g_ii = 1 - sum_j g_ij` kept, so every row sums to one.
pub fn gift_weights(w: &[f32], n: usize) -> Vec<f32> {
    let mut g = vec![0.0; n * n];
    let share = 1.0 / (n.max(2) - 1) as f32;
    for i in 0..n {
        let mut given = 0.0;
        for j in (0..n).filter(|&j| j != i) {
            g[i * n + j] = w[i * n + j].max(0.0) * share;
            given += g[i * n + j];
        }
        g[i * n + i] = 1.0 - given;
    }
    g
}

/// Rewards after gifting: `out_i = g_ii * r_i + sum_{j != i} g_ji * r_j`. The sum over agents is
/// unchanged, since every giver's row of `g` sums to one.
pub fn gifted(g: &[f32], rewards: &[f32], out: &mut [f32]) {
    let n = rewards.len();
    for (i, o) in out.iter_mut().enumerate() {
        *o = (0..n).map(|j| g[j * n + i] * rewards[j]).sum();
    }
}

/// Inequity-averse rewards (Hughes et al. 2018): `out_i = r_i - alpha / (n-1) * sum_j max(e_j - e_i, 0)
/// - beta / (n-1) * sum_j max(e_i - e_j, 0)`, with `e` the smoothed rewards.
pub fn inequity_averse(rewards: &[f32], smoothed: &[f32], alpha: f32, beta: f32, out: &mut [f32]) {
    let n = rewards.len();
    let scale = 1.0 / (n.max(2) - 1) as f32;
    for i in 0..n {
        let (mut envy, mut guilt) = (0.0, 0.0);
        for j in (0..n).filter(|&j| j != i) {
            envy += (smoothed[j] - smoothed[i]).max(0.0);
            guilt += (smoothed[i] - smoothed[j]).max(0.0);
        }
        out[i] = rewards[i] - alpha * scale * envy - beta * scale * guilt;
    }
}

/// Turns each step's env rewards into training rewards for every agent of every env copy.
#[derive(Clone, Debug)]
pub struct Shaper {
    modes: Vec<SocialMode>,
    alpha: f32,
    beta: f32,
    decay: f32,
    /// Inequity aversion's smoothed rewards, `[copies * agents]`.
    smoothed: Vec<f32>,
    given: Vec<f32>,
    scratch: Vec<f32>,
}

impl Shaper {
    /// A shaper for `copies` env copies whose agents have `modes`.
    pub fn new(config: &SocialConfig, modes: Vec<SocialMode>, copies: usize) -> Self {
        let n = modes.len();
        Self {
            alpha: config.ia_alpha as f32,
            beta: config.ia_beta as f32,
            decay: config.ia_decay as f32,
            smoothed: vec![0.0; copies * n],
            given: vec![0.0; n],
            scratch: vec![0.0; n],
            modes,
        }
    }

    /// Whether any agent gifts (and so needs relationships).
    pub fn gifting(&self) -> bool {
        self.modes.contains(&SocialMode::Lase)
    }

    /// Writes the training rewards `out [copies * agents]` from the env's `rewards`. `w` holds the
    /// relationships `[copies * agents * agents]` (giver-major; rows of agents that do not gift
    /// are zero), empty when nobody gifts; `episode_over[e]` resets copy e's smoothing. Each
    /// copy's gift weights are added to `gifts [agents * agents]`.
    pub fn shape(&mut self, rewards: &[f32], w: &[f32], episode_over: &[bool], out: &mut [f32], gifts: &mut [f64]) {
        let n = self.modes.len();
        for (e, &over) in episode_over.iter().enumerate() {
            let r = &rewards[e * n..(e + 1) * n];
            self.given.copy_from_slice(r);
            if !w.is_empty() {
                let g = gift_weights(&w[e * n * n..(e + 1) * n * n], n);
                gifted(&g, r, &mut self.given);
                for (total, x) in gifts.iter_mut().zip(&g) {
                    *total += *x as f64;
                }
            }
            let smoothed = &mut self.smoothed[e * n..(e + 1) * n];
            if self.modes.contains(&SocialMode::InequityAversion) {
                for (s, &x) in smoothed.iter_mut().zip(&self.given) {
                    *s = self.decay * *s + x;
                }
                inequity_averse(&self.given, smoothed, self.alpha, self.beta, &mut self.scratch);
            }
            let total: f32 = self.given.iter().sum();
            for (i, mode) in self.modes.iter().enumerate() {
                out[e * n + i] = match mode {
                    SocialMode::Selfish | SocialMode::Lase => self.given[i],
                    SocialMode::GroupOptimal => total,
                    SocialMode::InequityAversion => self.scratch[i],
                };
            }
            if over {
                smoothed.fill(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationship_matches_a_hand_computation() {
        // Q over j's two actions: 4 (cooperate), 0 (defect); j cooperated; i thinks j defects w.p. 0.75
        let w = relationship(&[4.0, 0.0], 0, &[0.25, 0.75], 0.0);
        // b = 0.25 * 4 = 1; w = (4 - 1) / 4 = 0.75
        assert!((w - 0.75).abs() < 1e-6, "{w}");
        let w = relationship(&[4.0, 0.0], 1, &[0.25, 0.75], 0.0);
        assert!((w + 0.25).abs() < 1e-6, "{w}");
        // eps shrinks it
        let w = relationship(&[4.0, 0.0], 0, &[0.25, 0.75], 1.0);
        assert!((w - 0.6).abs() < 1e-6, "{w}");
    }

    #[test]
    fn relationship_is_zero_when_the_co_player_does_not_matter_and_bounded_otherwise() {
        assert_eq!(relationship(&[2.0, 2.0, 2.0], 1, &[0.2, 0.3, 0.5], 0.0), 0.0);
        assert_eq!(relationship(&[2.0, 2.0, 2.0], 1, &[0.2, 0.3, 0.5], 1e-3), 0.0);
        let mut rng = moralgym_envs::Rng::new(3);
        for _ in 0..2000 {
            let q: Vec<f32> = (0..5).map(|_| (rng.unit() as f32 - 0.5) * 100.0).collect();
            let mut p: Vec<f32> = (0..5).map(|_| rng.unit() as f32).collect();
            let s: f32 = p.iter().sum();
            p.iter_mut().for_each(|x| *x /= s);
            let w = relationship(&q, rng.below(5), &p, 0.0);
            assert!((-1.0..=1.0).contains(&w), "{w}");
        }
        // the extremes: the best action when j was sure to take the worst, and the reverse
        assert!((relationship(&[1.0, 0.0], 0, &[0.0, 1.0], 0.0) - 1.0).abs() < 1e-6);
        assert!((relationship(&[1.0, 0.0], 1, &[1.0, 0.0], 0.0) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn gift_rows_sum_to_one_and_gifting_conserves_the_total_reward() {
        // three agents; negative relationships give nothing
        let w = [0.0, 0.5, -0.3, 1.0, 0.0, 0.2, 0.4, 0.6, 0.0];
        let g = gift_weights(&w, 3);
        let want = [0.75, 0.25, 0.0, 0.5, 0.4, 0.1, 0.2, 0.3, 0.5];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{g:?}");
        }
        for i in 0..3 {
            assert!((g[i * 3..i * 3 + 3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let r = [3.0, -1.0, 2.0];
        let mut out = [0.0; 3];
        gifted(&g, &r, &mut out);
        // agent 0 keeps 0.75*3, gets 0.5*(-1) from 1 and 0.2*2 from 2
        let want = [0.75 * 3.0 - 0.5 + 0.4, 0.25 * 3.0 - 0.4 + 0.6, -0.1 + 0.5 * 2.0];
        for (a, b) in out.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{out:?}");
        }
        assert!((out.iter().sum::<f32>() - r.iter().sum::<f32>()).abs() < 1e-6);
    }

    #[test]
    fn inequity_aversion_matches_a_hand_computation() {
        let r = [1.0, 0.0, 0.0];
        let e = [2.0, 0.0, 4.0];
        let mut out = [0.0; 3];
        inequity_averse(&r, &e, 5.0, 0.05, &mut out);
        // agent 0: envy (4-2)=2 -> 5/2*2 = 5; guilt (2-0)=2 -> 0.05/2*2 = 0.05
        assert!((out[0] - (1.0 - 5.0 - 0.05)).abs() < 1e-6, "{out:?}");
        // agent 1: envy 2 + 4 = 6 -> 15; no guilt
        assert!((out[1] + 15.0).abs() < 1e-6);
        // agent 2: no envy; guilt 2 + 4 = 6 -> 0.15
        assert!((out[2] + 0.15).abs() < 1e-6);
    }

    #[test]
    fn the_shaper_applies_gifts_first_then_each_agents_mode() {
        use SocialMode::*;
        let config = SocialConfig::default();
        let mut s = Shaper::new(&config, vec![Lase, Selfish, GroupOptimal], 1);
        // agent 0 relates 1.0 to agent 1 and -1 to agent 2: gives half its reward to agent 1
        let w = [0.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let (mut out, mut gifts) = ([0.0; 3], [0.0; 9]);
        s.shape(&[4.0, 1.0, 0.0], &w, &[false], &mut out, &mut gifts);
        assert_eq!(out, [2.0, 3.0, 5.0]);
        assert_eq!(gifts[1], 0.5);
        // inequity aversion smooths: e = 0.5 * e + r
        let config = SocialConfig { ia_decay: 0.5, ia_alpha: 1.0, ia_beta: 0.0, ..Default::default() };
        let mut s = Shaper::new(&config, vec![InequityAversion, InequityAversion], 1);
        s.shape(&[0.0, 2.0], &[], &[false], &mut out[..2], &mut gifts[..4]);
        assert_eq!(&out[..2], &[-2.0, 2.0]);
        s.shape(&[0.0, 0.0], &[], &[true], &mut out[..2], &mut gifts[..4]);
        assert_eq!(&out[..2], &[-1.0, 0.0], "the envy decays");
        s.shape(&[0.0, 0.0], &[], &[false], &mut out[..2], &mut gifts[..4]);
        assert_eq!(&out[..2], &[0.0, 0.0], "and starts afresh after an episode");
    }

    #[test]
    fn modes_fill_learners_and_refuse_social_fixed_partners() {
        let c = SocialConfig { mode: SocialMode::Lase, ..Default::default() };
        assert_eq!(c.modes(&[0], 2).unwrap(), vec![SocialMode::Lase, SocialMode::Selfish]);
        let c = SocialConfig { agents: Some(vec![SocialMode::Selfish, SocialMode::Lase]), ..Default::default() };
        assert!(c.modes(&[0], 2).unwrap_err().to_string().contains("agent 1 is a fixed partner"));
        assert!(c.modes(&[0, 1, 2], 3).unwrap_err().to_string().contains("one mode per agent (3), got 2"));
    }
}
