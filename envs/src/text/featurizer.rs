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
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|x| *x /= norm);
        }
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
}
