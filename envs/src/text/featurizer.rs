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

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= b' ' as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// The word and bigram counts of one text, kept so that the features of several texts shown one
/// after another (the scenes a step passes) are computed without reading the texts again: the
/// counts add, plus one bigram where two texts meet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NgramCounts {
    /// (bucket, count), in the order first met.
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

fn normalise(out: &mut [f32]) {
    let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|x| *x /= norm);
    }
}

impl HashedNgrams {
    /// The counts of `text`.
    pub fn counts(&self, text: &str) -> NgramCounts {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let mut dense = vec![0.0f32; self.dim];
        let mut order = Vec::new();
        let mut bump = |bucket: usize| {
            if dense[bucket] == 0.0 {
                order.push(bucket);
            }
            dense[bucket] += 1.0;
        };
        for (i, w) in words.iter().enumerate() {
            bump((fnv1a(&[w]) % self.dim as u64) as usize);
            if i + 1 < words.len() {
                bump((fnv1a(&[w, words[i + 1]]) % self.dim as u64) as usize);
            }
        }
        NgramCounts {
            buckets: order.into_iter().map(|b| (b as u32, dense[b])).collect(),
            first: words.first().map(|w| Box::from(*w)),
            last: words.last().map(|w| fnv1a(&[w])),
        }
    }

    /// Writes the features of `parts` shown one after another, as [`TextFeaturizer::write`]
    /// writes them for the joined text.
    pub fn write_joined<'a>(&self, parts: impl IntoIterator<Item = &'a NgramCounts>, out: &mut [f32]) {
        out.fill(0.0);
        let mut last: Option<u64> = None;
        for p in parts {
            for &(b, c) in &p.buckets {
                out[b as usize] += c;
            }
            if let (Some(h), Some(first)) = (last, &p.first) {
                let joined = fnv_continue(fnv_continue(h, b" "), first.as_bytes());
                out[(joined % self.dim as u64) as usize] += 1.0;
            }
            last = p.last.or(last);
        }
        normalise(out);
    }
}

impl TextFeaturizer for HashedNgrams {
    fn dim(&self) -> usize {
        self.dim
    }

    fn write(&self, text: &str, out: &mut [f32]) {
        out.fill(0.0);
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        for (i, w) in words.iter().enumerate() {
            out[(fnv1a(&[w]) % self.dim as u64) as usize] += 1.0;
            if i + 1 < words.len() {
                out[(fnv1a(&[w, words[i + 1]]) % self.dim as u64) as usize] += 1.0;
            }
        }
        normalise(out);
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
    fn joined_counts_give_exactly_the_features_of_the_joined_text() {
        let f = HashedNgrams { dim: 16 };
        let texts = ["Rain on the ramparts.", "", "...", "The guard, Tomas, yawns", "Tomas yawns again. Tomas!"];
        for a in texts {
            for b in texts {
                for c in texts {
                    let (mut whole, mut joined) = (vec![0.0; 16], vec![0.0; 16]);
                    f.write(&format!("{a}\n\n{b}\n\n{c}"), &mut whole);
                    let parts = [f.counts(a), f.counts(b), f.counts(c)];
                    f.write_joined(&parts, &mut joined);
                    assert_eq!(whole, joined, "{a:?} {b:?} {c:?}");
                }
            }
        }
    }
}
