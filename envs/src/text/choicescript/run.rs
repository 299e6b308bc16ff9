//! Playing a compiled game: one playthrough runs the operations from one choice to the next.

use std::sync::Arc;

use super::expr::{self, Scope, Slot, Value};
use super::{Game, Op, Reuse, Target};
use crate::api::Rng;
use crate::text::passage::{Passage, TextRef};

/// Most operations one step may run before the game counts as stuck in a loop.
pub const MAX_OPS_PER_STEP: usize = 1_000_000;
/// Whether a line of narration ends in a hyphen or dash (`-`, U+2011 to U+2014): the reference
/// joins the next line to it with no space.
pub(super) fn ends_in_dash(text: &str) -> bool {
    text.ends_with(|c: char| matches!(c, '-' | '\u{2011}'..='\u{2014}'))
}

/// Most narration one step may print (64 MiB): a loop printing text stops here with an error.
pub const MAX_NARRATION_BYTES: usize = 64 << 20;
/// Deepest `*gosub` / `*gosub_scene` nesting.
pub const MAX_CALL_DEPTH: usize = 256;

#[derive(Clone, Debug)]
struct Frame {
    scene: u32,
    pc: u32,
    temps: Vec<Option<Value>>,
    /// Temps whose `*temp` ran (a `*temp x` without a value declares x but gives it none).
    declared: Vec<bool>,
    params: Vec<Value>,
    /// `*gosub` return points and the caller's params.
    gosubs: Vec<(u32, Vec<Value>)>,
}

impl Frame {
    fn new(game: &Game, scene: u32, pc: u32, params: Vec<Value>) -> Self {
        let n = game.scenes[scene as usize].temps.len();
        Self { scene, pc, temps: vec![None; n], declared: vec![false; n], params, gosubs: Vec::new() }
    }

    /// Starts the frame afresh at `pc` of `scene`, as [`Frame::new`] with no params would, in the
    /// buffers it has.
    fn reset(&mut self, game: &Game, scene: u32, pc: u32) {
        let n = game.scenes[scene as usize].temps.len();
        (self.scene, self.pc) = (scene, pc);
        self.temps.clear();
        self.temps.resize(n, None);
        self.declared.clear();
        self.declared.resize(n, false);
        self.params.clear();
        self.gosubs.clear();
    }
}

/// Reads variables for an evaluation.
struct View<'a> {
    game: &'a Game,
    globals: &'a [Value],
    frame: &'a Frame,
}

impl Scope for View<'_> {
    fn get(&self, slot: Slot) -> Result<Value, String> {
        match slot {
            Slot::Global(g) => Ok(self.globals[g as usize].clone()),
            Slot::Temp(t) => self.frame.temps[t as usize].clone().ok_or_else(|| {
                let name = &self.game.scenes[self.frame.scene as usize].temps[t as usize];
                if self.frame.declared[t as usize] {
                    format!("temp `{name}` is read before it has a value (its *temp gave none)")
                } else {
                    format!("temp `{name}` is read before its *temp runs")
                }
            }),
            Slot::Param(0) => Ok(Value::Num(self.frame.params.len() as f64)),
            Slot::Param(k) => self
                .frame
                .params
                .get(k as usize - 1)
                .cloned()
                .ok_or_else(|| format!("param_{k} is read but the call passed {}", self.frame.params.len())),
            Slot::Builtin(b) => Ok(Value::Bool(b)),
        }
    }

    fn lookup(&self, name: &str) -> Option<Slot> {
        expr::Names::resolve(&self.game.names(&self.game.scenes[self.frame.scene as usize]), name)
    }
}

/// One playthrough of a ChoiceScript game.
#[derive(Clone, Debug)]
pub struct Run {
    game: Arc<Game>,
    globals: Vec<Value>,
    frames: Vec<Frame>,
    taken: Vec<bool>,
    unlocked: Vec<bool>,
    /// Scenes `*goto_random_scene` has picked (not picked again unless allowed).
    picked: Vec<bool>,
    /// Globals whose `*create` ran since play last entered startup from another scene.
    created: Vec<bool>,
    offered: Vec<u32>,
    /// The texts of the offered options that interpolate (`offered_text[k]` for offered option
    /// `k`; an option's literal text is read from the game); the buffers are kept from one choice
    /// to the next.
    offered_text: Vec<String>,
    ended: bool,
    error: Option<String>,
    decisions: usize,
    rng: Rng,
    /// Where the game ended (`scene.txt line N` of the `*ending` or last `*finish`).
    ending: Option<String>,
    pending_break: u8,
}

enum Flow {
    Next,
    Wait,
    Stop,
}

impl Run {
    /// Starts at the top of startup; the passage holds the narration up to the first choice.
    /// `rng` drives `*rand`.
    pub fn start(game: Arc<Game>, rng: Rng) -> (Self, Passage) {
        let globals = game.globals.iter().map(|(_, v)| v.clone()).collect();
        let frames = vec![Frame::new(&game, 0, 0, Vec::new())];
        let mut run = Self {
            taken: vec![false; game.options.len()],
            unlocked: vec![false; game.achievements.len()],
            picked: vec![false; game.scenes.len()],
            created: vec![false; game.globals.len()],
            game,
            globals,
            frames,
            offered: Vec::new(),
            offered_text: Vec::new(),
            ended: false,
            error: None,
            decisions: 0,
            rng,
            ending: None,
            pending_break: 0,
        };
        let mut passage = Passage { scenes: vec![0], ..Passage::default() };
        run.advance(&mut passage);
        (run, passage)
    }

    /// The game.
    pub fn game(&self) -> &Game {
        &self.game
    }

    /// Whether the game is over (an ending, or an error).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The error that stopped the game, if one did (`scene.txt line N: what`).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Where the game ended.
    pub fn ending(&self) -> Option<&str> {
        self.ending.as_deref()
    }

    /// Decisions taken so far.
    pub fn decisions(&self) -> usize {
        self.decisions
    }

    /// Number of options offered now.
    pub fn num_choices(&self) -> usize {
        self.offered.len()
    }

    /// Text of offered option `k`.
    pub fn choice_text(&self, k: usize) -> &str {
        self.game.options[self.offered[k] as usize].text.literal().unwrap_or_else(|| &self.offered_text[k])
    }

    /// Texts of the offered options.
    pub fn choice_texts(&self) -> Vec<String> {
        (0..self.offered.len()).map(|k| self.choice_text(k).to_string()).collect()
    }

    /// Ids (in the game's option table) of the options offered now.
    pub fn offered(&self) -> &[u32] {
        &self.offered
    }

    /// Annotation index of offered option `k`.
    pub fn choice_annotation(&self, k: usize) -> Option<u32> {
        self.game.options[self.offered[k] as usize].annotation
    }

    /// The value of a global (by name, lower case).
    pub fn global(&self, name: &str) -> Option<&Value> {
        self.game.global_index.get(name).map(|&g| &self.globals[g as usize])
    }

    /// Whether each achievement is unlocked.
    pub fn unlocked(&self) -> &[bool] {
        &self.unlocked
    }

    /// Takes offered option `k`. `None` if out of range or the game is over.
    pub fn choose(&mut self, k: usize) -> Option<Passage> {
        let mut passage = Passage::default();
        self.choose_into(k, &mut passage).then_some(passage)
    }

    /// Takes offered option `k`, writing what play passed into `passage`, which is emptied first
    /// and keeps its buffers (the narration and the lists are not allocated again). `false`, with
    /// `passage` untouched, if `k` is out of range or the game is over.
    pub fn choose_into(&mut self, k: usize, passage: &mut Passage) -> bool {
        if self.ended || k >= self.offered.len() {
            return false;
        }
        let id = self.offered[k] as usize;
        let game = Arc::clone(&self.game);
        let opt = &game.options[id];
        self.taken[id] = true;
        self.decisions += 1;
        passage.clear();
        if let Some(a) = opt.annotation {
            passage.annotation.add(&game.annotations[a as usize]);
        }
        self.offered.clear();
        if let Some(f) = self.frames.last_mut() {
            f.pc = opt.body;
        }
        self.pending_break = 0;
        self.advance(passage);
        true
    }

    fn view(&self) -> View<'_> {
        View { game: &self.game, globals: &self.globals, frame: self.frames.last().expect("a frame while running") }
    }

    fn write(&mut self, target: &Target, value: Value) -> Result<(), String> {
        let slot = match target {
            Target::Slot(s) => *s,
            Target::Dynamic(e) => expr::dynamic_slot(e, &self.view())?,
        };
        match slot {
            Slot::Global(g) => self.globals[g as usize] = value,
            Slot::Temp(t) => {
                let frame = self.frames.last_mut().expect("a frame while running");
                if !frame.declared[t as usize] {
                    let name = &self.game.scenes[frame.scene as usize].temps[t as usize];
                    return Err(format!("temp `{name}` is set before its *temp runs"));
                }
                frame.temps[t as usize] = Some(value);
            }
            Slot::Param(_) | Slot::Builtin(_) => return Err("this variable cannot be set".into()),
        }
        Ok(())
    }

    /// Appends a text to the narration; `line` names the literal line it is, if it is one.
    fn narrate(&mut self, text: &str, line: Option<(u32, u32)>, passage: &mut Passage) -> Result<(), String> {
        if text.is_empty() {
            return Ok(());
        }
        if passage.narration.len() + text.len() > MAX_NARRATION_BYTES {
            return Err(format!("a step's narration passes {MAX_NARRATION_BYTES} bytes (a loop that prints?)"));
        }
        let out = &mut passage.narration;
        if !out.is_empty() {
            match self.pending_break {
                2 => out.push_str("\n\n"),
                1 => out.push('\n'),
                _ if !(out.ends_with(char::is_whitespace) || ends_in_dash(out)) => out.push(' '),
                _ => {}
            }
        }
        self.pending_break = 0;
        let start = out.len() as u32;
        out.push_str(text);
        passage.texts.push(match line {
            Some((scene, op)) => TextRef::Line { scene, op },
            None => TextRef::Rendered { start, end: out.len() as u32 },
        });
        Ok(())
    }

    /// Forgets which of a scene's options were taken: the reference keeps that among the scene's
    /// temps, so it starts over each time play enters the scene.
    fn forget_taken(&mut self, scene: u32) {
        let (first, end) = self.game.scenes[scene as usize].options;
        self.taken[first as usize..end as usize].fill(false);
    }

    fn enter(&mut self, scene: u32, pc: u32, passage: &mut Passage) {
        passage.scenes.push(scene as usize);
        self.forget_taken(scene);
        // The reference starts a scene afresh unless play jumps to the scene it is in: startup
        // entered from elsewhere may run its *create lines again.
        if scene == 0 && self.frames.last().is_some_and(|f| f.scene != 0) {
            self.created.fill(false);
        }
        match self.frames.last_mut() {
            Some(f) => f.reset(&self.game, scene, pc),
            None => self.frames.push(Frame::new(&self.game, scene, pc, Vec::new())),
        }
    }

    /// Forgets the callers of `*gosub_scene` below the current scene, as the reference's
    /// `*goto_scene` does (a later `*return` then has nowhere to go).
    fn forget_callers(&mut self) {
        let below = self.frames.len().saturating_sub(1);
        self.frames.drain(..below);
    }

    fn finish(&mut self, place: String, passage: &mut Passage) -> Flow {
        let scene = self.frames.last().map_or(0, |f| f.scene);
        match self.game.scenes[scene as usize].next {
            Some(next) => {
                // The next scene starts on a new page, and keeps the callers of *gosub_scene for
                // a later *return; on an empty page the reference goes there by *goto_scene,
                // which forgets them.
                if passage.narration.is_empty() {
                    self.forget_callers();
                } else {
                    self.pending_break = 2;
                }
                self.enter(next, 0, passage);
                Flow::Next
            }
            None => {
                self.ending = Some(place);
                self.ended = true;
                Flow::Stop
            }
        }
    }

    /// Runs until a choice waits for the player or the game stops.
    fn advance(&mut self, passage: &mut Passage) {
        let game = Arc::clone(&self.game);
        for _ in 0..MAX_OPS_PER_STEP {
            let Some(frame) = self.frames.last_mut() else { return };
            let (scene_id, pc) = (frame.scene, frame.pc);
            let scene = &game.scenes[scene_id as usize];
            if pc as usize >= scene.ops.len() {
                // The end of a scene file is a *finish, in a *gosub_scene too: the reference
                // returns to the caller only on *return.
                let place = format!("{}.txt line {}", scene.name, scene.line_count);
                match self.finish(place, passage) {
                    Flow::Next => continue,
                    _ => return,
                }
            }
            frame.pc += 1;
            if let Some(a) = scene.annotation[pc as usize] {
                passage.annotation.add(&game.annotations[a as usize]);
            }
            match self.exec(&game, scene_id, pc, passage) {
                Ok(Flow::Next) => {}
                Ok(Flow::Wait | Flow::Stop) => return,
                Err(m) => {
                    self.fail(format!("{}: {m}", game.place(scene_id, pc)));
                    return;
                }
            }
        }
        self.fail(format!(
            "ran {MAX_OPS_PER_STEP} commands without reaching a choice or an ending (a loop with no way out?)"
        ));
    }

    fn fail(&mut self, message: String) {
        self.error = Some(message);
        self.ended = true;
        self.offered.clear();
    }

    fn exec(&mut self, game: &Game, scene_id: u32, pc: u32, passage: &mut Passage) -> Result<Flow, String> {
        let scene = &game.scenes[scene_id as usize];
        match &scene.ops[pc as usize] {
            Op::Text(t) => match t.literal() {
                Some(text) => self.narrate(text, Some((scene_id, pc)), passage)?,
                None => {
                    let text = expr::render(t, &self.view())?;
                    self.narrate(&text, None, passage)?;
                }
            },
            Op::Para => {
                if !passage.narration.is_empty() {
                    self.pending_break = 2;
                }
            }
            // Two line breaks in a row leave a blank line.
            Op::LineBreak => self.pending_break = (self.pending_break + 1).min(2),
            Op::Nop => {}
            Op::Create(g) => {
                let g = *g as usize;
                if std::mem::replace(&mut self.created[g], true) {
                    return Err(format!(
                        "`{}` is created again: startup reached its *create from startup itself",
                        game.globals[g].0
                    ));
                }
                self.globals[g] = game.globals[g].1.clone();
            }
            Op::Set(target, e) => {
                let v = expr::eval(e, &self.view())?;
                self.write(target, v)?;
            }
            Op::SetRef(name, e) => {
                let v = expr::eval(e, &self.view())?;
                let slot = expr::dynamic_slot(&expr::Expr::Ref(Box::new(name.clone())), &self.view())?;
                self.write(&Target::Slot(slot), v)?;
            }
            Op::Temp(t, e) => {
                let v = e.as_ref().map(|e| expr::eval(e, &self.view())).transpose()?;
                let frame = self.frames.last_mut().expect("a frame while running");
                frame.temps[*t as usize] = v;
                frame.declared[*t as usize] = true;
            }
            Op::Rand(target, lo, hi) => {
                let (lo, hi) = (expr::eval(lo, &self.view())?.num()?, expr::eval(hi, &self.view())?.num()?);
                if lo > hi || !lo.is_finite() || !hi.is_finite() {
                    return Err(format!("*rand needs min <= max, got {lo} and {hi}"));
                }
                // Draws as the reference draws: nothing when min equals max, one number otherwise.
                let v = if lo == hi {
                    lo
                } else if lo.fract() == 0.0 && hi.fract() == 0.0 && hi - lo < u32::MAX as f64 {
                    lo + self.rng.below((hi - lo) as usize + 1) as f64
                } else {
                    lo + self.rng.unit() * (hi - lo)
                };
                self.write(target, Value::Num(v))?;
            }
            Op::Input(target, name, range) => {
                let current = match target {
                    Target::Slot(s) => self.view().get(*s).ok(),
                    Target::Dynamic(e) => expr::eval(e, &self.view()).ok(),
                };
                let v = game.inputs.get(name).cloned().or(current).ok_or_else(|| {
                    format!("`{name}` has no value to take as the input: give it one in the sidecar's [inputs]")
                })?;
                let v = match range {
                    None => Value::Str(v.to_string()),
                    Some((lo, hi)) => {
                        let (lo, hi) = (expr::eval(lo, &self.view())?.num()?, expr::eval(hi, &self.view())?.num()?);
                        if lo > hi || !lo.is_finite() || !hi.is_finite() {
                            return Err(format!("*input_number needs min <= max, got {lo} and {hi}"));
                        }
                        Value::Num(v.num().ok().filter(|x| !x.is_nan()).unwrap_or(lo).clamp(lo, hi))
                    }
                };
                self.write(target, v)?;
            }
            Op::Jump(t) => self.frames.last_mut().expect("a frame").pc = *t,
            Op::GotoRef(e) => {
                let label = expr::eval(e, &self.view())?.to_string().to_lowercase();
                let t =
                    *scene.labels.get(&label).ok_or_else(|| format!("*gotoref: no label `{label}` in this scene"))?;
                self.frames.last_mut().expect("a frame").pc = t;
            }
            Op::GotoScene(s, t) => {
                self.forget_callers();
                self.enter(*s, *t, passage);
            }
            Op::GotoRandomScene(scenes, allow_none) => {
                let mut open = Vec::new();
                for (k, pick) in scenes.iter().enumerate() {
                    if !pick.allow_reuse && self.picked[pick.scene as usize] {
                        continue;
                    }
                    if let Some(c) = &pick.condition
                        && !expr::eval(c, &self.view())?.truth()?
                    {
                        continue;
                    }
                    open.push(k);
                }
                // One draw whether or not a scene can be picked, as the reference draws.
                let k = self.rng.below(open.len().max(1));
                if open.is_empty() {
                    if *allow_none {
                        return Ok(Flow::Next);
                    }
                    return Err("no scene of this *goto_random_scene can be picked".into());
                }
                let pick = &scenes[open[k]];
                if !pick.allow_reuse {
                    self.picked[pick.scene as usize] = true;
                }
                self.forget_callers();
                self.enter(pick.scene, 0, passage);
            }
            Op::Gosub(t, args) => {
                let args = args.iter().map(|a| expr::eval(a, &self.view())).collect::<Result<Vec<_>, _>>()?;
                let frame = self.frames.last_mut().expect("a frame");
                if frame.gosubs.len() >= MAX_CALL_DEPTH {
                    return Err(format!("*gosub nests deeper than {MAX_CALL_DEPTH} calls"));
                }
                let saved = std::mem::replace(&mut frame.params, args);
                frame.gosubs.push((frame.pc, saved));
                frame.pc = *t;
            }
            Op::GosubScene(s, t, args) => {
                if self.frames.len() >= MAX_CALL_DEPTH {
                    return Err(format!("*gosub_scene nests deeper than {MAX_CALL_DEPTH} calls"));
                }
                let args = args.iter().map(|a| expr::eval(a, &self.view())).collect::<Result<Vec<_>, _>>()?;
                passage.scenes.push(*s as usize);
                self.frames.push(Frame::new(game, *s, *t, args));
            }
            Op::Params(slots) => {
                let frame = self.frames.last_mut().expect("a frame");
                if frame.params.len() < slots.len() {
                    return Err(format!(
                        "*params names {} parameters; the call passed {}",
                        slots.len(),
                        frame.params.len()
                    ));
                }
                for (k, &t) in slots.iter().enumerate() {
                    frame.temps[t as usize] = Some(frame.params[k].clone());
                    frame.declared[t as usize] = true;
                }
            }
            Op::Return => {
                let frame = self.frames.last_mut().expect("a frame");
                if let Some((ret, params)) = frame.gosubs.pop() {
                    frame.pc = ret;
                    frame.params = params;
                } else if self.frames.len() > 1 {
                    self.frames.pop();
                } else {
                    return Err("*return without a *gosub to return from".into());
                }
            }
            Op::Finish => return Ok(self.finish(game.place(scene_id, pc), passage)),
            Op::Ending => {
                self.ending = Some(game.ending_place(scene_id, pc));
                self.ended = true;
                return Ok(Flow::Stop);
            }
            Op::If(cond, else_pc) => {
                if !expr::eval(cond, &self.view())?.truth()? {
                    self.frames.last_mut().expect("a frame").pc = *else_pc;
                }
            }
            Op::Choice(first, count) => {
                for id in *first..first + count {
                    let o = &game.options[id as usize];
                    let frame = self.frames.last().expect("a frame while running");
                    let view = View { game, globals: &self.globals, frame };
                    if let Some(c) = &o.visible
                        && !expr::eval(c, &view)?.truth()?
                    {
                        continue;
                    }
                    if o.reuse != Reuse::Allow && self.taken[id as usize] {
                        continue;
                    }
                    if let Some(c) = &o.selectable
                        && !expr::eval(c, &view)?.truth()?
                    {
                        continue;
                    }
                    if o.text.literal().is_none() {
                        let n = self.offered.len();
                        self.offered_text.resize_with(self.offered_text.len().max(n + 1), String::new);
                        let text = &mut self.offered_text[n];
                        text.clear();
                        expr::render_into(&o.text, &view, text)?;
                    }
                    self.offered.push(id);
                }
                if self.offered.is_empty() {
                    return Err("no option of this *choice can be chosen".into());
                }
                // Come back to the choice itself if asked for a view; the option's body is next.
                return Ok(Flow::Wait);
            }
            Op::Achieve(a) => {
                if !self.unlocked[*a as usize] {
                    self.unlocked[*a as usize] = true;
                    passage.achievements.push(*a as usize);
                    passage.points += game.achievements[*a as usize].points;
                }
            }
            Op::Print(e) => {
                let text = expr::eval(e, &self.view())?.to_string();
                self.narrate(&text, None, passage)?;
            }
            Op::Reset => {
                for (slot, (_, v)) in self.globals.iter_mut().zip(&game.globals) {
                    *slot = v.clone();
                }
            }
            Op::Bug(t) => {
                let text = expr::render(t, &self.view())?;
                return Err(format!("*bug reached: {text}"));
            }
            Op::Error(m) => return Err(m.clone()),
        }
        Ok(Flow::Next)
    }
}

/// What random play found: how often each ending was reached and each error hit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exploration {
    /// Playthroughs run.
    pub episodes: usize,
    /// Ending (`scene.txt line N`) to how many playthroughs reached it.
    pub endings: std::collections::BTreeMap<String, usize>,
    /// Error message to how many playthroughs stopped on it.
    pub errors: std::collections::BTreeMap<String, usize>,
    /// Playthroughs cut off after `max_decisions` without an ending.
    pub cut_off: usize,
    /// Mean decisions per playthrough.
    pub mean_decisions: f64,
}

/// Plays `episodes` playthroughs choosing uniformly among the offered options (seeded), each
/// for at most `max_decisions` decisions.
pub fn explore(game: &Arc<Game>, episodes: usize, seed: u64, max_decisions: usize) -> Exploration {
    let mut rng = Rng::new(seed);
    let mut out = Exploration { episodes, ..Exploration::default() };
    let mut decisions = 0;
    for _ in 0..episodes {
        let (mut run, _) = Run::start(Arc::clone(game), Rng::new(rng.next_u64()));
        while !run.ended() && run.decisions() < max_decisions {
            let k = rng.below(run.num_choices());
            run.choose(k);
        }
        decisions += run.decisions();
        match (run.error(), run.ending()) {
            (Some(e), _) => *out.errors.entry(e.to_string()).or_default() += 1,
            (None, Some(end)) => *out.endings.entry(end.to_string()).or_default() += 1,
            (None, None) => out.cut_off += 1,
        }
    }
    out.mean_decisions = decisions as f64 / episodes.max(1) as f64;
    out
}

/// How a scripted route picks among the options offered at each decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Always the first option.
    First,
    /// Always the last.
    Last,
    /// Option `d mod n` at decision `d`.
    Cycle,
    /// Option `picks[d] mod n` at decision `d` (0 once the list runs out).
    Picks(Vec<usize>),
}

impl Route {
    /// The option taken at decision `decision` out of `n` offered.
    pub fn pick(&self, decision: usize, n: usize) -> usize {
        let k = match self {
            Route::First => 0,
            Route::Last => n.saturating_sub(1),
            Route::Cycle => decision,
            Route::Picks(p) => p.get(decision).copied().unwrap_or(0),
        };
        k % n.max(1)
    }
}

impl std::str::FromStr for Route {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "first" => Ok(Route::First),
            "last" => Ok(Route::Last),
            "cycle" => Ok(Route::Cycle),
            _ => {
                let list = s
                    .strip_prefix("picks:")
                    .ok_or_else(|| format!("route `{s}`: write first, last, cycle or picks:3,0,7 (option indices)"))?;
                let picks = list.split(',').map(|p| p.trim().parse::<usize>()).collect::<Result<Vec<_>, _>>();
                picks
                    .map(Route::Picks)
                    .map_err(|_| format!("route `{s}`: picks must be option indices, e.g. picks:3,0,7"))
            }
        }
    }
}

/// What a player saw along a route: the narration and options at each decision, then the
/// narration after the last one and how play stopped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transcript {
    /// (narration, options offered) at each decision.
    pub decisions: Vec<(String, Vec<String>)>,
    /// Narration after the last decision.
    pub last: String,
    /// The error that stopped play, if one did.
    pub error: Option<String>,
    /// Whether play reached an ending.
    pub ended: bool,
}

impl Transcript {
    /// How play stopped: `"error"`, `"ending"`, or `"cut"` after the most decisions.
    pub fn end(&self) -> &'static str {
        match (&self.error, self.ended) {
            (Some(_), _) => "error",
            (None, true) => "ending",
            (None, false) => "cut",
        }
    }
}

/// Plays `route` from the start for at most `max_decisions` decisions (`seed` drives `*rand`).
pub fn transcript(game: &Arc<Game>, route: &Route, max_decisions: usize, seed: u64) -> Transcript {
    let (mut run, mut passage) = Run::start(Arc::clone(game), Rng::new(seed));
    let mut out = Transcript::default();
    while !run.ended() && out.decisions.len() < max_decisions {
        out.decisions.push((std::mem::take(&mut passage.narration), run.choice_texts()));
        let k = route.pick(out.decisions.len() - 1, run.num_choices());
        passage = run.choose(k).unwrap_or_default();
    }
    if run.ended() {
        out.last = passage.narration;
    }
    out.error = run.error().map(str::to_string);
    out.ended = run.ended() && out.error.is_none();
    out
}
