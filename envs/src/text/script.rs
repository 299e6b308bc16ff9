//! A game in either format behind one interface: what `TextGame-v0` plays. A TOML story is a
//! graph of scenes; a ChoiceScript game is a program run from one choice to the next.

use std::sync::Arc;

use super::annotation::Annotation;
use super::choicescript::{self as cs, Run};
use super::engine::{Passage, Playthrough};
use super::story::{Achievement, Story};
use crate::api::Rng;

/// A loaded game.
#[derive(Clone, Debug)]
pub enum Script {
    /// moralgym's TOML story format.
    Toml(Arc<Story>),
    /// A ChoiceScript game.
    ChoiceScript(Arc<cs::Game>),
}

impl Script {
    /// The title.
    pub fn title(&self) -> &str {
        match self {
            Script::Toml(s) => &s.title,
            Script::ChoiceScript(g) => &g.title,
        }
    }

    /// The setting in a few words (TOML stories only).
    pub fn setting(&self) -> &str {
        match self {
            Script::Toml(s) => &s.setting,
            Script::ChoiceScript(_) => "",
        }
    }

    /// A line about the game (for ChoiceScript, its author).
    pub fn about(&self) -> String {
        match self {
            Script::Toml(s) => s.about.clone(),
            Script::ChoiceScript(g) if g.author.is_empty() => String::new(),
            Script::ChoiceScript(g) => format!("By {}.", g.author),
        }
    }

    /// Declared achievements.
    pub fn achievements(&self) -> &[Achievement] {
        match self {
            Script::Toml(s) => &s.achievements,
            Script::ChoiceScript(g) => &g.achievements,
        }
    }

    /// Points of all achievements.
    pub fn max_points(&self) -> f64 {
        match self {
            Script::Toml(s) => s.max_points(),
            Script::ChoiceScript(g) => g.max_points(),
        }
    }

    /// Most choices one decision can offer.
    pub fn max_choices(&self) -> usize {
        match self {
            Script::Toml(s) => s.max_choices(),
            Script::ChoiceScript(g) => g.max_choices(),
        }
    }

    /// Name of scene `i` (a TOML scene id, a ChoiceScript scene file).
    pub fn scene_name(&self, i: usize) -> &str {
        match self {
            Script::Toml(s) => &s.scenes[i].id,
            Script::ChoiceScript(g) => &g.scenes[i].name,
        }
    }

    /// Starts a playthrough; `rng` drives ChoiceScript's `*rand`.
    pub fn start(&self, rng: Rng) -> (Play, Passage) {
        match self {
            Script::Toml(s) => {
                let (p, passage) = Playthrough::start(Arc::clone(s));
                (Play::Toml(p), passage)
            }
            Script::ChoiceScript(g) => {
                let (r, passage) = Run::start(Arc::clone(g), rng);
                (Play::ChoiceScript(r), passage)
            }
        }
    }
}

/// A playthrough of a [`Script`].
#[derive(Clone, Debug)]
pub enum Play {
    /// Of a TOML story.
    Toml(Playthrough),
    /// Of a ChoiceScript game.
    ChoiceScript(Run),
}

impl Play {
    /// Number of choices offered now.
    pub fn num_choices(&self) -> usize {
        match self {
            Play::Toml(p) => p.num_choices(),
            Play::ChoiceScript(r) => r.num_choices(),
        }
    }

    /// Text of offered choice `k`.
    pub fn choice_text(&self, k: usize) -> &str {
        match self {
            Play::Toml(p) => &p.choices()[k].text,
            Play::ChoiceScript(r) => r.choice_text(k),
        }
    }

    /// Texts of the offered choices.
    pub fn choice_texts(&self) -> Vec<String> {
        (0..self.num_choices()).map(|k| self.choice_text(k).to_string()).collect()
    }

    /// Annotation of taking offered choice `k`, if it has one.
    pub fn choice_annotation(&self, k: usize) -> Option<&Annotation> {
        match self {
            Play::Toml(p) => Some(&p.choices()[k].annotation),
            Play::ChoiceScript(r) => r.choice_annotation(k).map(|a| &r.game().annotations[a as usize]),
        }
    }

    /// Takes offered choice `k`; `None` if out of range or over.
    pub fn choose(&mut self, k: usize) -> Option<Passage> {
        match self {
            Play::Toml(p) => p.choose(k),
            Play::ChoiceScript(r) => r.choose(k),
        }
    }

    /// Whether the game is over (an ending, or a ChoiceScript error).
    pub fn ended(&self) -> bool {
        match self {
            Play::Toml(p) => p.ended(),
            Play::ChoiceScript(r) => r.ended(),
        }
    }

    /// Where the game ended (the ending scene's id, or `scene.txt line N`), once it has.
    pub fn ending(&self) -> Option<String> {
        match self {
            Play::Toml(p) => p.ended().then(|| p.story().scenes[p.scene()].id.clone()),
            Play::ChoiceScript(r) => r.ending().map(String::from),
        }
    }

    /// The error that stopped a ChoiceScript game (`scene.txt line N: what`).
    pub fn error(&self) -> Option<&str> {
        match self {
            Play::Toml(_) => None,
            Play::ChoiceScript(r) => r.error(),
        }
    }
}
