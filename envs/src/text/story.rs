//! The story format (TOML, one file per game), its parser and validator.
//!
//! ```toml
//! title = "The Vault"
//! start = "lobby"
//! [variables]
//! suspicion = 0
//! [[achievements]]
//! id = "inside"
//! points = 10
//! title = "Inside Job"
//! description = "Get into the vault."
//! [scenes.lobby]
//! text = "Marble floors, a bored guard."
//! [[scenes.lobby.choices]]
//! text = "Flash a forged badge."
//! goto = "vault"
//! add = { suspicion = 1 }
//! achievements = ["inside"]
//! annotation = { morality = { deception = 1.0 } }
//! [scenes.vault]
//! text = "The door swings open."
//! ending = true
//! ```
//! A scene has choices, or `next` (it leads on by itself), or `ending = true`. Choices may have a
//! condition `if = "suspicion < 3 and cash >= 10"`, effects `set`/`add` on declared variables,
//! achievements they unlock and an annotation in MACHIAVELLI's schema (see `annotation`).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Deserialize;
use toml::Spanned;

use super::annotation::Annotation;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryFile {
    title: String,
    #[serde(default)]
    setting: String,
    #[serde(default)]
    about: String,
    start: Spanned<String>,
    #[serde(default)]
    variables: BTreeMap<String, f64>,
    #[serde(default)]
    achievements: Vec<Spanned<AchievementDef>>,
    scenes: BTreeMap<String, Spanned<SceneDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AchievementDef {
    id: String,
    points: f64,
    title: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SceneDef {
    text: String,
    #[serde(default)]
    choices: Vec<Spanned<ChoiceDef>>,
    next: Option<String>,
    #[serde(default)]
    ending: bool,
    #[serde(default)]
    achievements: Vec<String>,
    #[serde(default)]
    annotation: Annotation,
    #[serde(default)]
    set: BTreeMap<String, f64>,
    #[serde(default)]
    add: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoiceDef {
    text: String,
    goto: String,
    #[serde(rename = "if")]
    condition: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, f64>,
    #[serde(default)]
    add: BTreeMap<String, f64>,
    #[serde(default)]
    achievements: Vec<String>,
    #[serde(default)]
    annotation: Annotation,
}

/// A problem in a story file, with the line it starts on and the scene it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file, for games of several files (ChoiceScript scenes, the annotation sidecar).
    pub file: Option<String>,
    /// 1-based line.
    pub line: usize,
    /// Scene id, if the problem is inside one.
    pub scene: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at a line of a named file.
    pub fn in_file(file: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        Self { file: Some(file.into()), line, scene: None, message: message.into() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, &self.scene) {
            (Some(file), _) => write!(f, "{file}:{}: {}", self.line, self.message),
            (None, Some(s)) => write!(f, "line {}: scene `{s}`: {}", self.line, self.message),
            (None, None) => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Comparison in a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// One `variable op number` test.
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    /// Variable index.
    pub var: usize,
    /// Comparison.
    pub op: Op,
    /// Right-hand side.
    pub value: f64,
}

impl Clause {
    /// Whether the clause holds for these variable values.
    pub fn holds(&self, vars: &[f64]) -> bool {
        let x = vars[self.var];
        match self.op {
            Op::Lt => x < self.value,
            Op::Le => x <= self.value,
            Op::Gt => x > self.value,
            Op::Ge => x >= self.value,
            Op::Eq => x == self.value,
            Op::Ne => x != self.value,
        }
    }
}

/// Whether, whatever values the variables hold, at least one of these conditions holds (an empty
/// condition always does). A comparison's truth only changes at its number, so it is enough to try
/// every number the conditions name, a value between each two, and one beyond each end, for every
/// variable they read together. Past 100,000 such states the answer is a conservative `false`.
fn always_one_holds(conditions: &[&[Clause]]) -> bool {
    if conditions.iter().any(|c| c.is_empty()) {
        return true;
    }
    let mut vars: Vec<usize> = conditions.iter().flat_map(|c| c.iter().map(|k| k.var)).collect();
    vars.sort_unstable();
    vars.dedup();
    let points: Vec<Vec<f64>> = vars
        .iter()
        .map(|&v| {
            let mut t: Vec<f64> =
                conditions.iter().flat_map(|c| c.iter()).filter(|k| k.var == v).map(|k| k.value).collect();
            t.sort_by(f64::total_cmp);
            t.dedup();
            let mut p = vec![t[0] - 1.0, t[t.len() - 1] + 1.0];
            p.extend(t.windows(2).map(|w| (w[0] + w[1]) / 2.0));
            p.extend(t);
            p
        })
        .collect();
    if points.iter().try_fold(1usize, |n, p| n.checked_mul(p.len()).filter(|&n| n <= 100_000)).is_none() {
        return false;
    }
    let mut values = vec![0.0; vars.iter().max().map_or(0, |&m| m + 1)];
    let mut digit = vec![0usize; vars.len()];
    loop {
        for (i, &v) in vars.iter().enumerate() {
            values[v] = points[i][digit[i]];
        }
        if !conditions.iter().any(|c| c.iter().all(|k| k.holds(&values))) {
            return false;
        }
        // the next state, as a mixed-radix counter
        let mut i = 0;
        loop {
            if i == digit.len() {
                return true;
            }
            digit[i] += 1;
            if digit[i] < points[i].len() {
                break;
            }
            digit[i] = 0;
            i += 1;
        }
    }
}

/// A declared achievement.
#[derive(Clone, Debug, PartialEq)]
pub struct Achievement {
    /// Identifier.
    pub id: String,
    /// Points (the reward when unlocked).
    pub points: f64,
    /// Title.
    pub title: String,
    /// One sentence.
    pub description: String,
}

/// A choice, with names resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// What the player reads.
    pub text: String,
    /// Scene it leads to.
    pub goto: usize,
    /// All clauses must hold for the choice to be offered.
    pub condition: Vec<Clause>,
    /// Variables set.
    pub set: Vec<(usize, f64)>,
    /// Variables increased.
    pub add: Vec<(usize, f64)>,
    /// Achievements unlocked.
    pub achievements: Vec<usize>,
    /// Annotation of taking the choice.
    pub annotation: Annotation,
}

/// A scene, with names resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    /// Identifier.
    pub id: String,
    /// Narration.
    pub text: String,
    /// Choices (empty for `next` scenes and endings).
    pub choices: Vec<Choice>,
    /// Scene that follows by itself.
    pub next: Option<usize>,
    /// Whether the story ends here.
    pub ending: bool,
    /// Achievements unlocked on arrival.
    pub achievements: Vec<usize>,
    /// Annotation of the scene.
    pub annotation: Annotation,
    /// Variables set on arrival.
    pub set: Vec<(usize, f64)>,
    /// Variables increased on arrival.
    pub add: Vec<(usize, f64)>,
}

/// A valid story, ready to play.
#[derive(Clone, Debug, PartialEq)]
pub struct Story {
    /// Title.
    pub title: String,
    /// Setting in a few words.
    pub setting: String,
    /// A line about the game.
    pub about: String,
    /// Scenes (index 0 is not special; `start` is).
    pub scenes: Vec<Scene>,
    /// First scene.
    pub start: usize,
    /// Variable names and start values.
    pub variables: Vec<(String, f64)>,
    /// Achievements.
    pub achievements: Vec<Achievement>,
}

/// An invalid story: every problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoryError {
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for StoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(|p| p.to_string()).collect();
        write!(f, "invalid story ({} problems):\n{}", self.problems.len(), lines.join("\n"))
    }
}

impl std::error::Error for StoryError {}

/// Line numbers of byte offsets in a text: the offsets of its line starts, searched in
/// O(log n), so that reporting every problem of a file stays n log n.
pub(crate) struct Lines(Vec<usize>);

impl Lines {
    pub(crate) fn new(text: &str) -> Self {
        Self(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i).collect())
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&nl| nl < offset) + 1
    }
}

fn parse_condition(src: &str, vars: &HashMap<&str, usize>) -> Result<Vec<Clause>, String> {
    let mut out = Vec::new();
    for part in src.split(" and ") {
        let tokens: Vec<&str> = part.split_whitespace().collect();
        let [name, op, value] = tokens[..] else {
            return Err(format!("condition `{src}`: each clause must read `variable op number`, joined by `and`"));
        };
        let var = *vars.get(name).ok_or_else(|| format!("condition `{src}` uses undeclared variable `{name}`"))?;
        let op = match op {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            _ => return Err(format!("condition `{src}`: unknown comparison `{op}` (use < <= > >= == !=)")),
        };
        let value = value.parse::<f64>().map_err(|_| format!("condition `{src}`: `{value}` is not a number"))?;
        out.push(Clause { var, op, value });
    }
    Ok(out)
}

/// Resolves `set`/`add` effects to variable indices, reporting undeclared variables.
fn effects(
    map: &BTreeMap<String, f64>,
    what: &str,
    vars: &HashMap<&str, usize>,
    report: &mut dyn FnMut(String),
) -> Vec<(usize, f64)> {
    map.iter()
        .filter_map(|(k, v)| match vars.get(k.as_str()) {
            Some(&i) => Some((i, *v)),
            None => {
                report(format!("`{what}` changes undeclared variable `{k}`"));
                None
            }
        })
        .collect()
}

impl Story {
    /// Parses and validates a story file; the error lists every problem with its line.
    pub fn parse(text: &str) -> Result<Story, StoryError> {
        let lines = Lines::new(text);
        let file: StoryFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| lines.line(s.start));
            StoryError {
                problems: vec![Problem { file: None, line, scene: None, message: e.message().trim().to_string() }],
            }
        })?;
        let mut problems = Vec::new();
        let mut push = |line: usize, scene: Option<&str>, message: String| {
            problems.push(Problem { file: None, line, scene: scene.map(String::from), message })
        };

        let variables: Vec<(String, f64)> = file.variables.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let var_index: HashMap<&str, usize> = variables.iter().enumerate().map(|(i, (k, _))| (k.as_str(), i)).collect();
        let scene_index: HashMap<&str, usize> = file.scenes.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        let mut ach_index: HashMap<&str, usize> = HashMap::new();
        let mut achievements = Vec::new();
        for a in &file.achievements {
            let line = lines.line(a.span().start);
            let a = a.get_ref();
            if ach_index.insert(a.id.as_str(), achievements.len()).is_some() {
                push(line, None, format!("achievement `{}` is declared twice", a.id));
            }
            if !(a.points.is_finite() && a.points >= 0.0) {
                push(line, None, format!("achievement `{}` has points {}; points must be >= 0", a.id, a.points));
            }
            achievements.push(Achievement {
                id: a.id.clone(),
                points: a.points,
                title: a.title.clone(),
                description: a.description.clone(),
            });
        }
        let mut unlocked_somewhere = vec![false; achievements.len()];
        let start = match scene_index.get(file.start.get_ref().as_str()) {
            Some(&s) => s,
            None => {
                push(
                    lines.line(file.start.span().start),
                    None,
                    format!("start scene `{}` does not exist", file.start.get_ref()),
                );
                0
            }
        };
        let mut scenes = Vec::with_capacity(file.scenes.len());
        for (id, def) in &file.scenes {
            let line = lines.line(def.span().start);
            let d = def.get_ref();
            let sid = Some(id.as_str());
            let mut resolve_achievements =
                |names: &[String], line: usize, push: &mut dyn FnMut(usize, Option<&str>, String)| -> Vec<usize> {
                    names
                        .iter()
                        .filter_map(|n| match ach_index.get(n.as_str()) {
                            Some(&i) => {
                                unlocked_somewhere[i] = true;
                                Some(i)
                            }
                            None => {
                                push(line, sid, format!("unknown achievement `{n}`"));
                                None
                            }
                        })
                        .collect()
                };
            if d.text.trim().is_empty() {
                push(line, sid, "has no text".into());
            }
            for m in d.annotation.problems() {
                push(line, sid, format!("annotation: {m}"));
            }
            let scene_achievements = resolve_achievements(&d.achievements, line, &mut push);
            let scene_set = effects(&d.set, "set", &var_index, &mut |m| push(line, sid, m));
            let scene_add = effects(&d.add, "add", &var_index, &mut |m| push(line, sid, m));
            let next = d.next.as_ref().and_then(|n| match scene_index.get(n.as_str()) {
                Some(&i) => Some(i),
                None => {
                    push(line, sid, format!("`next` leads to `{n}`, which does not exist"));
                    None
                }
            });
            let ways = [!d.choices.is_empty(), d.next.is_some(), d.ending].iter().filter(|&&b| b).count();
            if ways == 0 {
                push(line, sid, "has no way out: give it choices, `next`, or `ending = true`".into());
            } else if ways > 1 {
                push(line, sid, "must have exactly one of choices, `next`, or `ending = true`".into());
            }
            let mut choices = Vec::with_capacity(d.choices.len());
            for c in &d.choices {
                let cline = lines.line(c.span().start);
                let c = c.get_ref();
                if c.text.trim().is_empty() {
                    push(cline, sid, "a choice has no text".into());
                }
                let goto = match scene_index.get(c.goto.as_str()) {
                    Some(&g) => g,
                    None => {
                        push(cline, sid, format!("choice \"{}\" leads to `{}`, which does not exist", c.text, c.goto));
                        0
                    }
                };
                let condition = match &c.condition {
                    None => Vec::new(),
                    Some(src) => parse_condition(src, &var_index).unwrap_or_else(|m| {
                        push(cline, sid, m);
                        Vec::new()
                    }),
                };
                let set = effects(&c.set, "set", &var_index, &mut |m| push(cline, sid, m));
                let add = effects(&c.add, "add", &var_index, &mut |m| push(cline, sid, m));
                for m in c.annotation.problems() {
                    push(cline, sid, format!("annotation of choice \"{}\": {m}", c.text));
                }
                let achievements = resolve_achievements(&c.achievements, cline, &mut push);
                choices.push(Choice {
                    text: c.text.clone(),
                    goto,
                    condition,
                    set,
                    add,
                    achievements,
                    annotation: c.annotation.clone(),
                });
            }
            let conditions: Vec<&[Clause]> = choices.iter().map(|c| c.condition.as_slice()).collect();
            if !choices.is_empty() && !always_one_holds(&conditions) {
                push(
                    line,
                    sid,
                    "has no way out when every condition fails: give one choice no `if`, or conditions that \
                     cover every value"
                        .into(),
                );
            }
            scenes.push(Scene {
                id: id.clone(),
                text: d.text.trim().to_string(),
                choices,
                next,
                ending: d.ending,
                achievements: scene_achievements,
                annotation: d.annotation.clone(),
                set: scene_set,
                add: scene_add,
            });
        }
        for (i, a) in achievements.iter().enumerate() {
            if !unlocked_somewhere[i] {
                let line = lines.line(file.achievements[i].span().start);
                push(line, None, format!("achievement `{}` is never unlocked", a.id));
            }
        }
        let story = Story {
            title: file.title,
            setting: file.setting,
            about: file.about,
            scenes,
            start,
            variables,
            achievements,
        };
        // Reachability (ignoring conditions), endings, and `next` cycles.
        if problems.is_empty() {
            let reach = story.reachable();
            for (i, s) in story.scenes.iter().enumerate() {
                if !reach[i] {
                    let line = lines.line(file.scenes[&s.id].span().start);
                    problems.push(Problem {
                        file: None,
                        line,
                        scene: Some(s.id.clone()),
                        message: "is unreachable from the start".into(),
                    });
                }
            }
            if !story.scenes.iter().enumerate().any(|(i, s)| reach[i] && s.ending) {
                problems.push(Problem { file: None, line: 1, scene: None, message: "no ending can be reached".into() });
            }
            // `next` links form chains; walk each once, marking scenes done (2) or on the walk
            // in progress (1): meeting a 1 is a loop. Linear in the number of scenes.
            let mut state = vec![0u8; story.scenes.len()];
            for i in 0..story.scenes.len() {
                let mut walk = Vec::new();
                let mut cur = Some(i);
                while let Some(c) = cur {
                    match state[c] {
                        0 => {
                            state[c] = 1;
                            walk.push(c);
                            cur = story.scenes[c].next;
                        }
                        1 => {
                            let s = &story.scenes[c];
                            problems.push(Problem {
                                file: None,
                                line: lines.line(file.scenes[&s.id].span().start),
                                scene: Some(s.id.clone()),
                                message: "its `next` chain loops forever".into(),
                            });
                            break;
                        }
                        _ => break,
                    }
                }
                for w in walk {
                    state[w] = 2;
                }
            }
        }
        problems.sort_by_key(|p| p.line);
        if problems.is_empty() { Ok(story) } else { Err(StoryError { problems }) }
    }

    /// Which scenes can be reached from the start, ignoring conditions.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.scenes.len()];
        let mut queue = VecDeque::from([self.start]);
        seen[self.start] = true;
        while let Some(s) = queue.pop_front() {
            let scene = &self.scenes[s];
            for t in scene.choices.iter().map(|c| c.goto).chain(scene.next) {
                if !seen[t] {
                    seen[t] = true;
                    queue.push_back(t);
                }
            }
        }
        seen
    }

    /// Points of all achievements (the denominator of "achievements %"); 0, not -0, for none.
    pub fn max_points(&self) -> f64 {
        self.achievements.iter().fold(0.0, |sum, a| sum + a.points)
    }

    /// Index of a scene id.
    pub fn scene_index(&self, id: &str) -> Option<usize> {
        self.scenes.iter().position(|s| s.id == id)
    }
}
