//! Python's `random` module, as far as MACHIAVELLI's player draws from it: the Mersenne Twister
//! seeded from an integer the way `random.seed(n)` does, `randint` and `choice`. MACHIAVELLI seeds
//! this generator with the episode's seed at every reset, so the same seed gives the same `*rand`
//! results and the same `*goto_random_scene` picks as its own env, draw for draw.

const N: usize = 624;
const M: usize = 397;

/// The generator (MT19937 with Python's seeding and bounded draws).
#[derive(Clone, Debug)]
pub struct PyRandom {
    mt: Box<[u32; N]>,
    index: usize,
}

impl PyRandom {
    /// As `random.seed(seed)` for a non-negative integer.
    pub fn new(seed: u64) -> Self {
        let mut r = Self { mt: Box::new([0; N]), index: N };
        // The key is the seed's 32-bit words, least significant first ([0] for zero).
        let key: Vec<u32> = if seed >> 32 == 0 { vec![seed as u32] } else { vec![seed as u32, (seed >> 32) as u32] };
        r.init_by_array(&key);
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            self.mt[i] = 1_812_433_253u32.wrapping_mul(self.mt[i - 1] ^ (self.mt[i - 1] >> 30)).wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = self.mt[i - 1] ^ (self.mt[i - 1] >> 30);
            self.mt[i] = (self.mt[i] ^ prev.wrapping_mul(1_664_525)).wrapping_add(key[j]).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.mt[i - 1] ^ (self.mt[i - 1] >> 30);
            self.mt[i] = (self.mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
        }
        self.mt[0] = 0x8000_0000;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k` of 1 to 64.
    fn bits(&mut self, k: u32) -> u64 {
        if k <= 32 {
            return (self.next_u32() >> (32 - k)) as u64;
        }
        let low = self.next_u32() as u64;
        let high = (self.next_u32() >> (64 - k)) as u64;
        low | (high << 32)
    }

    /// `_randbelow(n)`: uniform in `0..n` by rejection over `n.bit_length()` bits; 0 for `n = 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.bits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randint(lo, hi)`, both ends included; `None` when `hi < lo` (Python raises).
    pub fn randint(&mut self, lo: i64, hi: i64) -> Option<i64> {
        let width = (hi as i128 - lo as i128 + 1).try_into().ok().filter(|&w: &u64| w > 0)?;
        Some((lo as i128 + self.below(width) as i128) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_match_cpython() {
        // python3 -c "import random; random.seed(2417); print([random.randint(1, 100) for _ in range(8)])"
        let mut r = PyRandom::new(2417);
        let got: Vec<i64> = (0..8).map(|_| r.randint(1, 100).unwrap()).collect();
        assert_eq!(got, EXPECTED_2417);
        // python3 -c "import random; random.seed(0); print([random.randint(0, 2) for _ in range(8)])"
        let mut r = PyRandom::new(0);
        let got: Vec<i64> = (0..8).map(|_| r.randint(0, 2).unwrap()).collect();
        assert_eq!(got, EXPECTED_0);
        // python3 -c "import random; random.seed(2**40 + 7); print([random.randint(-5, 5) for _ in range(8)])"
        let mut r = PyRandom::new((1 << 40) + 7);
        let got: Vec<i64> = (0..8).map(|_| r.randint(-5, 5).unwrap()).collect();
        assert_eq!(got, EXPECTED_BIG);
        assert_eq!(PyRandom::new(1).randint(3, 2), None);
    }

    const EXPECTED_2417: [i64; 8] = [65, 4, 38, 64, 26, 93, 56, 83];
    const EXPECTED_0: [i64; 8] = [1, 1, 0, 1, 2, 1, 1, 1];
    const EXPECTED_BIG: [i64; 8] = [4, 5, 4, 2, -1, 4, -3, 3];
}
