//! Playing a story: the state of one playthrough and what each decision produces.

use std::sync::Arc;

use super::annotation::Annotation;
use super::story::{Choice, Story};

/// What passed between two decisions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Passage {
    /// The narration of the scenes passed, in order.
    pub narration: String,
    /// Ids of the scenes passed.
    pub scenes: Vec<usize>,
    /// Sum of the annotations of the choice taken and the scenes passed.
    pub annotation: Annotation,
    /// Achievements unlocked.
    pub achievements: Vec<usize>,
    /// Points of those achievements.
    pub points: f64,
    /// What the narration is made of, in order (ChoiceScript games): lines known at load, whose
    /// features are counted once, and text rendered in play.
    pub texts: Vec<TextRef>,
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

/// One playthrough of a story.
#[derive(Clone, Debug)]
pub struct Playthrough {
    story: Arc<Story>,
    scene: usize,
    vars: Vec<f64>,
    unlocked: Vec<bool>,
    available: Vec<usize>,
    ended: bool,
    decisions: usize,
}

impl Playthrough {
    /// Starts at the story's start; the passage holds the opening narration.
    pub fn start(story: Arc<Story>) -> (Self, Passage) {
        let vars = story.variables.iter().map(|(_, v)| *v).collect();
        let unlocked = vec![false; story.achievements.len()];
        let start = story.start;
        let mut p = Self { story, scene: start, vars, unlocked, available: Vec::new(), ended: false, decisions: 0 };
        let mut passage = Passage::default();
        p.enter(start, &mut passage);
        (p, passage)
    }

    /// The story.
    pub fn story(&self) -> &Story {
        &self.story
    }

    /// Whether an ending was reached.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The current scene.
    pub fn scene(&self) -> usize {
        self.scene
    }

    /// Decisions taken so far.
    pub fn decisions(&self) -> usize {
        self.decisions
    }

    /// Current variable values.
    pub fn variables(&self) -> &[f64] {
        &self.vars
    }

    /// Whether each achievement is unlocked.
    pub fn unlocked(&self) -> &[bool] {
        &self.unlocked
    }

    /// The choices offered now (their conditions hold), in story order.
    pub fn choices(&self) -> Vec<&Choice> {
        self.available.iter().map(|&c| &self.story.scenes[self.scene].choices[c]).collect()
    }

    /// Number of choices offered now.
    pub fn num_choices(&self) -> usize {
        self.available.len()
    }

    /// The offered choices as indices into the current scene's choices.
    pub fn offered(&self) -> &[usize] {
        &self.available
    }

    /// Takes offered choice `k` (an index into [`Playthrough::choices`]). `None` if out of range
    /// or the story has ended.
    pub fn choose(&mut self, k: usize) -> Option<Passage> {
        if self.ended || k >= self.available.len() {
            return None;
        }
        let story = Arc::clone(&self.story);
        let choice = &story.scenes[self.scene].choices[self.available[k]];
        let mut passage = Passage::default();
        passage.annotation.add(&choice.annotation);
        for &(v, x) in &choice.set {
            self.vars[v] = x;
        }
        for &(v, x) in &choice.add {
            self.vars[v] += x;
        }
        self.unlock(&choice.achievements, &mut passage);
        self.decisions += 1;
        self.enter(choice.goto, &mut passage);
        Some(passage)
    }

    fn unlock(&mut self, achievements: &[usize], passage: &mut Passage) {
        for &a in achievements {
            if !self.unlocked[a] {
                self.unlocked[a] = true;
                passage.achievements.push(a);
                passage.points += self.story.achievements[a].points;
            }
        }
    }

    /// Follows scenes from `scene` until one asks for a decision or ends the story.
    fn enter(&mut self, scene: usize, passage: &mut Passage) {
        let story = Arc::clone(&self.story);
        let mut cur = scene;
        loop {
            let s = &story.scenes[cur];
            passage.scenes.push(cur);
            if !passage.narration.is_empty() {
                passage.narration.push_str("\n\n");
            }
            passage.narration.push_str(&s.text);
            passage.annotation.add(&s.annotation);
            for &(v, x) in &s.set {
                self.vars[v] = x;
            }
            for &(v, x) in &s.add {
                self.vars[v] += x;
            }
            self.unlock(&s.achievements, passage);
            self.scene = cur;
            if s.ending {
                self.ended = true;
                self.available.clear();
                return;
            }
            if let Some(n) = s.next {
                cur = n;
                continue;
            }
            self.available = (0..s.choices.len())
                .filter(|&c| s.choices[c].condition.iter().all(|cl| cl.holds(&self.vars)))
                .collect();
            return;
        }
    }
}
