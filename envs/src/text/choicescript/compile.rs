//! Compiling scene files: lines to an indentation tree, the tree to operations with resolved
//! jumps and variable slots. One pass over each file plus one over the fix-ups: linear in the size
//! of the game.

use std::collections::{BTreeMap, HashMap};

use super::expr::{self, BinOp, Expr, Func, Interp, Names, Slot, Value};
use super::{Game, Op, Opt, RandomScene, Reuse, Scene, SceneNames, Target};
use crate::text::story::{Achievement, Problem};

/// Deepest block nesting accepted (the same bound as brackets in expressions); deeper is refused
/// rather than risk the stack.
const MAX_DEPTH: usize = expr::MAX_DEPTH;

/// Commands that change nothing in play: accepted (with any indented block under them) and
/// skipped.
const DISPLAY_ONLY: &[&str] = &[
    "title",
    "author",
    "comment",
    "image",
    "text_image",
    "sound",
    "stat_chart",
    "ifid",
    "looplimit",
    "share_this_game",
    "more_games",
    "advertisement",
    "save_checkpoint",
    "restore_checkpoint",
    "check_achievements",
    "timer",
    "delay_break",
    "feedback",
    // a form (mailing list, account) the player fills in or dismisses; play goes on after it
    "subscribe",
    "login",
    "track_event",
    "check_purchase",
    "purchase",
    "product",
    "purchase_discount",
    "restore_purchases",
    "check_registration",
    "scene_list",
    "achievement",
];

/// Commands the reference allows only at the top of startup.txt, before any other command runs.
const INITIAL: &[&str] = &["create", "create_array", "scene_list", "title", "author", "achievement", "product", "ifid"];

/// Real commands moralgym does not play: a game using one is refused, never mis-played.
const UNSUPPORTED: &[&str] =
    &["script", "save_game", "restore_game", "abort", "config", "redirect_scene", "show_password", "end_trial"];

struct Node<'a> {
    line: u32,
    text: &'a str,
    /// Whether the line had spaces after its text (a line ending in "- " is not joined to the
    /// next without a space).
    spaced: bool,
    /// Whether the line is indented deeper than the line before it, which opens no block (the
    /// reference stops there: "increasing indent not allowed").
    stray: bool,
    children: Vec<Node<'a>>,
}

impl Node<'_> {
    fn blank(&self) -> bool {
        self.text.is_empty()
    }

    /// The command name (lower case) and its arguments, for a `*command` line.
    fn command(&self) -> Option<(String, &str)> {
        let (name, args) = command_split(self.text.strip_prefix('*')?);
        // `***` and the like are narration: a command name has at least one word character.
        (!name.is_empty()).then(|| (name, args.trim()))
    }
}

/// A command's name and the rest of its line. The name is the word characters after the `*`, as
/// the reference interpreter reads it, so punctuation may follow with no space: `*if(x = 1)`,
/// `*page_break.`.
fn command_split(rest: &str) -> (String, &str) {
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    (rest[..end].to_lowercase(), &rest[end..])
}

struct Line<'a> {
    no: u32,
    indent: usize,
    text: &'a str,
    spaced: bool,
}

/// Splits a file into an indentation tree, reporting mixed or stray indentation.
fn tree<'a>(file: &str, src: &'a str, problems: &mut Vec<Problem>) -> Vec<Node<'a>> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut lines = Vec::new();
    let mut indent_char = None;
    for (k, raw) in src.lines().enumerate() {
        let no = k as u32 + 1;
        let body = raw.trim_start_matches([' ', '\t']);
        let lead = &raw[..raw.len() - body.len()];
        let text = body.trim_end();
        if !text.is_empty() && !lead.is_empty() {
            let first = lead.chars().next();
            if lead.chars().any(|c| Some(c) != first) {
                problems.push(Problem::in_file(file, no as usize, "indentation mixes tabs and spaces"));
            } else if indent_char.is_some_and(|c| Some(c) != first) {
                problems.push(Problem::in_file(
                    file,
                    no as usize,
                    "indentation uses tabs here and spaces elsewhere in the file (or the reverse)",
                ));
            }
            indent_char = indent_char.or(first);
        }
        lines.push(Line { no, indent: lead.chars().count(), text, spaced: text.len() < body.len() });
    }
    block(&lines, &mut 0, 0, 0, file, problems)
}

fn block<'a>(
    lines: &[Line<'a>],
    i: &mut usize,
    indent: usize,
    depth: usize,
    file: &str,
    problems: &mut Vec<Problem>,
) -> Vec<Node<'a>> {
    let mut out: Vec<Node<'a>> = Vec::new();
    while *i < lines.len() {
        let l = &lines[*i];
        if l.text.is_empty() {
            out.push(Node { line: l.no, text: "", spaced: false, stray: false, children: Vec::new() });
            *i += 1;
            continue;
        }
        if l.indent < indent {
            break;
        }
        if l.indent > indent {
            if depth >= MAX_DEPTH {
                problems.push(Problem::in_file(
                    file,
                    l.no as usize,
                    format!("blocks nest deeper than {MAX_DEPTH} levels"),
                ));
                *i += 1;
                continue;
            }
            // The reference runs lines in order and reads indentation as it goes: a line that
            // steps back to an intermediate depth continues the block above it; a line indented
            // deeper than a line that opens no block is an error where play reaches it (indented
            // `*comment`s excepted); the first lines of a file may be indented.
            let mut kids = block(lines, i, l.indent, depth + 1, file, problems);
            match out.iter_mut().rev().find(|n| !n.blank()) {
                Some(n) if opens_block(n.text) => n.children.extend(kids),
                above => {
                    if above.is_some()
                        && let Some(k) = kids.iter_mut().find(|k| !k.blank() && !is_comment(k.text))
                    {
                        k.stray = true;
                    }
                    out.extend(kids);
                }
            }
            continue;
        }
        out.push(Node { line: l.no, text: l.text, spaced: l.spaced, stray: false, children: Vec::new() });
        *i += 1;
    }
    out
}

fn is_comment(text: &str) -> bool {
    text.strip_prefix('*').is_some_and(|rest| command_split(rest).0 == "comment")
}

/// Whether a line owns the indented lines below it: an option, or a command that the reference
/// reads its block for (a choice, a condition, a list).
fn opens_block(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('*') else { return text.starts_with('#') };
    matches!(
        command_split(rest).0.as_str(),
        "choice"
            | "fake_choice"
            | "if"
            | "elseif"
            | "elsif"
            | "else"
            | "selectable_if"
            | "hide_reuse"
            | "disable_reuse"
            | "allow_reuse"
            | "scene_list"
            | "achievement"
            | "stat_chart"
            | "goto_random_scene"
    )
}

/// What every scene shares while compiling.
struct Shared<'f> {
    files: &'f BTreeMap<String, String>,
    scene_names: Vec<String>,
    scene_index: HashMap<String, u32>,
    global_index: HashMap<String, u32>,
    options: Vec<Opt>,
    achievement_index: HashMap<String, u32>,
    achieved: Vec<bool>,
    /// (scene, op, target scene, label, line): `*goto_scene` / `*gosub_scene` targets.
    scene_fixups: Vec<(u32, usize, u32, Option<String>, u32)>,
    /// First reference to each scene: (file, line).
    first_ref: Vec<Option<(String, u32)>>,
    implicit: bool,
    problems: Vec<Problem>,
    /// Problems play reports only if it reaches them (the reference's behaviour).
    warnings: Vec<Problem>,
    /// The globals each `*create` / `*create_array` line of startup declares, by line.
    created_by_line: HashMap<u32, Vec<u32>>,
}

impl Shared<'_> {
    fn scene(&mut self, name: &str, file: &str, line: u32) -> u32 {
        // Scene names are case-sensitive, as the reference reads its files by the name as written.
        let name = name.to_string();
        if let Some(&k) = self.scene_index.get(&name) {
            return k;
        }
        let k = self.scene_names.len() as u32;
        self.scene_index.insert(name.clone(), k);
        self.scene_names.push(name);
        self.first_ref.push(Some((file.to_string(), line)));
        k
    }
}

fn literal(src: &str) -> Result<Value, String> {
    struct None_;
    impl Names for None_ {
        fn resolve(&self, _: &str) -> Option<Slot> {
            None
        }
    }
    match expr::parse_expr(src, &None_) {
        Ok(Expr::Lit(v)) => Ok(v),
        Ok(_) => Err(format!("`{src}` must be a number, a \"string\", true or false")),
        Err(m) if m.contains("unknown variable") => {
            Err(format!("`{src}` must be a number, a \"string\", true or false"))
        }
        Err(m) => Err(m),
    }
}

/// Reads startup's declarations: globals, arrays, achievements, the scene list, the title.
struct Header {
    title: String,
    author: String,
    globals: Vec<(String, Value)>,
    achievements: Vec<Achievement>,
    /// Scene names with the line that lists them.
    scene_list: Vec<(String, u32)>,
}

fn header(nodes: &[Node], sh: &mut Shared) -> Header {
    let mut h = Header {
        title: String::new(),
        author: String::new(),
        globals: Vec::new(),
        achievements: Vec::new(),
        scene_list: Vec::new(),
    };
    let file = "startup.txt";
    for n in nodes {
        let Some((name, args)) = n.command() else { continue };
        let line = n.line as usize;
        let mut problem = |m: String| sh.problems.push(Problem::in_file(file, line, m));
        let mut declare = |name: String, value: Value, problem: &mut dyn FnMut(String)| {
            if sh.global_index.contains_key(&name) {
                problem(format!("`{name}` is created twice"));
            } else {
                let g = h.globals.len() as u32;
                sh.global_index.insert(name.clone(), g);
                sh.created_by_line.entry(n.line).or_default().push(g);
                h.globals.push((name, value));
            }
        };
        match name.as_str() {
            "title" => h.title = args.to_string(),
            "author" => h.author = args.to_string(),
            "create" => {
                let (var, value) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
                let var = var.to_lowercase();
                if !valid_name(&var) {
                    problem(format!("`*create {args}`: `{var}` is not a variable name"));
                    continue;
                }
                match literal(value.trim()) {
                    Ok(v) => {
                        if var == "implicit_control_flow" {
                            sh.implicit = v == Value::Bool(true);
                        }
                        declare(var, v, &mut problem);
                    }
                    Err(m) => problem(format!("`*create {var}`: {m}")),
                }
            }
            "create_array" => match array(args) {
                Ok((base, values)) => {
                    let n = values.len();
                    for (k, v) in values.into_iter().enumerate() {
                        declare(format!("{base}_{}", k + 1), v, &mut problem);
                    }
                    declare(format!("{base}_count"), Value::Num(n as f64), &mut problem);
                }
                Err(m) => problem(format!("`*create_array`: {m}")),
            },
            "achievement" => match achievement(args, &n.children) {
                Ok(a) => {
                    if sh.achievement_index.insert(a.id.clone(), h.achievements.len() as u32).is_some() {
                        problem(format!("achievement `{}` is declared twice", a.id));
                    }
                    h.achievements.push(a);
                }
                Err(m) => problem(format!("`*achievement`: {m}")),
            },
            "scene_list" => {
                for c in n.children.iter().filter(|c| !c.blank()) {
                    let s = c.text.trim_start_matches('$').trim();
                    if !valid_scene(s) {
                        sh.problems.push(Problem::in_file(file, c.line as usize, format!("`{s}` is not a scene name")));
                    } else {
                        h.scene_list.push((s.to_string(), c.line));
                    }
                }
            }
            _ => {}
        }
    }
    h
}

/// A label: any word without spaces (the reference takes `nowwhat?`, `1`, `C.T`, `YES/NO`).
fn valid_label(s: &str) -> bool {
    !s.is_empty() && !s.contains(char::is_whitespace)
}

/// A scene name: a label that can name a file in the game's folder (`1-thunderstorm`, no path
/// separator).
fn valid_scene(s: &str) -> bool {
    valid_label(s) && !s.contains(['/', '\\'])
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_') && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// `name n v1 .. vn` or `name n v` (every element v).
fn array(args: &str) -> Result<(String, Vec<Value>), String> {
    let terms = expr::split_terms(args)?;
    let [base, n, values @ ..] = terms.as_slice() else {
        return Err("write `name size value...`".into());
    };
    let base = base.to_lowercase();
    if !valid_name(&base) {
        return Err(format!("`{base}` is not a variable name"));
    }
    let n = n
        .parse::<usize>()
        .ok()
        .filter(|&n| (1..=10_000).contains(&n))
        .ok_or(format!("size `{n}` must be 1 to 10000"))?;
    let values: Vec<Value> = values.iter().map(|v| literal(v)).collect::<Result<_, _>>()?;
    match values.len() {
        1 => Ok((base, vec![values[0].clone(); n])),
        k if k == n => Ok((base, values)),
        k => Err(format!("{n} elements but {k} values: give one value for all, or one per element")),
    }
}

fn achievement(args: &str, children: &[Node]) -> Result<Achievement, String> {
    let mut parts = args.split_whitespace();
    let (Some(id), Some(vis), Some(points)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("write `*achievement id visible|hidden points Title`".into());
    };
    let title: Vec<&str> = parts.collect();
    if vis != "visible" && vis != "hidden" {
        return Err(format!("`{vis}` must be `visible` or `hidden`"));
    }
    let points = points
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or(format!("points `{points}` must be a number >= 0"))?;
    let lines: Vec<&str> = children.iter().filter(|c| !c.blank()).map(|c| c.text).collect();
    // The description after unlocking defaults to the one before, as in the reference.
    let (before, after) = match lines[..] {
        [before] => (before, before),
        [before, after] => (before, after),
        _ => {
            return Err(format!(
                "`{id}` needs one or two indented lines, the description before and after it is unlocked; found {}",
                lines.len()
            ));
        }
    };
    if vis == "hidden" && before != "hidden" {
        return Err(format!("hidden achievement `{id}`: its first description line must be `hidden`"));
    }
    Ok(Achievement { id: id.to_lowercase(), points, title: title.join(" "), description: after.to_string() })
}

/// Collects the temps a scene declares anywhere (`*temp`, `*temp_array`, `*params`).
fn temps(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        if let Some((name, args)) = n.command() {
            let first = args.split_whitespace().next().unwrap_or("").to_lowercase();
            match name.as_str() {
                "temp" if valid_name(&first) => out.push(first),
                "temp_array" => {
                    if let Ok((base, values)) = array(args) {
                        out.extend((1..=values.len()).map(|k| format!("{base}_{k}")));
                        out.push(format!("{base}_count"));
                    }
                }
                "params" => out.extend(args.split_whitespace().map(str::to_lowercase).filter(|p| valid_name(p))),
                _ => {}
            }
        }
        temps(&n.children, out);
    }
}

/// An option gathered from a `*choice` block, before its body is compiled.
struct Pending<'n> {
    line: u32,
    text: Interp,
    visible: Option<Expr>,
    selectable: Option<Expr>,
    reuse: Reuse,
    body: &'n [Node<'n>],
}

struct SceneCompiler<'s, 'f> {
    sh: &'s mut Shared<'f>,
    scene: u32,
    file: String,
    ops: Vec<Op>,
    lines: Vec<u32>,
    labels: HashMap<String, u32>,
    gotos: Vec<(usize, String, u32)>,
    temp_index: HashMap<String, u32>,
    reuse: Reuse,
    /// Whether only startup's initial commands have come so far.
    initial: bool,
}

fn and(a: Option<Expr>, b: Expr) -> Expr {
    match a {
        None => b,
        Some(a) => Expr::Bin(BinOp::And, Box::new(a), Box::new(b)),
    }
}

fn both(a: Option<Expr>, b: Option<Expr>) -> Option<Expr> {
    match b {
        None => a,
        Some(b) => Some(and(a, b)),
    }
}

/// `a / b`, adjacent literal text merged (so a path of literal options stays literal).
fn joined(a: &Interp, b: &Interp) -> Interp {
    let mut pieces = a.0.clone();
    for piece in std::iter::once(expr::Piece::Lit(" / ".into())).chain(b.0.iter().cloned()) {
        match (pieces.last_mut(), piece) {
            (Some(expr::Piece::Lit(last)), expr::Piece::Lit(more)) => last.push_str(&more),
            (_, piece) => pieces.push(piece),
        }
    }
    Interp(pieces)
}

fn not(e: Expr) -> Expr {
    Expr::Call(Func::Not, Box::new(e))
}

/// Position of the option text (`#`) or the next prefix command (` *`) in an option line's
/// arguments, outside brackets and strings.
fn option_split(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut prev = ' ';
    for (k, c) in s.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '(' | '[' | '{' if !in_str => depth += 1,
            ')' | ']' | '}' if !in_str => depth -= 1,
            '#' if !in_str && depth == 0 => return Some(k),
            '*' if !in_str && depth == 0 && prev.is_whitespace() && s[k + 1..].starts_with(char::is_alphabetic) => {
                return Some(k);
            }
            _ => {}
        }
        prev = c;
    }
    None
}

impl SceneCompiler<'_, '_> {
    fn problem(&mut self, line: u32, message: impl Into<String>) {
        self.sh.problems.push(Problem::in_file(self.file.clone(), line as usize, message));
    }

    fn emit(&mut self, op: Op, line: u32) -> usize {
        self.ops.push(op);
        self.lines.push(line);
        self.ops.len() - 1
    }

    fn names(&self) -> SceneNames<'_> {
        SceneNames { temps: &self.temp_index, globals: &self.sh.global_index }
    }

    fn expr(&mut self, src: &str, line: u32) -> Option<Expr> {
        if src.trim().is_empty() {
            self.problem(line, "an expression is missing");
            return None;
        }
        expr::parse_expr(src, &self.names()).map_err(|m| self.problem(line, m)).ok()
    }

    fn interp(&mut self, src: &str, line: u32) -> Interp {
        expr::parse_interp(src, &self.names()).unwrap_or_else(|m| {
            self.problem(line, m);
            Interp::default()
        })
    }

    fn target(&mut self, src: &str, line: u32, what: &str) -> Option<(Target, Expr)> {
        let e = self.expr(src, line)?;
        match &e {
            Expr::Var(slot @ (Slot::Global(_) | Slot::Temp(_))) => Some((Target::Slot(*slot), e)),
            Expr::Index(..) | Expr::Ref(_) => Some((Target::Dynamic(e.clone()), e)),
            _ => {
                self.problem(line, format!("`{what}` needs a variable to write, not `{src}`"));
                None
            }
        }
    }

    fn terms(&mut self, args: &str, line: u32) -> Vec<String> {
        expr::split_terms(args).unwrap_or_else(|m| {
            self.problem(line, m);
            Vec::new()
        })
    }

    /// Moves the problems found since `since` to the game's warnings and returns the first: the
    /// reference reports them only when play reaches the line, so moralgym does too.
    fn defer(&mut self, since: usize) -> Option<String> {
        let moved: Vec<Problem> = self.sh.problems.drain(since..).collect();
        let first = moved.first().map(|p| p.message.clone());
        self.sh.warnings.extend(moved);
        first
    }

    /// A problem that play reports when it reaches this place.
    fn runtime_error(&mut self, line: u32, message: String) {
        self.sh.warnings.push(Problem::in_file(self.file.clone(), line as usize, message.clone()));
        self.emit(Op::Error(message), line);
    }

    /// Compiles a block; returns whether play can fall out of its end.
    fn block(&mut self, nodes: &[Node]) -> bool {
        let mut falls = true;
        let mut i = 0;
        while i < nodes.len() {
            let n = &nodes[i];
            i += 1;
            if n.blank() {
                self.emit(Op::Para, n.line);
                continue;
            }
            if n.stray {
                let m = "increasing indent not allowed: this line is indented deeper than the line before it, which opens no block".to_string();
                self.runtime_error(n.line, m);
            }
            let command = n.command();
            if command.as_ref().is_some_and(|(c, _)| c == "if") {
                let (f, used) = self.if_chain(&nodes[i - 1..]);
                falls = f;
                i += used - 1;
                continue;
            }
            // A line with a problem compiles to an error where it stands (label problems excepted:
            // the reference refuses those when it loads the scene).
            let since = (self.sh.problems.len(), self.ops.len(), self.gotos.len(), self.sh.scene_fixups.len());
            let f = match &command {
                None if n.text.starts_with('#') => {
                    self.problem(
                        n.line,
                        "play runs into an #option outside a *choice (an option above falls out of its block?)",
                    );
                    None
                }
                None => {
                    let t = if n.spaced && super::run::ends_in_dash(n.text) {
                        self.interp(&format!("{} ", n.text), n.line)
                    } else {
                        self.interp(n.text, n.line)
                    };
                    self.emit(Op::Text(t), n.line);
                    Some(true)
                }
                Some((name, args)) => self.command(n, name, args),
            };
            if command.as_ref().is_some_and(|(c, _)| c == "label") {
                falls = true;
                continue;
            }
            match self.defer(since.0) {
                Some(m) => {
                    self.ops.truncate(since.1);
                    self.lines.truncate(since.1);
                    self.gotos.truncate(since.2);
                    self.sh.scene_fixups.truncate(since.3);
                    self.emit(Op::Error(m), n.line);
                    falls = false;
                }
                None => falls = f.unwrap_or(falls),
            }
        }
        falls
    }

    fn no_block(&mut self, n: &Node, name: &str) {
        if !n.children.is_empty() {
            self.problem(n.line, format!("`*{name}` cannot open an indented block"));
        }
    }

    /// One command; `Some(falls)`, or `None` for commands that leave the flow as it was.
    fn command(&mut self, n: &Node, name: &str, args: &str) -> Option<bool> {
        let line = n.line;
        if !matches!(name, "choice" | "fake_choice" | "elseif" | "elsif" | "else" | "goto_random_scene")
            && !DISPLAY_ONLY.contains(&name)
        {
            self.no_block(n, name);
        }
        if INITIAL.contains(&name) {
            if !self.initial {
                self.problem(
                    line,
                    format!("`*{name}` is allowed only at the top of startup.txt, before other commands"),
                );
                return None;
            }
        } else if name != "comment" {
            self.initial = false;
        }
        match name {
            "choice" | "fake_choice" => return Some(self.choice(n, name == "fake_choice", args)),
            "elseif" | "elsif" | "else" => self.problem(line, format!("`*{name}` without an `*if` before it")),
            "label" => {
                let label = args.to_lowercase();
                if !valid_label(&label) {
                    self.problem(line, format!("`*label {args}`: not a label name"));
                }
                let pc = self.emit(Op::Nop, line) as u32;
                if self.labels.insert(label.clone(), pc).is_some() {
                    self.problem(line, format!("label `{label}` is defined twice"));
                }
                return Some(true);
            }
            "goto" => {
                let pc = self.emit(Op::Jump(0), line);
                self.gotos.push((pc, args.to_lowercase(), line));
                return Some(false);
            }
            "gotoref" => {
                let e = self.expr(args, line)?;
                self.emit(Op::GotoRef(e), line);
                return Some(false);
            }
            "gosub" => {
                let terms = self.terms(args, line);
                let Some(label) = terms.first() else {
                    self.problem(line, "`*gosub` needs a label");
                    return None;
                };
                let label = label.to_lowercase();
                let call_args = terms[1..].iter().filter_map(|a| self.expr(a, line)).collect();
                let pc = self.emit(Op::Gosub(0, call_args), line);
                self.gotos.push((pc, label, line));
            }
            "goto_scene" | "gosub_scene" => {
                let terms = self.terms(args, line);
                let Some(scene) = terms.first() else {
                    self.problem(line, format!("`*{name}` needs a scene"));
                    return None;
                };
                if !valid_scene(scene) {
                    self.problem(line, format!("`{scene}` is not a scene name"));
                    return None;
                }
                let target = self.sh.scene(scene, &self.file, line);
                let label = terms.get(1).map(|l| l.to_lowercase());
                if name == "goto_scene" {
                    if terms.len() > 2 {
                        self.problem(line, "`*goto_scene` takes a scene and at most a label");
                    }
                    let pc = self.emit(Op::GotoScene(target, 0), line);
                    self.sh.scene_fixups.push((self.scene, pc, target, label, line));
                    return Some(false);
                }
                let call_args = terms.iter().skip(2).filter_map(|a| self.expr(a, line)).collect();
                let pc = self.emit(Op::GosubScene(target, 0, call_args), line);
                self.sh.scene_fixups.push((self.scene, pc, target, label, line));
            }
            "params" => {
                let slots = args
                    .split_whitespace()
                    .filter_map(|p| match self.temp_index.get(&p.to_lowercase()) {
                        Some(&t) => Some(t),
                        None => {
                            self.problem(line, format!("`{p}` is not a parameter name"));
                            None
                        }
                    })
                    .collect();
                self.emit(Op::Params(slots), line);
            }
            "return" => {
                self.emit(Op::Return, line);
                return Some(false);
            }
            "finish" => {
                self.emit(Op::Finish, line);
                return Some(false);
            }
            "ending" => {
                self.emit(Op::Ending, line);
                return Some(false);
            }
            "set" => {
                let (first, rest) = expr::split_reference(args);
                let rest = rest.trim();
                if first.is_empty() {
                    self.problem(line, "`*set` needs a variable and a value");
                    return None;
                }
                let (target, current) = self.target(first, line, "*set")?;
                if rest.is_empty() {
                    self.problem(line, format!("`*set {first}` needs a value"));
                    return None;
                }
                match expr::parse_modifier(current, rest, &self.names()) {
                    Ok(v) => {
                        self.emit(Op::Set(target, v), line);
                    }
                    Err(m) => self.problem(line, m),
                }
            }
            "setref" => {
                let terms = self.terms(args, line);
                let [name_expr, value] = terms.as_slice() else {
                    self.problem(line, "`*setref` needs a name expression and a value");
                    return None;
                };
                let (a, b) = (self.expr(name_expr, line)?, self.expr(value, line)?);
                self.emit(Op::SetRef(a, b), line);
            }
            "temp" => {
                let (var, value) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
                let var = var.to_lowercase();
                let Some(&slot) = self.temp_index.get(&var) else {
                    self.problem(line, format!("`*temp {args}`: `{var}` is not a variable name"));
                    return None;
                };
                let value = if value.trim().is_empty() { None } else { Some(self.expr(value, line)?) };
                self.emit(Op::Temp(slot, value), line);
            }
            "temp_array" => match array(args) {
                Ok((base, values)) => {
                    let n = values.len();
                    for (k, v) in values.into_iter().enumerate() {
                        let slot = self.temp_index[&format!("{base}_{}", k + 1)];
                        self.emit(Op::Temp(slot, Some(Expr::Lit(v))), line);
                    }
                    let slot = self.temp_index[&format!("{base}_count")];
                    self.emit(Op::Temp(slot, Some(Expr::Lit(Value::Num(n as f64)))), line);
                }
                Err(m) => self.problem(line, format!("`*temp_array`: {m}")),
            },
            "create" | "create_array" => {
                // Startup sets its globals when it runs, so `*goto_scene startup` from another
                // scene starts them over (from startup itself it is an error, as in the reference).
                // The values are those the header read from this line.
                for g in self.sh.created_by_line.remove(&line).unwrap_or_default() {
                    self.emit(Op::Create(g), line);
                }
            }
            "goto_random_scene" => {
                let allow_all = args.split_whitespace().any(|a| a == "allow_reuse");
                let allow_none = args.split_whitespace().any(|a| a == "allow_no_selection");
                let mut scenes = Vec::new();
                for c in n.children.iter().filter(|c| !c.blank()) {
                    scenes.push(self.random_scene(c, allow_all)?);
                }
                if scenes.is_empty() {
                    self.problem(line, "`*goto_random_scene` needs an indented list of scenes");
                    return None;
                }
                self.emit(Op::GotoRandomScene(scenes, allow_none), line);
                return Some(allow_none);
            }
            "print" => {
                let e = self.expr(args, line)?;
                self.emit(Op::Print(e), line);
            }
            "link" => {
                // The reference prints the link's text (its address when it has none).
                let text = args
                    .split_once(char::is_whitespace)
                    .map_or(args, |(url, text)| if text.trim().is_empty() { url } else { text.trim() });
                let t = self.interp(text, line);
                self.emit(Op::Text(t), line);
            }
            "restart" | "delay_ending" => {
                // Both end the playthrough: a restart starts a new one, a delayed ending is an ending.
                self.emit(Op::Ending, line);
                return Some(false);
            }
            "reset" => {
                self.emit(Op::Reset, line);
            }
            "rand" => {
                let terms = self.terms(args, line);
                let [var, lo, hi] = terms.as_slice() else {
                    self.problem(line, "write `*rand variable min max`");
                    return None;
                };
                let (target, _) = self.target(var, line, "*rand")?;
                let (lo, hi) = (self.expr(lo, line)?, self.expr(hi, line)?);
                self.emit(Op::Rand(target, lo, hi), line);
            }
            "input_text" | "input_number" => {
                let terms = self.terms(args, line);
                let want = if name == "input_text" { 1 } else { 3 };
                if terms.len() != want {
                    let form = if want == 1 { "*input_text variable" } else { "*input_number variable min max" };
                    self.problem(line, format!("write `{form}`"));
                    return None;
                }
                let (target, _) = self.target(&terms[0], line, name)?;
                let range =
                    if want == 3 { Some((self.expr(&terms[1], line)?, self.expr(&terms[2], line)?)) } else { None };
                self.emit(Op::Input(target, terms[0].to_lowercase(), range), line);
            }
            "achieve" => {
                let id = args.to_lowercase();
                match self.sh.achievement_index.get(&id) {
                    Some(&a) => {
                        self.sh.achieved[a as usize] = true;
                        self.emit(Op::Achieve(a), line);
                    }
                    None => self.problem(line, format!("`*achieve {args}`: no such achievement")),
                }
            }
            "page_break" => {
                self.emit(Op::Para, line);
            }
            "line_break" => {
                self.emit(Op::LineBreak, line);
            }
            "bug" => {
                let t = self.interp(args, line);
                self.emit(Op::Bug(t), line);
                return Some(false);
            }
            "hide_reuse" | "disable_reuse" | "allow_reuse" => {
                if !args.is_empty() {
                    self.problem(line, format!("`*{name}` before an option belongs inside a *choice"));
                }
                self.reuse = reuse(name);
            }
            "selectable_if" => self.problem(line, "`*selectable_if` belongs before an #option inside a *choice"),
            _ if DISPLAY_ONLY.contains(&name) => return None,
            _ if UNSUPPORTED.contains(&name) => {
                self.problem(line, format!("`*{name}` is not supported by moralgym's interpreter"));
            }
            _ => self.problem(line, format!("unknown command `*{name}`")),
        }
        Some(true)
    }

    /// One line of a `*goto_random_scene` list: `[*allow_reuse] [*if (cond)] scene`.
    fn random_scene(&mut self, n: &Node, allow_reuse: bool) -> Option<RandomScene> {
        let (mut rest, mut pick) = (n.text, RandomScene { scene: 0, condition: None, allow_reuse });
        while let Some(cmd) = rest.strip_prefix('*') {
            let (name, args) = command_split(cmd);
            match name.as_str() {
                "allow_reuse" => {
                    pick.allow_reuse = true;
                    rest = args.trim_start();
                }
                "if" => {
                    let args = args.trim_start();
                    let end = args.strip_prefix('(').and_then(|_| args.rfind(')'));
                    let Some(end) = end else {
                        self.problem(n.line, "write `*if (condition) scene` in a *goto_random_scene list");
                        return None;
                    };
                    pick.condition = Some(self.expr(&args[1..end], n.line)?);
                    rest = args[end + 1..].trim_start();
                }
                _ => {
                    self.problem(n.line, format!("`*{name}` cannot stand in a *goto_random_scene list"));
                    return None;
                }
            }
        }
        if !valid_scene(rest) {
            self.problem(n.line, format!("`{rest}` is not a scene name"));
            return None;
        }
        pick.scene = self.sh.scene(rest, &self.file, n.line);
        Some(pick)
    }

    /// `*if` with its `*elseif`s and `*else`: (falls, nodes used).
    fn if_chain(&mut self, nodes: &[Node]) -> (bool, usize) {
        let mut used = 0;
        let mut branches: Vec<&Node> = Vec::new();
        let mut k = 0;
        while k < nodes.len() {
            let n = &nodes[k];
            k += 1;
            if n.blank() {
                continue;
            }
            let name = n.command().map(|(c, _)| c);
            let ok = match (branches.is_empty(), name.as_deref()) {
                (true, Some("if")) => true,
                (false, Some("elseif" | "elsif" | "else")) => {
                    branches.last().is_none_or(|b| b.command().is_none_or(|(c, _)| c != "else"))
                }
                _ => false,
            };
            if !ok {
                break;
            }
            branches.push(n);
            used = k;
        }
        let mut end_jumps = Vec::new();
        let mut falls = false;
        let has_else = branches.last().is_some_and(|b| b.command().is_some_and(|(c, _)| c == "else"));
        for (b, n) in branches.iter().enumerate() {
            let (name, args) = n.command().unwrap_or_default();
            let since = self.sh.problems.len();
            if n.children.iter().all(|c| c.blank()) {
                self.problem(n.line, format!("`*{name}` needs an indented block"));
            }
            let cond = if name == "else" {
                if !args.is_empty() {
                    self.problem(n.line, "`*else` takes no condition (use *elseif)");
                }
                None
            } else {
                Some(self.expr(args, n.line).unwrap_or(Expr::Lit(Value::Bool(false))))
            };
            if let Some(m) = self.defer(since) {
                self.emit(Op::Error(m), n.line);
            }
            let test = match cond {
                None => {
                    self.emit(Op::Nop, n.line);
                    None
                }
                Some(cond) => Some(self.emit(Op::If(cond, 0), n.line)),
            };
            let f = self.block(&n.children);
            if f && b + 1 < branches.len() {
                if self.sh.implicit {
                    end_jumps.push(self.emit(Op::Jump(0), n.line));
                } else {
                    let next = branches[b + 1].command().map(|(c, _)| c).unwrap_or_default();
                    let m = format!(
                        "play falls from this `*{name}` block into the `*{next}` on line {}: end the block with *goto, *finish or another jump, or `*create implicit_control_flow true`",
                        branches[b + 1].line
                    );
                    self.runtime_error(n.line, m);
                }
            }
            falls |= f;
            if let Some(pc) = test {
                let here = self.ops.len() as u32;
                if let Op::If(_, target) = &mut self.ops[pc] {
                    *target = here;
                }
            }
        }
        let end = self.ops.len() as u32;
        for j in end_jumps {
            self.ops[j] = Op::Jump(end);
        }
        (falls || !has_else, used.max(1))
    }

    fn choice(&mut self, n: &Node, fake: bool, args: &str) -> bool {
        let kind = if fake { "*fake_choice" } else { "*choice" };
        let since = self.sh.problems.len();
        let mut pending = Vec::new();
        self.gather(&n.children, None, &mut pending, 0);
        // A choice of several groups (`*choice hair eyes`): every option of a group holds the
        // options of the next, and the last group's options hold the bodies. An agent picks one
        // path through the groups at once: one option each, texts joined by " / ".
        for group in args.split_whitespace().skip(1) {
            let mut paths = Vec::new();
            for p in pending {
                let mut next = Vec::new();
                self.gather(p.body, None, &mut next, 0);
                if next.is_empty() {
                    self.problem(
                        p.line,
                        format!("this option of `{kind} {args}` needs the options of group `{group}` under it"),
                    );
                }
                paths.extend(next.into_iter().map(|q| Pending {
                    line: q.line,
                    text: joined(&p.text, &q.text),
                    visible: both(p.visible.clone(), q.visible),
                    selectable: both(p.selectable.clone(), q.selectable),
                    reuse: q.reuse,
                    body: q.body,
                }));
            }
            pending = paths;
        }
        if pending.is_empty() {
            self.problem(n.line, format!("`{kind}` has no #options"));
        }
        // The reference reads a choice's options when play reaches it, and stops there when the
        // last one has no body ("Expected choice body") unless play may fall through.
        if let Some(last) = pending.last().filter(|p| p.body.iter().all(|c| c.blank()))
            && !(fake || self.sh.implicit || args.split_whitespace().count() > 1)
        {
            let m = "the last #option of this *choice has no body (end it with *goto, *finish or another jump, or use *fake_choice)";
            self.problem(last.line, m);
        }
        // The choice's options take consecutive ids before any body is compiled: a choice nested
        // in a body takes its own ids after them.
        let first = self.sh.options.len();
        match self.defer(since) {
            Some(m) => self.emit(Op::Error(m), n.line),
            None => self.emit(Op::Choice(first as u32, pending.len() as u32), n.line),
        };
        let bodies: Vec<_> = pending
            .into_iter()
            .map(|p| {
                self.sh.options.push(Opt {
                    scene: self.scene,
                    line: p.line,
                    text: p.text,
                    visible: p.visible,
                    selectable: p.selectable,
                    reuse: p.reuse,
                    body: 0,
                    annotation: None,
                });
                (p.line, p.body)
            })
            .collect();
        let mut to_end = Vec::new(); // option indices whose body is the end, jumps to patch
        let mut jumps = Vec::new();
        let mut falls = false;
        let may_fall = fake || self.sh.implicit;
        let count = bodies.len();
        for (k, (line, body)) in bodies.into_iter().enumerate() {
            let id = first + k;
            self.sh.options[id].body = self.ops.len() as u32;
            let empty = body.iter().all(|c| c.blank());
            if !(empty || self.block(body)) {
                continue;
            }
            // Play that runs off the last option's block goes on after the choice, as in the
            // reference; off any other, it runs into the next #option, which is an error there.
            if may_fall || k + 1 == count {
                falls = true;
                if empty {
                    to_end.push(id);
                } else {
                    jumps.push(self.emit(Op::Jump(0), line));
                }
            } else {
                let m = "play falls out of this #option's block into the next #option: end it with *goto, *finish, *ending or another jump (or use *fake_choice, or `*create implicit_control_flow true`)".to_string();
                self.runtime_error(line, m);
            }
        }
        let end = self.ops.len() as u32;
        for id in to_end {
            self.sh.options[id].body = end;
        }
        for j in jumps {
            self.ops[j] = Op::Jump(end);
        }
        falls
    }

    /// Collects the options of a choice block, with the conditions of the `*if` blocks around
    /// them.
    fn gather<'n>(&mut self, nodes: &'n [Node<'n>], cond: Option<Expr>, out: &mut Vec<Pending<'n>>, depth: usize) {
        let mut i = 0;
        while i < nodes.len() {
            let n = &nodes[i];
            i += 1;
            if n.blank() {
                continue;
            }
            if let Some((name, args)) = n.command()
                && matches!(name.as_str(), "if" | "elseif" | "elsif" | "else")
                && option_split(args).is_none()
            {
                if name != "if" {
                    self.problem(n.line, format!("`*{name}` without an `*if` before it"));
                    continue;
                }
                // A block of options under *if, with its *elseif / *else siblings.
                let mut prior: Option<Expr> = None;
                let mut branch = Some(n);
                while let Some(b) = branch {
                    let (bname, bargs) = b.command().unwrap_or_default();
                    let this = if bname == "else" { None } else { self.expr(bargs, b.line) };
                    let mut c = cond.clone();
                    if let Some(p) = &prior {
                        c = Some(and(c, not(p.clone())));
                    }
                    if let Some(t) = &this {
                        c = Some(and(c, t.clone()));
                    }
                    if depth < MAX_DEPTH {
                        self.gather(&b.children, c, out, depth + 1);
                    }
                    if bname == "else" {
                        break;
                    }
                    if let Some(t) = this {
                        prior = Some(match prior {
                            None => t,
                            Some(p) => Expr::Bin(BinOp::Or, Box::new(p), Box::new(t)),
                        });
                    }
                    branch = None;
                    while i < nodes.len() && nodes[i].blank() {
                        i += 1;
                    }
                    if let Some(next) = nodes.get(i)
                        && next.command().is_some_and(|(c, a)| {
                            matches!(c.as_str(), "elseif" | "elsif" | "else") && option_split(a).is_none()
                        })
                    {
                        branch = Some(next);
                        i += 1;
                    }
                }
                continue;
            }
            if n.command().is_some_and(|(c, _)| c == "comment") {
                continue;
            }
            self.option(n, cond.clone(), out);
        }
    }

    /// One option line: prefixes (`*if (...)`, `*selectable_if (...)`, `*hide_reuse`, ...), then
    /// `#text`.
    fn option<'n>(&mut self, n: &'n Node<'n>, cond: Option<Expr>, out: &mut Vec<Pending<'n>>) {
        let mut rest = n.text;
        let (mut visible, mut selectable, mut reuse_mode) = (cond, None, self.reuse);
        loop {
            if let Some(text) = rest.strip_prefix('#') {
                let text = self.interp(text.trim(), n.line);
                out.push(Pending { line: n.line, text, visible, selectable, reuse: reuse_mode, body: &n.children });
                return;
            }
            let Some(cmd) = rest.strip_prefix('*') else {
                self.problem(n.line, "only #options (and *if blocks of them) belong in a *choice");
                return;
            };
            let (name, args) = command_split(cmd);
            let args = args.trim_start();
            match name.as_str() {
                "if" | "selectable_if" => {
                    let Some(at) = option_split(args) else {
                        self.problem(
                            n.line,
                            format!("`*{name} (...)` must be followed by an #option on the same line"),
                        );
                        return;
                    };
                    let Some(c) = self.expr(&args[..at], n.line) else { return };
                    if name == "if" {
                        visible = Some(and(visible, c));
                    } else {
                        selectable = Some(and(selectable, c));
                    }
                    rest = &args[at..];
                }
                "hide_reuse" | "disable_reuse" | "allow_reuse" => {
                    reuse_mode = reuse(&name);
                    rest = args;
                }
                _ => {
                    self.problem(n.line, format!("`*{name}` cannot stand before an #option"));
                    return;
                }
            }
        }
    }
}

fn reuse(name: &str) -> Reuse {
    match name {
        "hide_reuse" => Reuse::Hide,
        "disable_reuse" => Reuse::Disable,
        _ => Reuse::Allow,
    }
}

/// Compiles every scene reachable from startup (its scene list and every scene named by a
/// `*goto_scene` / `*gosub_scene`); `None` if there is no startup.
pub(super) fn compile(files: &BTreeMap<String, String>, problems: &mut Vec<Problem>) -> Option<Game> {
    let Some(startup) = files.get("startup") else {
        problems.push(Problem::in_file("startup.txt", 1, "a ChoiceScript game needs a startup.txt"));
        return None;
    };
    let mut sh = Shared {
        files,
        scene_names: Vec::new(),
        scene_index: HashMap::new(),
        global_index: HashMap::new(),
        options: Vec::new(),
        achievement_index: HashMap::new(),
        achieved: Vec::new(),
        scene_fixups: Vec::new(),
        first_ref: Vec::new(),
        implicit: false,
        problems: Vec::new(),
        warnings: Vec::new(),
        created_by_line: HashMap::new(),
    };
    sh.scene("startup", "startup.txt", 1);
    let startup_tree = tree("startup.txt", startup, &mut sh.problems);
    let h = header(&startup_tree, &mut sh);
    sh.achieved = vec![false; h.achievements.len()];
    for (name, line) in &h.scene_list {
        sh.scene(name, "startup.txt", *line);
    }
    let mut scenes: Vec<Scene> = Vec::new();
    let mut k = 0;
    while k < sh.scene_names.len() {
        let name = sh.scene_names[k].clone();
        let file = format!("{name}.txt");
        let owned_tree;
        let mut missing = None;
        let (nodes, line_count) = if k == 0 {
            (&startup_tree, startup.lines().count())
        } else {
            match sh.files.get(&name) {
                Some(text) => {
                    owned_tree = tree(&file, text, &mut sh.problems);
                    (&owned_tree, text.lines().count())
                }
                None => {
                    // Reported when play enters the scene, as the reference does.
                    let (rf, rl) = sh.first_ref[k].clone().unwrap_or_default();
                    let mut m = format!("scene `{name}` has no file {file}");
                    if let Some(near) = sh.files.keys().find(|f| f.eq_ignore_ascii_case(&name)) {
                        m.push_str(&format!(" ({near}.txt differs in case; scene names are case-sensitive)"));
                    }
                    sh.warnings.push(Problem::in_file(rf, rl as usize, m.clone()));
                    missing = Some(m);
                    owned_tree = Vec::new();
                    (&owned_tree, 0)
                }
            }
        };
        let mut temp_names = Vec::new();
        temps(nodes, &mut temp_names);
        let mut temp_index = HashMap::new();
        let mut temp_list = Vec::new();
        for t in temp_names {
            if !temp_index.contains_key(&t) {
                temp_index.insert(t.clone(), temp_list.len() as u32);
                temp_list.push(t);
            }
        }
        let first_option = sh.options.len() as u32;
        let mut c = SceneCompiler {
            sh: &mut sh,
            scene: k as u32,
            file: file.clone(),
            ops: Vec::new(),
            lines: Vec::new(),
            labels: HashMap::new(),
            gotos: Vec::new(),
            temp_index,
            reuse: Reuse::Allow,
            initial: k == 0,
        };
        match missing {
            Some(m) => {
                c.emit(Op::Error(m), 1);
            }
            None => {
                c.block(nodes);
            }
        }
        for (pc, label, line) in std::mem::take(&mut c.gotos) {
            match c.labels.get(&label) {
                Some(&target) => match &mut c.ops[pc] {
                    Op::Jump(t) | Op::Gosub(t, _) => *t = target,
                    _ => {}
                },
                None => {
                    let m = format!("no `*label {label}` in {file}");
                    c.sh.warnings.push(Problem::in_file(file.clone(), line as usize, m.clone()));
                    c.ops[pc] = Op::Error(m);
                }
            }
        }
        let SceneCompiler { ops, lines, labels, temp_index, .. } = c;
        let n_ops = ops.len();
        let options = (first_option, sh.options.len() as u32);
        scenes.push(Scene {
            name,
            ops,
            lines,
            annotation: vec![None; n_ops],
            labels,
            temps: temp_list,
            temp_index,
            next: None,
            options,
            line_count: line_count as u32,
        });
        k += 1;
    }
    for (scene, pc, target, label, line) in std::mem::take(&mut sh.scene_fixups) {
        let t = &scenes[target as usize];
        let start = match &label {
            None => Some(0),
            Some(l) => t.labels.get(l).copied(),
        };
        let Some(start) = start else {
            let file = format!("{}.txt", scenes[scene as usize].name);
            let m = format!("no `*label {}` in {}.txt", label.unwrap_or_default(), t.name);
            sh.warnings.push(Problem::in_file(file, line as usize, m.clone()));
            scenes[scene as usize].ops[pc] = Op::Error(m);
            continue;
        };
        match &mut scenes[scene as usize].ops[pc] {
            Op::GotoScene(_, p) | Op::GosubScene(_, p, _) => *p = start,
            _ => {}
        }
    }
    // *finish follows the scene list; startup leads to the first listed scene after it.
    let list: Vec<u32> = h.scene_list.iter().map(|(n, _)| sh.scene_index[n]).collect();
    for (p, &s) in list.iter().enumerate() {
        scenes[s as usize].next = list.get(p + 1).copied();
    }
    if !list.contains(&0) {
        scenes[0].next = list.first().copied();
    }
    for (a, done) in h.achievements.iter().zip(&sh.achieved) {
        if !*done {
            sh.warnings.push(Problem::in_file(
                "startup.txt",
                1,
                format!("achievement `{}` is declared but never achieved", a.id),
            ));
        }
    }
    problems.append(&mut sh.problems);
    Some(Game {
        format: super::Format::ChoiceScript,
        warnings: sh.warnings,
        title: h.title,
        author: h.author,
        scenes,
        global_index: sh.global_index,
        globals: h.globals,
        achievements: h.achievements,
        options: sh.options,
        annotations: Vec::new(),
        inputs: HashMap::new(),
        implicit_control_flow: sh.implicit,
    })
}
