//! ChoiceScript games: moralgym's own interpreter of the language Choice of Games titles (and so
//! MACHIAVELLI's 134 games) are written in, written from the language's public description (the
//! reference interpreter's licence forbids reusing its code).
//!
//! A game is a folder of scene files, `startup.txt` first. Loading compiles every scene once into
//! a flat list of operations with resolved jumps and variable slots, so that checking a game is
//! linear in its size and a step costs only what it runs. Annotations come from a sidecar file
//! (`annotations.toml` beside the scenes) whose keys name a label (`"scene:label"`) or a source
//! line (`"scene:line"`):
//!
//! ```toml
//! [annotations."vault:12"]          # line 12 of vault.txt: an #option line applies when chosen
//! morality = { stealing = 1.0 }
//! [annotations."vault:alarm"]       # *label alarm in vault.txt: applies when play passes it
//! utility = { others = { "-2" = 3 } }
//! [inputs]                          # values for *input_text / *input_number (optional)
//! name = "Ada"
//! ```
//!
//! See docs/story-format.md for every supported command and the rules for the few that an RL
//! environment has to decide (inputs, page breaks, disabled options).

mod compile;
pub mod expr;
mod run;
mod sidecar;
mod story;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub use run::{Exploration, Route, Run, Transcript, explore, transcript};

use super::annotation::Annotation;
use super::story::{Achievement, Problem, StoryError};
use expr::{Expr, Interp, Slot, Value};

/// Name of the sidecar file looked for in a game folder.
pub const SIDECAR: &str = "annotations.toml";

/// How an option behaves once taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Offered again.
    Allow,
    /// `*hide_reuse`: not offered again.
    Hide,
    /// `*disable_reuse`: shown disabled, which for an agent means not offered again.
    Disable,
}

/// An `#option` of a `*choice`, compiled.
#[derive(Clone, Debug)]
pub struct Opt {
    /// Scene index.
    pub scene: u32,
    /// 1-based source line of the `#option`.
    pub line: u32,
    /// Text, interpolated when offered.
    pub text: Interp,
    /// Offered only if this holds (`*if (...) #` and enclosing `*if` blocks).
    pub visible: Option<Expr>,
    /// Selectable only if this holds (`*selectable_if (...) #`).
    pub selectable: Option<Expr>,
    /// What happens once taken.
    pub reuse: Reuse,
    /// First operation of its body.
    pub body: u32,
    /// Annotation applied when chosen.
    pub annotation: Option<u32>,
}

/// Where a `*set` (or `*rand`, `*input_*`) writes.
#[derive(Clone, Debug)]
pub enum Target {
    /// A variable known when compiling.
    Slot(Slot),
    /// `name[i]` or `{expr}`: resolved when it runs.
    Dynamic(Expr),
}

/// A scene `*goto_random_scene` may pick.
#[derive(Clone, Debug)]
pub struct RandomScene {
    /// Scene index.
    pub scene: u32,
    /// Picked only if this holds (`*if (...) name`).
    pub condition: Option<Expr>,
    /// May be picked again after it was picked once (`*allow_reuse name`).
    pub allow_reuse: bool,
}

/// One compiled operation.
#[derive(Clone, Debug)]
pub enum Op {
    /// A line of narration.
    Text(Interp),
    /// A paragraph break (a blank line, `*page_break`).
    Para,
    /// `*line_break`.
    LineBreak,
    /// Does nothing (`*label`, `*else`): a place annotations can attach to.
    Nop,
    /// `*create` (and each element of `*create_array`): a global set to its start value.
    Create(u32),
    /// `*set`.
    Set(Target, Expr),
    /// `*setref name value`.
    SetRef(Expr, Expr),
    /// `*temp` (and each element of `*temp_array`); `None`: declared without a value.
    Temp(u32, Option<Expr>),
    /// `*rand var min max`.
    Rand(Target, Expr, Expr),
    /// `*input_text var` (no range) or `*input_number var min max`.
    Input(Target, String, Option<(Expr, Expr)>),
    /// `*goto` and the jumps that end `*if` branches and options.
    Jump(u32),
    /// `*gotoref expr`.
    GotoRef(Expr),
    /// `*goto_scene`: scene, first operation.
    GotoScene(u32, u32),
    /// `*goto_random_scene`: the scenes it may pick, and whether picking none goes on (`allow_no_selection`).
    GotoRandomScene(Vec<RandomScene>, bool),
    /// `*gosub label args`.
    Gosub(u32, Vec<Expr>),
    /// `*gosub_scene scene [label] args`.
    GosubScene(u32, u32, Vec<Expr>),
    /// `*params names`: temps given the call's arguments.
    Params(Vec<u32>),
    /// `*return`.
    Return,
    /// `*finish`.
    Finish,
    /// `*ending`.
    Ending,
    /// `*if` / `*elseif`: jump to the operation when the condition is false.
    If(Expr, u32),
    /// `*choice` / `*fake_choice`: options `first .. first + count` of the game's table.
    Choice(u32, u32),
    /// `*achieve`.
    Achieve(u32),
    /// `*print expr`: its value as narration.
    Print(Expr),
    /// `*reset`: every global back to its start value.
    Reset,
    /// `*bug text`: an author's assertion failed.
    Bug(Interp),
    /// An error found when compiling that play reached (kept so that no path mis-plays).
    Error(String),
}

/// One compiled scene file.
#[derive(Clone, Debug)]
pub struct Scene {
    /// Scene name (the file name without `.txt`).
    pub name: String,
    /// Operations.
    pub ops: Vec<Op>,
    /// 1-based source line of each operation.
    pub lines: Vec<u32>,
    /// Annotation of each operation (index into the game's table), applied when it runs.
    pub annotation: Vec<Option<u32>>,
    /// Labels: name to operation.
    pub labels: HashMap<String, u32>,
    /// Temps declared in the scene, by slot.
    pub temps: Vec<String>,
    temp_index: HashMap<String, u32>,
    /// The scene that `*finish` leads to.
    pub next: Option<u32>,
    /// Its options: ids `options.0 .. options.1` of the game's table.
    pub options: (u32, u32),
    /// Lines in the file.
    pub line_count: u32,
}

/// The format a game was written in, for the few things the formats do differently.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    /// ChoiceScript scene files.
    ChoiceScript,
    /// A TOML story, compiled by [`Game::from_story`]: an ending is named by its scene's id, and
    /// a choice carries the whole of its annotation.
    Toml {
        /// The setting in a few words.
        setting: String,
        /// A line about the game.
        about: String,
    },
}

/// A compiled game, ready to play: a ChoiceScript game, or a TOML story compiled to the same
/// operations.
#[derive(Clone, Debug)]
pub struct Game {
    /// The format it was written in.
    pub format: Format,
    /// `*title`.
    pub title: String,
    /// `*author`.
    pub author: String,
    /// Scenes; 0 is `startup`.
    pub scenes: Vec<Scene>,
    /// Globals (`*create`) and their start values.
    pub globals: Vec<(String, Value)>,
    global_index: HashMap<String, u32>,
    /// Declared achievements.
    pub achievements: Vec<Achievement>,
    /// Every option of every choice.
    pub options: Vec<Opt>,
    /// Annotations from the sidecar.
    pub annotations: Vec<Annotation>,
    /// Values for `*input_text` / `*input_number`, by variable name.
    pub inputs: HashMap<String, Value>,
    /// Whether `implicit_control_flow` is on.
    pub implicit_control_flow: bool,
    /// Problems the game loads with: the reference interpreter reports them only when play
    /// reaches them, and so does moralgym (the episode ends with the error there).
    pub warnings: Vec<Problem>,
}

/// Resolves names in one scene: its temps, then the globals, then the reserved names.
pub(crate) struct SceneNames<'a> {
    temps: &'a HashMap<String, u32>,
    globals: &'a HashMap<String, u32>,
}

impl expr::Names for SceneNames<'_> {
    fn resolve(&self, name: &str) -> Option<Slot> {
        if let Some(&t) = self.temps.get(name) {
            return Some(Slot::Temp(t));
        }
        if let Some(&g) = self.globals.get(name) {
            return Some(Slot::Global(g));
        }
        if name == "param_count" {
            return Some(Slot::Param(0));
        }
        if let Some(k) = name.strip_prefix("param_").and_then(|k| k.parse::<u32>().ok())
            && k > 0
        {
            return Some(Slot::Param(k));
        }
        name.starts_with("choice_").then(|| Slot::Builtin(name.starts_with("choice_purchased_")))
    }
}

/// The files a game is made of: every scene file of its folder by scene name, and the text of
/// its sidecar (`sidecar` if given, else `annotations.toml` in the folder if it exists).
pub fn read_files(
    path: &Path,
    sidecar: Option<&Path>,
) -> Result<(BTreeMap<String, String>, Option<String>), StoryError> {
    let dir =
        if path.is_dir() { path.to_path_buf() } else { path.parent().map_or(PathBuf::from("."), Path::to_path_buf) };
    let io = |file: &Path, e: std::io::Error| StoryError {
        problems: vec![Problem::in_file(file.display().to_string(), 1, format!("cannot read: {e}"))],
    };
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
        let p = entry.map_err(|e| io(&dir, e))?.path();
        if p.extension().is_some_and(|x| x == "txt")
            && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
        {
            let text = crate::text::files::read(&p, Some(&dir)).map_err(|e| io(&p, e))?;
            files.insert(stem.to_string(), text);
        }
    }
    // A sidecar named by the user may live anywhere; the default one is a file of the folder.
    let default_sidecar = dir.join(SIDECAR);
    let sidecar_text = match sidecar {
        Some(p) => Some(crate::text::files::read(p, None).map_err(|e| io(p, e))?),
        None if default_sidecar.symlink_metadata().is_ok() => {
            Some(crate::text::files::read(&default_sidecar, Some(&dir)).map_err(|e| io(&default_sidecar, e))?)
        }
        None => None,
    };
    Ok((files, sidecar_text))
}

impl Game {
    /// Loads a game from a folder holding `startup.txt` (or the path of that file). The sidecar
    /// is `sidecar` if given, else `annotations.toml` in the folder if it exists.
    pub fn load(path: &Path, sidecar: Option<&Path>) -> Result<Game, StoryError> {
        let (files, sidecar) = read_files(path, sidecar)?;
        Self::from_files(&files, sidecar.as_deref())
    }

    /// Compiles a game from scene texts by scene name (`startup` must be one) and the sidecar's
    /// text; the error lists every problem with its file and line.
    pub fn from_files(files: &BTreeMap<String, String>, sidecar: Option<&str>) -> Result<Game, StoryError> {
        let mut problems = Vec::new();
        let mut game = compile::compile(files, &mut problems);
        if let (Some(g), Some(text)) = (game.as_mut(), sidecar) {
            sidecar::attach(g, text, &mut problems);
        }
        let by_place = |a: &Problem, b: &Problem| (a.file.as_deref(), a.line).cmp(&(b.file.as_deref(), b.line));
        problems.sort_by(by_place);
        if let Some(g) = game.as_mut() {
            g.warnings.sort_by(by_place);
        }
        match game {
            Some(g) if problems.is_empty() => Ok(g),
            _ => Err(StoryError { problems }),
        }
    }

    fn names<'a>(&'a self, scene: &'a Scene) -> SceneNames<'a> {
        SceneNames { temps: &scene.temp_index, globals: &self.global_index }
    }

    /// Most options any `*choice` has (the action slots it needs).
    pub fn max_choices(&self) -> usize {
        let mut most = 0;
        for s in &self.scenes {
            for op in &s.ops {
                if let Op::Choice(_, n) = op {
                    most = most.max(*n as usize);
                }
            }
        }
        most.max(1)
    }

    /// Points of all achievements.
    pub fn max_points(&self) -> f64 {
        self.achievements.iter().fold(0.0, |sum, a| sum + a.points)
    }

    /// Number of `*label`s.
    pub fn num_labels(&self) -> usize {
        self.scenes.iter().map(|s| s.labels.len()).sum()
    }

    /// Words of narration and option text as written (every text of a multireplace counted).
    pub fn words(&self) -> usize {
        let narration = self.scenes.iter().flat_map(|s| &s.ops).filter_map(|o| match o {
            Op::Text(t) => Some(t),
            _ => None,
        });
        narration.chain(self.options.iter().map(|o| &o.text)).map(Interp::words).sum()
    }

    /// Number of `*choice` blocks.
    pub fn num_choices(&self) -> usize {
        self.scenes.iter().flat_map(|s| &s.ops).filter(|o| matches!(o, Op::Choice(..))).count()
    }

    /// The setting in a few words (TOML stories only).
    pub fn setting(&self) -> &str {
        match &self.format {
            Format::Toml { setting, .. } => setting,
            Format::ChoiceScript => "",
        }
    }

    /// A line about the game (for ChoiceScript, its author).
    pub fn about(&self) -> String {
        match &self.format {
            Format::Toml { about, .. } => about.clone(),
            Format::ChoiceScript if self.author.is_empty() => String::new(),
            Format::ChoiceScript => format!("By {}.", self.author),
        }
    }

    /// Where an `*ending` at operation `op` of `scene` ends the game: `scene.txt line N`, or for a
    /// TOML story the ending scene's id.
    pub fn ending_place(&self, scene: u32, op: u32) -> String {
        match self.format {
            Format::Toml { .. } => self.scenes[scene as usize].name.clone(),
            Format::ChoiceScript => self.place(scene, op),
        }
    }

    /// `scene.txt line N`, for messages.
    pub fn place(&self, scene: u32, op: u32) -> String {
        let s = &self.scenes[scene as usize];
        format!("{}.txt line {}", s.name, s.lines.get(op as usize).copied().unwrap_or(s.line_count))
    }
}
