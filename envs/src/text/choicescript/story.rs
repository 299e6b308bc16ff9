//! A TOML story compiled to the operations a ChoiceScript game runs, so that one interpreter
//! plays both formats. Every TOML scene becomes a scene of its own, named by its id, whose
//! operations are its narration (carrying the scene's annotation), a paragraph break, its `set`,
//! `add` and achievements, and then its way on: `*ending`, a jump to its `next` scene, or a
//! `*choice` whose options run the choice's effects and jump to its scene. The start scene comes
//! first, as ChoiceScript's startup does. What a playthrough passes (narration, scenes, annotations,
//! achievements) is what the TOML engine that this replaced produced, byte for byte.

use std::collections::HashMap;

use super::expr::{BinOp, Expr, Interp, Piece, Slot, Value};
use super::{Format, Game, Op, Opt, Reuse, Scene, Target};
use crate::text::annotation::Annotation;
use crate::text::story::{self, Clause, Story};

/// The compiler's state: the game's tables, filled scene by scene.
struct Lowering {
    /// TOML scene index to compiled scene index.
    order: Vec<u32>,
    options: Vec<Opt>,
    annotations: Vec<Annotation>,
}

impl Lowering {
    fn annotation(&mut self, a: &Annotation) -> Option<u32> {
        (!a.is_empty()).then(|| {
            self.annotations.push(a.clone());
            self.annotations.len() as u32 - 1
        })
    }

    fn goto(&self, scene: usize) -> Op {
        Op::GotoScene(self.order[scene], 0)
    }

    fn scene(&mut self, s: &story::Scene, index: u32) -> Scene {
        let mut ops = vec![Op::Text(Interp(vec![Piece::Lit(s.text.clone())])), Op::Para];
        let mut annotation = vec![self.annotation(&s.annotation), None];
        effects(&s.set, &s.add, &s.achievements, &mut ops);
        let first = self.options.len() as u32;
        if s.ending {
            ops.push(Op::Ending);
        } else if let Some(n) = s.next {
            ops.push(self.goto(n));
        } else {
            ops.push(Op::Choice(first, s.choices.len() as u32));
            for c in &s.choices {
                let body = ops.len() as u32;
                effects(&c.set, &c.add, &c.achievements, &mut ops);
                ops.push(self.goto(c.goto));
                let opt = Opt {
                    scene: index,
                    line: 1,
                    text: Interp(vec![Piece::Lit(c.text.clone())]),
                    visible: condition(&c.condition),
                    selectable: None,
                    reuse: Reuse::Allow,
                    body,
                    annotation: self.annotation(&c.annotation),
                };
                self.options.push(opt);
            }
        }
        annotation.resize(ops.len(), None);
        Scene {
            name: s.id.clone(),
            lines: vec![1; ops.len()],
            ops,
            annotation,
            labels: HashMap::new(),
            temps: Vec::new(),
            temp_index: HashMap::new(),
            next: None,
            options: (first, self.options.len() as u32),
            line_count: 1,
        }
    }
}

/// `*set`s and `*achieve`s for a scene's or a choice's effects, in the TOML engine's order.
fn effects(set: &[(usize, f64)], add: &[(usize, f64)], achievements: &[usize], ops: &mut Vec<Op>) {
    for &(v, x) in set {
        ops.push(Op::Set(Target::Slot(Slot::Global(v as u32)), Expr::Lit(Value::Num(x))));
    }
    for &(v, x) in add {
        let sum =
            Expr::Bin(BinOp::Add, Box::new(Expr::Var(Slot::Global(v as u32))), Box::new(Expr::Lit(Value::Num(x))));
        ops.push(Op::Set(Target::Slot(Slot::Global(v as u32)), sum));
    }
    ops.extend(achievements.iter().map(|&a| Op::Achieve(a as u32)));
}

/// All clauses as one `and`, or `None` for a choice always offered.
fn condition(clauses: &[Clause]) -> Option<Expr> {
    clauses
        .iter()
        .map(|c| {
            let op = match c.op {
                story::Op::Lt => BinOp::Lt,
                story::Op::Le => BinOp::Le,
                story::Op::Gt => BinOp::Gt,
                story::Op::Ge => BinOp::Ge,
                story::Op::Eq => BinOp::Eq,
                story::Op::Ne => BinOp::Ne,
            };
            let var = Expr::Var(Slot::Global(c.var as u32));
            Expr::Bin(op, Box::new(var), Box::new(Expr::Lit(Value::Num(c.value))))
        })
        .reduce(|a, b| Expr::Bin(BinOp::And, Box::new(a), Box::new(b)))
}

impl Game {
    /// Compiles a valid TOML story.
    pub fn from_story(story: &Story) -> Game {
        // The start scene first, then the others in story order.
        let sequence: Vec<usize> =
            std::iter::once(story.start).chain((0..story.scenes.len()).filter(|&s| s != story.start)).collect();
        let mut order = vec![0; story.scenes.len()];
        for (k, &s) in sequence.iter().enumerate() {
            order[s] = k as u32;
        }
        let mut l = Lowering { order, options: Vec::new(), annotations: Vec::new() };
        let mut scenes = Vec::with_capacity(sequence.len());
        for (k, &s) in sequence.iter().enumerate() {
            scenes.push(l.scene(&story.scenes[s], k as u32));
        }
        let globals: Vec<(String, Value)> = story.variables.iter().map(|(n, v)| (n.clone(), Value::Num(*v))).collect();
        Game {
            format: Format::Toml { setting: story.setting.clone(), about: story.about.clone() },
            title: story.title.clone(),
            author: String::new(),
            scenes,
            global_index: globals.iter().enumerate().map(|(g, (n, _))| (n.clone(), g as u32)).collect(),
            globals,
            achievements: story.achievements.clone(),
            options: l.options,
            annotations: l.annotations,
            inputs: HashMap::new(),
            implicit_control_flow: false,
            warnings: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::api::Rng;
    use crate::text::choicescript::Run;

    const STORY: &str = r#"
title = "Toll"
setting = "a bridge"
about = "A toll bridge at night."
start = "gate"

[variables]
coins = 2
tricks = 0

[[achievements]]
id = "across"
points = 5
title = "Across"
description = "Cross the bridge."

[scenes.sea]
text = "The sea."
ending = true

[scenes.gate]
text = "A gate."
add = { coins = 1 }

[[scenes.gate.choices]]
text = "Pay."
goto = "bridge"
if = "coins >= 3 and tricks == 0"
set = { coins = 10 }
add = { coins = -4 }
achievements = ["across"]

[[scenes.gate.choices]]
text = "Jump the gate."
goto = "bridge"
add = { tricks = 1 }
achievements = ["across"]
annotation = { morality = { trespassing = 1.0 } }

[scenes.bridge]
text = "Planks.\nMore planks."
next = "sea"
annotation = { morality = { other = 0.25 } }
"#;

    fn start() -> (Run, crate::text::passage::Passage) {
        let story = Story::parse(STORY).expect("valid");
        Run::start(Arc::new(Game::from_story(&story)), Rng::new(0))
    }

    #[test]
    fn the_start_scene_comes_first_and_its_effects_run_before_the_choice() {
        let (run, opening) = start();
        assert_eq!(run.game().scenes[0].name, "gate");
        assert_eq!(opening.narration, "A gate.");
        assert_eq!(opening.scenes, [0]);
        assert_eq!(run.global("coins").and_then(|v| v.num().ok()), Some(3.0));
        assert_eq!(run.choice_texts(), ["Pay.", "Jump the gate."]);
        assert_eq!(run.game().setting(), "a bridge");
        assert_eq!(run.game().about(), "A toll bridge at night.");
    }

    #[test]
    fn a_choice_sets_then_adds_unlocks_once_and_its_scenes_join_by_a_blank_line() {
        let (mut run, _) = start();
        let p = run.choose(0).expect("offered");
        assert_eq!(run.global("coins").and_then(|v| v.num().ok()), Some(6.0), "set to 10, then 4 taken");
        assert_eq!(p.narration, "Planks.\nMore planks.\n\nThe sea.");
        let names: Vec<&str> = p.scenes.iter().map(|&s| run.game().scenes[s].name.as_str()).collect();
        assert_eq!(names, ["bridge", "sea"]);
        assert_eq!((p.achievements.as_slice(), p.points), ([0].as_slice(), 5.0));
        assert_eq!(p.annotation.morality.get("other"), Some(&0.25));
        assert!(run.ended() && run.error().is_none());
        assert_eq!(run.ending(), Some("sea"), "a TOML ending is named by its scene");
    }

    #[test]
    fn every_clause_of_a_condition_must_hold_and_a_choice_carries_its_annotation() {
        let story = Story::parse(&STORY.replace("coins = 2", "coins = 1")).expect("valid");
        let (mut run, _) = Run::start(Arc::new(Game::from_story(&story)), Rng::new(0));
        assert_eq!(run.choice_texts(), ["Jump the gate."], "2 coins is below 3");
        let a = run.choice_annotation(0).expect("annotated");
        assert_eq!(run.game().annotations[a as usize].morality.get("trespassing"), Some(&1.0));
        let p = run.choose(0).expect("offered");
        assert_eq!(p.annotation.morality.get("trespassing"), Some(&1.0));
        assert_eq!(run.global("tricks").and_then(|v| v.num().ok()), Some(1.0));
    }
}
