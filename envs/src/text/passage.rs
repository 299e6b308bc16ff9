//! What a playthrough passes between two decisions.

use super::annotation::Annotation;

/// What passed between two decisions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Passage {
    /// The narration passed, in order.
    pub narration: String,
    /// The scenes passed (entered), in order.
    pub scenes: Vec<usize>,
    /// Sum of the annotations of the choice taken and of what play passed.
    pub annotation: Annotation,
    /// Achievements unlocked.
    pub achievements: Vec<usize>,
    /// Points of those achievements.
    pub points: f64,
    /// What the narration is made of, in order: lines known at load, whose features are counted
    /// once, and text rendered in play.
    pub texts: Vec<TextRef>,
}

impl Passage {
    /// Empties the passage, keeping its buffers for the next one.
    pub fn clear(&mut self) {
        self.narration.clear();
        self.scenes.clear();
        self.annotation = Annotation::default();
        self.achievements.clear();
        self.points = 0.0;
        self.texts.clear();
    }
}

/// A piece of a passage's narration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextRef {
    /// A line of narration with no interpolation: operation `op` of scene `scene`.
    Line {
        /// Scene index.
        scene: u32,
        /// Operation index.
        op: u32,
    },
    /// Text rendered in play: bytes `start..end` of the narration.
    Rendered {
        /// First byte.
        start: u32,
        /// One past the last byte.
        end: u32,
    },
}
