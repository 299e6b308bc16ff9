//! Fixed partners for tests of adaptation in the social games: unconditional and reciprocal
//! players of the matrix games, and a cleaner and a free-rider for Cleanup. Each reads only its
//! own observation.

use moralgym_envs::social::cleanup::{APPLE_CHANNEL, CLEAN, EAT, WASTE_CHANNEL};
use moralgym_envs::social::grid::{DOWN, LEFT, RIGHT, UP};
use moralgym_envs::social::matrix::{COOPERATE, DEFECT, co_players_last_move};
use moralgym_envs::{ParallelEnv, Rng, Space};

use crate::policy::{Policy, PolicyError};

/// A matrix-game player: always cooperate, always defect, or tit-for-tat (cooperate first, then
/// repeat the co-player's last move).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatrixPartner {
    /// Cooperates every round.
    AlwaysCooperate,
    /// Defects every round.
    AlwaysDefect,
    /// Cooperates first, then copies the co-player's previous move.
    TitForTat,
}

impl Policy for MatrixPartner {
    fn act(&mut self, env: &dyn ParallelEnv, obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        let d = env.spec().obs_dim();
        for (i, a) in actions.iter_mut().enumerate() {
            *a = match self {
                MatrixPartner::AlwaysCooperate => COOPERATE,
                MatrixPartner::AlwaysDefect => DEFECT,
                MatrixPartner::TitForTat => co_players_last_move(&obs[i * d..(i + 1) * d]).unwrap_or(COOPERATE),
            };
        }
        Ok(())
    }
}

/// What a scripted Cleanup player goes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    /// Waste in the river: walk to it and clean it.
    Clean,
    /// Apples in the orchard: walk to them and eat.
    Eat,
}

/// A scripted Cleanup player working from its egocentric view: the cleaner walks to the nearest
/// waste in sight and cleans it (heading up to the river when none is in sight); the free-rider
/// walks to the nearest apple and eats it (heading down to the orchard), never cleaning.
#[derive(Clone, Debug)]
pub struct CleanupPartner {
    goal: Goal,
    rng: Rng,
}

impl CleanupPartner {
    /// The cleaner.
    pub fn cleaner(seed: u64) -> Self {
        Self { goal: Goal::Clean, rng: Rng::new(seed) }
    }

    /// The free-rider.
    pub fn free_rider(seed: u64) -> Self {
        Self { goal: Goal::Eat, rng: Rng::new(seed) }
    }

    fn choose(&mut self, o: &[f32], side: usize) -> u32 {
        let plane = side * side;
        let (channel, here_action, heading) = match self.goal {
            Goal::Clean => (WASTE_CHANNEL, CLEAN, UP),
            Goal::Eat => (APPLE_CHANNEL, EAT, DOWN),
        };
        let c = side / 2;
        let target = (0..plane)
            .filter(|&k| o[channel * plane + k] > 0.0)
            .min_by_key(|&k| (k / side).abs_diff(c) + (k % side).abs_diff(c));
        let Some(k) = target else {
            let ahead = if heading == UP { (c - 1) * side + c } else { (c + 1) * side + c };
            return if o[ahead] > 0.0 { [LEFT, RIGHT][self.rng.below(2)] } else { heading };
        };
        let (r, col) = (k / side, k % side);
        match (r.cmp(&c), col.cmp(&c)) {
            (std::cmp::Ordering::Equal, std::cmp::Ordering::Equal) => here_action,
            (std::cmp::Ordering::Less, _) => UP,
            (std::cmp::Ordering::Greater, _) => DOWN,
            (_, std::cmp::Ordering::Less) => LEFT,
            _ => RIGHT,
        }
    }
}

impl Policy for CleanupPartner {
    fn act(&mut self, env: &dyn ParallelEnv, obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        let spec = env.spec();
        let Space::Box { shape, .. } = &spec.observation_space else {
            return Ok(());
        };
        let (side, d) = (shape[1], spec.obs_dim());
        for (i, a) in actions.iter_mut().enumerate() {
            *a = self.choose(&obs[i * d..(i + 1) * d], side);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moralgym_envs::make;
    use serde_json::json;

    #[test]
    fn tit_for_tat_opens_with_cooperation_and_then_mirrors() {
        let mut env = make("PrisonersDilemma-v0", &json!({})).unwrap();
        let mut obs = env.reset(Some(0));
        let mut tft = MatrixPartner::TitForTat;
        let mut a = [9u32; 2];
        tft.act(env.as_ref(), &obs, &mut a).unwrap();
        assert_eq!(a, [COOPERATE, COOPERATE]);
        obs = env.step(&[COOPERATE, DEFECT]).unwrap().obs;
        tft.act(env.as_ref(), &obs, &mut a).unwrap();
        assert_eq!(a, [DEFECT, COOPERATE], "each copies the other's last move");
    }

    #[test]
    fn the_cleaner_cleans_and_the_free_rider_eats_and_never_cleans() {
        // agents below `cleaners` clean, the others free-ride; per agent: (apples, free rides, cleans)
        let run = |cleaners: usize| {
            let (mut c, mut f) = (CleanupPartner::cleaner(0), CleanupPartner::free_rider(0));
            let mut env = make("Cleanup-v1", &json!({})).unwrap();
            let mut obs = env.reset(Some(1));
            let mut tally = [(0.0f32, 0.0f32, 0usize); 4];
            let (mut a, mut b) = ([0u32; 4], [0u32; 4]);
            for _ in 0..100 {
                c.act(env.as_ref(), &obs, &mut a).unwrap();
                f.act(env.as_ref(), &obs, &mut b).unwrap();
                a[cleaners..].copy_from_slice(&b[cleaners..]);
                let s = env.step(&a).unwrap();
                let k = s.costs.len() / 4;
                for (i, t) in tally.iter_mut().enumerate() {
                    *t = (t.0 + s.rewards[i], t.1 + s.costs[i * k], t.2 + usize::from(a[i] == CLEAN));
                }
                obs = s.obs;
            }
            tally
        };
        let mixed = run(2);
        for t in &mixed[..2] {
            assert!(t.2 > 0, "cleaners clean: {mixed:?}");
        }
        for t in &mixed[2..] {
            assert!(t.0 > 0.0 && t.1 == t.0 && t.2 == 0, "free-riders eat without cleaning: {mixed:?}");
        }
        // with nobody cleaning the full river grows no apple
        assert!(run(0).iter().all(|t| t.0 == 0.0 && t.2 == 0));
    }
}
