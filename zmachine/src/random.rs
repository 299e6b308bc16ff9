//! The random number generator, as frotz (and so Jericho) draws numbers: a linear congruential
//! generator seeded with the user's seed, and the Standard's predictable counting mode (§2.4).
//! Same seed, same numbers as frotz: Infocom walkthroughs depend on it.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Random {
    /// The seed given at construction: `random 0` and a restart go back to it.
    seed: u32,
    state: u64,
    /// Non-zero: counting mode, 0, 1, ..., interval - 1, 0, ...
    interval: u16,
    counter: u16,
}

impl Random {
    pub fn new(seed: u32) -> Random {
        let mut r = Random { seed, state: 0, interval: 0, counter: 0 };
        r.reseed(0);
        r
    }

    /// `random` with a non-positive operand: 0 goes back to the machine's seed; below 1000,
    /// counting mode; otherwise the value is the new seed.
    pub fn reseed(&mut self, value: u32) {
        if value == 0 {
            self.state = u64::from(self.seed);
            self.interval = 0;
        } else if value < 1000 {
            self.counter = 0;
            self.interval = value as u16;
        } else {
            self.state = u64::from(value);
            self.interval = 0;
        }
    }

    /// A number in `1..=range` (`range` > 0).
    pub fn draw(&mut self, range: u16) -> u16 {
        let raw = if self.interval != 0 {
            let r = self.counter;
            self.counter += 1;
            if self.counter == self.interval {
                self.counter = 0;
            }
            r
        } else {
            self.state = self.state.wrapping_mul(0x015a_4e35).wrapping_add(1);
            ((self.state >> 16) & 0x7fff) as u16
        };
        raw % range + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_follows_its_recurrence() {
        let mut r = Random::new(1);
        let mut a: u64 = 1;
        for range in [6u16, 100, 32767, 1, 2] {
            a = a.wrapping_mul(0x015a4e35).wrapping_add(1);
            assert_eq!(r.draw(range), ((a >> 16) & 0x7fff) as u16 % range + 1);
        }
        // 0x015a4e35 * 1 + 1 = 0x015a4e36: (that >> 16) & 0x7fff = 0x015a = 346, 346 % 6 + 1 = 5.
        assert_eq!(Random::new(1).draw(6), 5);
    }

    #[test]
    fn counting_mode_and_reseed() {
        let mut r = Random::new(7);
        r.reseed(3);
        let drawn: Vec<u16> = (0..7).map(|_| r.draw(10)).collect();
        assert_eq!(drawn, [1, 2, 3, 1, 2, 3, 1]);
        r.reseed(0);
        let mut fresh = Random::new(7);
        assert_eq!((r.draw(100), r.draw(100)), (fresh.draw(100), fresh.draw(100)));
        let mut a = Random::new(5000);
        let mut b = Random::new(1);
        b.reseed(5000);
        assert_eq!(a.draw(1000), b.draw(1000));
    }
}
