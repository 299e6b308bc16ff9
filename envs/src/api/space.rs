//! Observation and action spaces.

use serde::{Deserialize, Serialize};

/// A space of observations or actions, as Gymnasium defines them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Space {
    /// Integers `0..n`.
    Discrete {
        /// Number of values.
        n: usize,
    },
    /// A box of `f32` values with bounds and a shape; flattened in row-major order.
    Box {
        /// Lower bound of every element.
        low: f32,
        /// Upper bound of every element.
        high: f32,
        /// Shape, outermost dimension first.
        shape: Vec<usize>,
    },
    /// `n` values in {0, 1}.
    MultiBinary {
        /// Number of bits.
        n: usize,
    },
    /// UTF-8 text of at most `max_length` characters.
    Text {
        /// Longest text the space holds.
        max_length: usize,
    },
}

impl Space {
    /// Number of `f32` values a flat buffer needs for one element of the space (0 for text).
    pub fn flat_dim(&self) -> usize {
        match self {
            Space::Discrete { .. } => 1,
            Space::Box { shape, .. } => shape.iter().product(),
            Space::MultiBinary { n } => *n,
            Space::Text { .. } => 0,
        }
    }

    /// Number of actions of a discrete space, `None` for every other space.
    pub fn discrete_n(&self) -> Option<usize> {
        match self {
            Space::Discrete { n } => Some(*n),
            _ => None,
        }
    }

    /// Whether a flat `f32` value lies in the space.
    pub fn contains(&self, value: &[f32]) -> bool {
        match self {
            Space::Discrete { n } => {
                value.len() == 1 && value[0] >= 0.0 && value[0].fract() == 0.0 && (value[0] as usize) < *n
            }
            Space::Box { low, high, .. } => {
                value.len() == self.flat_dim() && value.iter().all(|v| *v >= *low && *v <= *high)
            }
            Space::MultiBinary { n } => value.len() == *n && value.iter().all(|v| *v == 0.0 || *v == 1.0),
            Space::Text { .. } => value.is_empty(),
        }
    }
}

impl std::fmt::Display for Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Space::Discrete { n } => write!(f, "Discrete({n})"),
            Space::Box { low, high, shape } => write!(f, "Box({low}, {high}, {shape:?}, f32)"),
            Space::MultiBinary { n } => write!(f, "MultiBinary({n})"),
            Space::Text { max_length } => write!(f, "Text({max_length})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_dims_and_membership() {
        let b = Space::Box { low: 0.0, high: 1.0, shape: vec![2, 3, 3] };
        assert_eq!(b.flat_dim(), 18);
        assert!(b.contains(&[0.5; 18]));
        assert!(!b.contains(&[1.5; 18]));
        assert!(!b.contains(&[0.5; 17]));
        let d = Space::Discrete { n: 4 };
        assert!(d.contains(&[3.0]));
        assert!(!d.contains(&[4.0]));
        assert_eq!(d.discrete_n(), Some(4));
        assert!(Space::MultiBinary { n: 2 }.contains(&[0.0, 1.0]));
        assert!(!Space::MultiBinary { n: 2 }.contains(&[0.5, 1.0]));
        assert_eq!(b.to_string(), "Box(0, 1, [2, 3, 3], f32)");
    }
}
