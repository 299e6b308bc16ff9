//! Text to numbers for learners: a fixed-size vector per text. The trait lets a learned sentence
//! encoder replace the hashed n-grams later without touching the env.

/// Turns a text into `dim()` floats.
pub trait TextFeaturizer: Send + Sync {
    /// Length of the vector.
    fn dim(&self) -> usize;
    /// Writes the features of `text` into `out` (`dim()` floats).
    fn write(&self, text: &str, out: &mut [f32]);
}

/// Hashed counts of lower-cased words and word bigrams (FNV-1a into `dim` buckets), scaled to
/// unit length. Every value lies in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashedNgrams {
    /// Number of buckets.
    pub dim: usize,
}

/// FNV-1a's starting state.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The word and bigram counts of one text, kept so that the features of several texts shown one
/// after another (the scenes a step passes) are computed without reading the texts again: the
/// counts add, plus one bigram where two texts meet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NgramCounts {
    /// (bucket, count) of every bucket the text fills, by bucket.
    buckets: Vec<(u32, f32)>,
    /// The first word, lower-cased.
    first: Option<Box<str>>,
    /// The FNV-1a state after the last word (the last word's own hash).
    last: Option<u64>,
}

fn fnv_continue(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The words of a lower-cased text: its runs of letters and digits.
fn words(lower: &str) -> impl Iterator<Item = &str> {
    lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// Scales whole counts to unit length. Squares of whole numbers summing below 2^24 are exact in
/// f32, and so is every partial sum, so the order of the additions cannot change the result: the
/// sum is taken eight lanes at a time (which the compiler vectorises) and equals the sequential
/// sum bit for bit. From 2^24 on, the sequential sum is taken.
fn normalise(out: &mut [f32]) {
    const EXACT: f32 = 16_777_216.0;
    let mut lanes = [0.0f32; 8];
    let chunks = out.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x * x;
        }
    }
    let mut sum = lanes.iter().sum::<f32>() + rest.iter().map(|x| x * x).sum::<f32>();
    if sum >= EXACT {
        sum = out.iter().map(|x| x * x).sum::<f32>();
    }
    let norm = sum.sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|x| *x /= norm);
    }
}

impl HashedNgrams {
    /// The counts of `text`: the joiner's sums before scaling, kept by bucket.
    pub fn counts(&self, text: &str) -> NgramCounts {
        let mut dense = vec![0.0f32; self.dim];
        let mut j = self.joiner(&mut dense);
        j.add_text(text);
        let last = j.last;
        let lower = text.to_lowercase();
        NgramCounts {
            buckets: dense.iter().enumerate().filter(|(_, c)| **c > 0.0).map(|(b, &c)| (b as u32, c)).collect(),
            first: words(&lower).next().map(Box::from),
            last,
        }
    }

    /// Starts the features of texts shown one after another in `out` (`dim` floats).
    pub fn joiner<'o>(&self, out: &'o mut [f32]) -> Joiner<'o> {
        out.fill(0.0);
        Joiner { dim: self.dim as u64, out, last: None }
    }
}

/// The features of texts shown one after another, built a text at a time: parts counted at load
/// ([`NgramCounts`]) and text met in play mix freely, and the result is the features of the joined
/// text (one bigram more where two texts meet).
pub struct Joiner<'o> {
    dim: u64,
    out: &'o mut [f32],
    /// The hash of the last word so far.
    last: Option<u64>,
}

impl Joiner<'_> {
    /// Adds a text counted at load.
    pub fn add_counts(&mut self, p: &NgramCounts) {
        for &(b, c) in &p.buckets {
            self.out[b as usize] += c;
        }
        if let (Some(h), Some(first)) = (self.last, &p.first) {
            let joined = fnv_continue(fnv_continue(h, b" "), first.as_bytes());
            self.out[(joined % self.dim) as usize] += 1.0;
        }
        self.last = p.last.or(self.last);
    }

    /// Adds a text.
    pub fn add_text(&mut self, text: &str) {
        for w in words(&text.to_lowercase()) {
            let h = fnv_continue(FNV_OFFSET, w.as_bytes());
            self.out[(h % self.dim) as usize] += 1.0;
            if let Some(prev) = self.last {
                let pair = fnv_continue(fnv_continue(prev, b" "), w.as_bytes());
                self.out[(pair % self.dim) as usize] += 1.0;
            }
            self.last = Some(h);
        }
    }

    /// Scales the sum to unit length.
    pub fn finish(self) {
        normalise(self.out);
    }
}

impl TextFeaturizer for HashedNgrams {
    fn dim(&self) -> usize {
        self.dim
    }

    fn write(&self, text: &str, out: &mut [f32]) {
        let mut j = self.joiner(out);
        j.add_text(text);
        j.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_vector_and_unit_length() {
        let f = HashedNgrams { dim: 64 };
        let (mut a, mut b, mut c) = (vec![0.0; 64], vec![0.0; 64], vec![0.0; 64]);
        f.write("Lie to the guard.", &mut a);
        f.write("lie TO the guard", &mut b);
        f.write("Tell the guard the truth.", &mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!((a.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(a.iter().all(|x| (0.0..=1.0).contains(x)));
        let mut empty = vec![1.0; 64];
        f.write("", &mut empty);
        assert!(empty.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn the_lane_sum_equals_the_sequential_sum_bit_for_bit() {
        let sequential = |v: &[f32]| {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| if norm > 0.0 { x / norm } else { *x }).collect::<Vec<f32>>()
        };
        let mut rng = crate::api::Rng::new(5);
        for case in 0..2000 {
            let dim = 1 + rng.below(300);
            // Small counts, large ones, and rows whose squares pass 2^24 (the sequential path).
            let top = [3, 40, 5000][case % 3];
            let mut v: Vec<f32> =
                (0..dim).map(|_| if rng.below(4) == 0 { rng.below(top) as f32 } else { 0.0 }).collect();
            let want = sequential(&v);
            normalise(&mut v);
            assert_eq!(
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn joined_counts_give_exactly_the_features_of_the_joined_text() {
        let f = HashedNgrams { dim: 16 };
        let texts = ["Rain on the ramparts.", "", "...", "The guard, Tomas, yawns", "Tomas yawns again. Tomas!"];
        for a in texts {
            for b in texts {
                for c in texts {
                    let (mut whole, mut joined) = (vec![0.0; 16], vec![0.0; 16]);
                    f.write(&format!("{a}\n\n{b}\n\n{c}"), &mut whole);
                    let parts = [f.counts(a), f.counts(b), f.counts(c)];
                    let mut j = f.joiner(&mut joined);
                    parts.iter().for_each(|p| j.add_counts(p));
                    j.finish();
                    assert_eq!(whole, joined, "{a:?} {b:?} {c:?}");
                    let mut mixed = vec![0.0; 16];
                    let mut j = f.joiner(&mut mixed);
                    j.add_counts(&parts[0]);
                    j.add_text(b);
                    j.add_counts(&parts[2]);
                    j.finish();
                    assert_eq!(whole, mixed, "counted and raw parts mixed: {a:?} {b:?} {c:?}");
                }
            }
        }
    }
}
