//! What every grid game tracks about its episode besides the board: its own RNG, the step count
//! against the limit, whether the episode is over, and the events of the last step. One
//! implementation of the parts of `reset` and `step` that never change between the games.

use crate::api::{Event, Rng};

/// A grid game's episode bookkeeping.
#[derive(Clone, Debug)]
pub struct Episode {
    /// The game's RNG (reseeded by every seeded reset).
    pub rng: Rng,
    /// Steps taken in this episode.
    pub t: usize,
    /// Steps after which every agent still playing is truncated.
    pub max_steps: usize,
    /// Whether every agent has stopped.
    pub done: bool,
    /// What happened in the last step.
    pub events: Vec<Event>,
}

impl Episode {
    /// Bookkeeping for episodes of at most `max_steps` steps (over until the first reset).
    pub fn new(max_steps: usize) -> Self {
        Self { rng: Rng::new(0), t: 0, max_steps, done: true, events: Vec::new() }
    }

    /// Starts an episode: reseeds the RNG when given a seed, and clears the count and events.
    pub fn reset(&mut self, seed: Option<u64>) {
        if let Some(s) = seed {
            self.rng = Rng::new(s);
        }
        self.t = 0;
        self.done = false;
        self.events.clear();
    }

    /// Starts a step: the last step's events are gone.
    pub fn begin_step(&mut self) {
        self.events.clear();
    }

    /// Ends a step: counts it, truncates every agent not `terminated` once the limit is
    /// reached, and marks the episode over when every agent has stopped.
    pub fn end_step(&mut self, terminated: &[bool], truncated: &mut [bool]) {
        self.t += 1;
        if self.t >= self.max_steps {
            for (tr, &te) in truncated.iter_mut().zip(terminated) {
                *tr = !te;
            }
        }
        self.done = terminated.iter().zip(truncated.iter()).all(|(a, b)| *a || *b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_truncates_only_agents_still_playing_and_ends_the_episode() {
        let mut ep = Episode::new(2);
        let mut truncated = [false; 2];
        ep.end_step(&[false, false], &mut truncated);
        assert_eq!((ep.t, ep.done, truncated), (1, false, [false, false]));
        ep.end_step(&[true, false], &mut truncated);
        assert_eq!((ep.t, ep.done, truncated), (2, true, [false, true]));
        // everyone stopped before the limit
        let mut ep = Episode::new(10);
        let mut truncated = [false; 2];
        ep.end_step(&[true, true], &mut truncated);
        assert!(ep.done && truncated == [false, false]);
        ep.reset(None);
        assert_eq!((ep.t, ep.done), (0, false));
    }
}
