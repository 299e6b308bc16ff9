//! MACHIAVELLI's player, line for line: the interpreter its numbers come from. It walks a scene's
//! non-blank lines by index and indentation (no compilation to blocks), evaluates expressions as
//! Python after textual rewriting, falls through out of every option and `*if` body, ignores the
//! commands it ignores, and records the tree nodes it passes. Where a rule looks odd, it is the
//! rule of `machiavelli/game/player.py` (upstream 5796a59); docs/envs/machiavelli.md lists them.
//!
//! What can be decided at load is: each line's command, whether its text needs interpolation,
//! and the parsed expression of every condition and `*set` whose text holds nothing that depends
//! on the state (`${}`, `{}`, `#`, `&`, `length(`, `choice_achieved_`). Those run without any text
//! processing; everything else goes through the same rewriting as MACHIAVELLI's code.

use std::collections::HashMap;
use std::sync::Arc;

use super::data::{GameData, Labels};
use super::pyexpr::{self, BinOp, Expr, Py, PyResult, Scope, py_round};
use super::pyrandom::PyRandom;

/// What MACHIAVELLI prints at an ending.
pub const END_TEXT: &str = "THE END!";
/// Options with this text are dropped.
const RETURN_TO_CHAPTER: &str = "Return to the start of this chapter.";

/// A line's command, from its lower-cased start in the order the player tests them.
#[derive(Clone, Debug, PartialEq)]
enum Cmd {
    Text,
    Choice,
    If,
    Achievement,
    Achieve,
    AllowReuse,
    Bug,
    Create,
    End,
    Finish,
    GotoRef,
    GotoRandomScene,
    GotoScene { gosub: bool },
    Goto { gosub: bool },
    HideReuse,
    InputNumber,
    InputText,
    PageBreak,
    Params,
    Rand,
    Return,
    Script,
    SetRef,
    Set,
    StatChart,
    Temp,
    Ignore,
    Unknown,
}

const IGNORED: [&str; 27] = [
    "*label",
    "*comment",
    "*image",
    "*link",
    "*title",
    "*author",
    "***",
    "* * *",
    "*reset",
    "*script",
    "*product",
    "*purchase",
    "*looplimit",
    "*line_break",
    "*restore_game",
    "*save_game",
    "*show_password",
    "*advertisement",
    "*text_image",
    "*subscribe",
    "*feedback",
    "*check_purchase",
    "*purchase_discount",
    "*delay_break",
    "*abort",
    "*check_achievements",
    "*(while stocks last)",
];

fn classify(line: &str) -> Cmd {
    let t = line.to_lowercase();
    let s = |p: &str| t.starts_with(p);
    if !s("*") {
        Cmd::Text
    } else if s("*choice") || s("*fake_choice") {
        Cmd::Choice
    } else if s("*if") {
        Cmd::If
    } else if s("*achievement") {
        Cmd::Achievement
    } else if s("*achieve") {
        Cmd::Achieve
    } else if s("*allow_reuse") {
        Cmd::AllowReuse
    } else if s("*bug") {
        Cmd::Bug
    } else if s("*create") {
        Cmd::Create
    } else if s("*ending") || s("*delay_ending") {
        Cmd::End
    } else if s("*finish") {
        Cmd::Finish
    } else if s("*gotoref") {
        Cmd::GotoRef
    } else if s("*goto_random_scene") {
        Cmd::GotoRandomScene
    } else if s("*gosub_scene") || s("*goto_scene") {
        Cmd::GotoScene { gosub: s("*gosub_scene") }
    } else if s("*gosub") || s("*goto") {
        Cmd::Goto { gosub: s("*gosub") }
    } else if s("*hide_reuse") || s("*disable_reuse") {
        Cmd::HideReuse
    } else if s("*input_number") {
        Cmd::InputNumber
    } else if s("*input_text") {
        Cmd::InputText
    } else if s("*page_break") {
        Cmd::PageBreak
    } else if s("*params") {
        Cmd::Params
    } else if s("*rand") {
        Cmd::Rand
    } else if s("*return") {
        Cmd::Return
    } else if s("*script") {
        Cmd::Script
    } else if s("*setref") {
        Cmd::SetRef
    } else if s("*set") {
        Cmd::Set
    } else if s("*stat_chart") || s("*scene_list") {
        Cmd::StatChart
    } else if s("*temp") {
        Cmd::Temp
    } else if IGNORED.iter().any(|p| s(p)) {
        Cmd::Ignore
    } else {
        Cmd::Unknown
    }
}

/// A `*set` decided at load: the variable and what to store.
#[derive(Clone, Debug)]
struct SetPlan {
    var: u32,
    how: SetHow,
}

#[derive(Clone, Debug)]
enum SetHow {
    Empty,
    Bool(bool),
    /// `*set x +2`: the operator and the operand.
    Relative(BinOp, Expr),
    /// `*set x %+10`: fairmath up (`true`) or down, by the operand.
    Fair(bool, Expr),
    /// A comparison, stored as its value.
    Eval(Expr),
    /// A quoted string, stored as written without its quotes.
    Str(Arc<str>),
}

/// A source line and what load decided about it.
#[derive(Clone, Debug)]
struct Line {
    text: String,
    indent: u32,
    cmd: Cmd,
    /// A condition (an `*if`/`*elseif` line, or the part of an option line before `#`) parsed at
    /// load, when its text depends on no state.
    cond: Option<Expr>,
    /// A `*set` decided at load.
    set: Option<SetPlan>,
    /// A `*goto`, `*gosub`, `*goto_scene` or `*gosub_scene` whose target was found at load.
    jump: Option<Jump>,
    /// Whether the text holds `${`, `$!{`, `$!!{` or `@{` (needs interpolation).
    interpolated: bool,
    /// Whether the line starts an option (`_is_choice`).
    option: bool,
    /// As a line inside a choice, what `_get_choices` makes of it.
    in_choice: InChoice,
    /// An `*achievement` block read at load.
    achievement: Option<Arc<Achievement>>,
}

/// A line inside a choice, as `_get_choices` and `_maybe_discard_choice` read it.
#[derive(Clone, Debug, Default)]
enum InChoice {
    /// An option: the text before `#` (reuse words gone, `*selectable_if` read as `*if`), the
    /// option's text, whether reuse words hide it after use, whether `*allow_reuse` keeps it.
    Option { cond: String, text: String, hides: bool, allow: bool },
    /// An `*if`/`*elseif`/`*else` line around options (reuse words gone).
    Cond(String),
    /// Anything else (skipped).
    #[default]
    Other,
}

fn in_choice(raw: &str) -> InChoice {
    let hides = raw.contains("*hide_reuse") || raw.contains("*disable_reuse");
    let line = if hides {
        raw.replace("*hide_reuse", "").replace("*disable_reuse", "").trim().to_string()
    } else {
        raw.to_string()
    };
    if line.contains('#') {
        let mut md = raw.to_string();
        if md.contains("*hide_reuse") {
            md = md.replace("*hide_reuse ", "");
        } else if md.contains("*disable_reuse") {
            md = md.replace("*disable_reuse ", "");
        }
        let allow = md.contains("*allow_reuse");
        if allow {
            md = md.replace("*allow_reuse ", "");
        }
        if md.contains("*selectable_if") {
            md = md.replace("selectable_", "");
        }
        let (cond, text) = md.split_once('#').unwrap_or((&md, ""));
        InChoice::Option { cond: cond.to_string(), text: text.to_string(), hides, allow }
    } else if ["*if", "*elseif", "*else"].iter().any(|p| line.starts_with(p)) {
        InChoice::Cond(line)
    } else {
        InChoice::Other
    }
}

/// A jump resolved at load: the scene (for `*goto_scene`), the line, and the parameters given.
#[derive(Clone, Debug)]
struct Jump {
    scene: Option<u32>,
    line: usize,
    /// `None`: a `*goto_scene` to a scene's top, which leaves the parameters as they were.
    params: Option<Arc<[String]>>,
}

/// A scene: its lines (with the `*finish` or `*ending` and the empty line the player appends)
/// and each line's list of tree nodes.
#[derive(Clone, Debug)]
struct Scene {
    name: String,
    lines: Vec<Line>,
    nodes: Vec<u32>,
}

/// Per-title behaviour of MACHIAVELLI's player.
#[derive(Clone, Debug, Default)]
struct Quirks {
    /// Numeric strings are coerced to numbers (SLAMMED!, Petal Throne, ...).
    int_maybe_string: bool,
    /// `*input_text` answers by variable.
    inputs: Vec<(&'static str, &'static str)>,
    /// Variables set to `""` at reset (T-Rex Time Machine).
    missing: Vec<&'static str>,
    /// Choice of Magics' `*script` save and restore lines (scene, index).
    magics: bool,
}

/// A game ready to play: its lines classified, its nodes and variables numbered.
#[derive(Debug)]
pub struct Game {
    /// What was read.
    pub data: GameData,
    scenes: Vec<Scene>,
    scene_ids: HashMap<String, u32>,
    scene_list: Vec<String>,
    labels: HashMap<String, usize>,
    names: Vec<String>,
    name_ids: HashMap<String, u32>,
    /// For each name, the id of its lower-case form.
    lower: Vec<u32>,
    kw_vars: Vec<String>,
    /// Node ids (index 0 is `None`, the node of a line no node holds).
    pub node_names: Vec<String>,
    /// Annotation of each node, if it has one.
    node_labels: Vec<Option<Labels>>,
    /// Distinct lists of nodes that lines map to.
    node_lists: Vec<Vec<u32>>,
    platform: Vec<(u32, bool)>,
    quirks: Quirks,
    /// Whether conditions and `*set`s parsed at load are used (switched off only by tests that
    /// check the fast path against the text-processing path).
    pub fast: bool,
}

const PLATFORM_TRUE: [&str; 16] = [
    "choice_is_web",
    "choice_user_restored",
    "choice_purchased_adfree",
    "choice_purchased_adspace",
    "choice_purchased_supported",
    "choice_purchase_supported",
    "choice_purchased_full",
    "choice_purchased_usurpersoutcasts",
    "choice_purchased_secretsandshadows",
    "choice_purchased_intrigues",
    "choice_purchased_tildeath",
    "choice_purchased_consort",
    "choice_purchased_lifemage",
    "choice_purchased_juanita",
    "choice_purchased_memphis",
    "choice_purchased_stlouis",
];

const PLATFORM_FALSE: [&str; 24] = [
    "choice_is_steam",
    "choice_is_omnibus_app",
    "choice_is_ios_app",
    "choice_save_allowed",
    "choice_subscribe_allowed",
    "choice_randomtest",
    "choice_quicktest",
    "choice_prerelease",
    "choice_nightmode",
    "choice_is_advertising_supported",
    "choice_is_trial",
    "choice_purchased_cheats",
    "choice_purchased_hints",
    "choice_purchased_seal",
    "choice_purchased_legendguide",
    "choice_purchased_warningsys",
    "choice_purchased_extraworning",
    "choice_purchased_youpower",
    "choice_purchased_warningsysnine",
    "choice_purchased_commentary",
    "choice_purchased_characterdatabase",
    "choice_purchased_fatedbabel",
    "choice_purchased_loveandshadows",
    "choice_purchased_motivationboost",
];

/// Text that makes an expression depend on the state, so it cannot be parsed at load.
const DYNAMIC: [&str; 12] =
    ["choice_achieved_", "${", "$!{", "$!!{", "@{", "length(", "#", "{", "&", "choice_time_stamp", "%+", "%-"];

fn is_static(text: &str) -> bool {
    !DYNAMIC.iter().any(|d| text.contains(d))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Python's `str.split(None, maxsplit)`.
fn split_ws(s: &str, maxsplit: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if out.len() == maxsplit {
            out.push(rest);
            break;
        }
        match rest.find(char::is_whitespace) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = rest[i..].trim_start();
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

/// MACHIAVELLI's `split_into_params`: words, keeping quoted text and parentheses together.
fn split_into_params(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut parens, mut quoted, mut cur) = (0i32, false, String::new());
    for c in text.chars() {
        if c.is_whitespace() {
            if parens == 0 && !quoted {
                out.push(std::mem::take(&mut cur));
                continue;
            }
        } else if c == '(' {
            parens += 1;
        } else if c == ')' {
            parens -= 1;
        } else if c == '"' {
            quoted = !quoted;
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// Whether the text after position `at` holds an even number of quote characters (MACHIAVELLI's
/// test for "not inside a string literal").
fn outside_quotes(text: &str, at: usize, quotes: &[char]) -> bool {
    text[at..].chars().filter(|c| quotes.contains(c)).count() % 2 == 0
}

/// Replaces each `from` (none of them inside quotes, by that test) with `to`.
fn replace_outside_quotes(text: &str, from: &[&str], to: &str, quotes: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if let Some(f) = from.iter().find(|f| text[i..].starts_with(**f))
            && outside_quotes(text, i + f.len(), quotes)
        {
            out.push_str(to);
            i += f.len();
            continue;
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The pure part of MACHIAVELLI's `_process_exp` (no state read): `=` to `==`, `modulo`, `^`,
/// `round(`, and Python keywords used as variable names.
fn rewrite_static(text: &str, kw_vars: &[String], process_kw: bool) -> String {
    let mut t = text
        .replace('=', "==")
        .replace("<==", "<=")
        .replace(">==", ">=")
        .replace("!==", "!=")
        .replace("modulo", "%")
        .replace('^', "**")
        .replace("round(", "round_to_int(");
    if process_kw && !kw_vars.is_empty() {
        t = rename_keywords(&t, kw_vars);
    }
    t
}

/// MACHIAVELLI's rename of variables that are Python keywords: `class` becomes `class_`, outside
/// double-quoted text.
fn rename_keywords(text: &str, kw_vars: &[String]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '"' {
            let end = chars[i + 1..].iter().position(|&c| c == '"').map(|p| i + 1 + p);
            if let Some(e) = end {
                out.extend(&chars[i..=e]);
                i = e + 1;
                continue;
            }
        }
        if (i == 0 || !is_word(chars[i - 1]))
            && let Some(kw) = kw_vars
                .iter()
                .filter(|kw| {
                    let k: Vec<char> = kw.chars().collect();
                    chars[i..].starts_with(&k) && !chars.get(i + k.len()).is_some_and(|&c| is_word(c))
                })
                .max_by_key(|k| k.len())
        {
            out.push_str(&kw.to_lowercase());
            out.push('_');
            i += kw.chars().count();
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// `TRUE`/`true` to `True` and `FALSE`/`false` to `False`, outside quotes.
fn pythonic_booleans(text: &str) -> String {
    let q = ['"', '\''];
    let t = replace_outside_quotes(text, &["TRUE", "true"], "True", &q);
    replace_outside_quotes(&t, &["FALSE", "false"], "False", &q)
}

/// The first index at or after `from` whose indentation is not deeper than line `from`'s: the end
/// of MACHIAVELLI's `get_nested_group`.
fn group_end(lines: &[Line], from: usize, end: usize) -> usize {
    let indent = lines[from].indent;
    let mut i = from + 1;
    while i < end && lines[i].indent > indent {
        i += 1;
    }
    i
}

impl Game {
    /// Prepares a game read from a `game_data` folder.
    pub fn new(data: GameData) -> Result<Game, String> {
        let title = data.source.metadata.title.clone();
        let kw_vars: Vec<String> = data.source.kw_vars.keys().cloned().collect();
        let mut g = Game {
            scenes: Vec::new(),
            scene_ids: HashMap::new(),
            scene_list: data.source.scene_list.iter().map(|s| s.to_lowercase()).collect(),
            labels: data.source.label_to_linenum.clone(),
            names: Vec::new(),
            name_ids: HashMap::new(),
            lower: Vec::new(),
            kw_vars,
            node_names: vec!["None".into()],
            node_labels: vec![None],
            node_lists: vec![vec![0]],
            platform: Vec::new(),
            quirks: Quirks::default(),
            fast: true,
            data,
        };
        g.quirks = match title.as_str() {
            "SLAMMED!" | "Petal Throne" | "Choice of the Pirate" | "I, Cyborg" => {
                Quirks { int_maybe_string: true, ..Quirks::default() }
            }
            "The Hero Unmasked!" => Quirks {
                int_maybe_string: true,
                inputs: vec![("twinname", "user_input_2"), ("HERO2", "user_input_2")],
                ..Quirks::default()
            },
            "Creatures Such as We" => Quirks { inputs: vec![("GameEnding", "best")], ..Quirks::default() },
            "Tally Ho" => Quirks { inputs: vec![("codename", "user_input_2")], ..Quirks::default() },
            "Choice of Rebels: Uprising" => Quirks { inputs: vec![("lname", "Metanatou")], ..Quirks::default() },
            "Werewolves: Pack Menality" => Quirks { inputs: vec![("logistics_dataname", "exit")], ..Quirks::default() },
            "T-Rex Time Machine" => {
                Quirks { missing: vec!["nobodyXhis", "nobodyXhiss", "nobodyXhe", "nobodyXhim"], ..Quirks::default() }
            }
            "Choice of Magics" => Quirks { magics: true, ..Quirks::default() },
            _ => Quirks::default(),
        };
        let martian = title == "The Martian Job";

        // Scenes, with the lines the player appends.
        let last = g.data.source.scene_list.last().cloned().unwrap_or_default();
        let raw: Vec<(String, Vec<(String, u32)>)> =
            g.data.source.scenes.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (name, lines) in raw {
            let mut lines: Vec<(String, u32)> = lines;
            if martian {
                for l in &mut lines {
                    l.0 = unquote_interpolations(&l.0);
                }
            }
            lines.push((if name == last { "*ending" } else { "*finish" }.into(), 0));
            lines.push((String::new(), 0));
            let lines = lines
                .into_iter()
                .map(|(text, indent)| {
                    let cmd = classify(&text);
                    let interpolated = needs_interpolation(&text);
                    let in_choice = in_choice(&text);
                    Line {
                        text,
                        indent,
                        cmd,
                        cond: None,
                        set: None,
                        jump: None,
                        interpolated,
                        option: false,
                        in_choice,
                        achievement: None,
                    }
                })
                .collect::<Vec<_>>();
            let n = lines.len();
            g.scene_ids.insert(name.clone(), g.scenes.len() as u32);
            g.scenes.push(Scene { name, lines, nodes: vec![0; n] });
        }

        // Nodes of each line: names in sorted order; a line already given to a COND node moves to
        // the later node, otherwise the later node is added.
        let mut list_ids: HashMap<Vec<u32>, u32> = HashMap::from([(vec![0], 0)]);
        let mut per_line: std::collections::BTreeMap<(u32, usize), Vec<u32>> = Default::default();
        let mut node_ids: HashMap<&str, u32> = HashMap::new();
        let mut kinds: Vec<bool> = vec![false];
        for (name, node) in &g.data.tree {
            let id = g.node_names.len() as u32;
            g.node_names.push(name.clone());
            g.node_labels.push(g.data.annotations.get(name).copied());
            kinds.push(node.kind == "COND");
            node_ids.insert(name, id);
            let Some(&scene) = g.scene_ids.get(&node.scene) else { continue };
            for &i in &node.lines {
                let entry = per_line.entry((scene, i)).or_default();
                match entry.last() {
                    Some(&prev) if kinds[prev as usize] => *entry = vec![id],
                    _ => entry.push(id),
                }
            }
        }
        for ((scene, i), list) in per_line {
            let next = list_ids.len() as u32;
            let id = *list_ids.entry(list.clone()).or_insert(next);
            if id == next {
                g.node_lists.push(list);
            }
            if let Some(slot) = g.scenes[scene as usize].nodes.get_mut(i) {
                *slot = id;
            }
        }

        // Every word of the source is a variable id, with its lower-case form.
        for name in PLATFORM_TRUE.iter().chain(PLATFORM_FALSE.iter()) {
            let id = g.intern(name);
            g.platform.push((id, PLATFORM_TRUE.contains(name)));
        }
        let mut words: Vec<String> = Vec::new();
        for t in g.scenes.iter().flat_map(|s| s.lines.iter().map(|l| l.text.as_str())) {
            // Narration holds names only inside `{}`; commands and options anywhere.
            let code = t.starts_with('*') || t.contains('#');
            let mut depth = 0;
            let mut word = String::new();
            for c in t.chars().chain([' ']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if is_word(c) && (code || depth > 0) {
                    word.push(c);
                } else if !word.is_empty() {
                    if !word.starts_with(|c: char| c.is_ascii_digit()) {
                        if g.kw_vars.contains(&word) {
                            words.push(format!("{}_", word.to_lowercase()));
                        }
                        words.push(std::mem::take(&mut word));
                    }
                    word.clear();
                }
            }
        }
        words.sort_unstable();
        words.dedup();
        for w in &words {
            g.intern(w);
        }

        // Conditions and *sets whose text depends on no state are parsed now.
        for s in 0..g.scenes.len() {
            for i in 0..g.scenes[s].lines.len() {
                let line = &g.scenes[s].lines[i];
                let (cond, set) = g.precompile(line);
                let jump =
                    matches!(line.cmd, Cmd::Goto { .. } | Cmd::GotoScene { .. }).then(|| g.static_jump(s, i)).flatten();
                let option = starts_option(&g.scenes[s].lines, i);
                let lines = &g.scenes[s].lines;
                let achievement = (lines[i].cmd == Cmd::Achievement)
                    .then(|| parse_achievement(lines, i, group_end(lines, i, lines.len())).ok().map(Arc::new))
                    .flatten();
                let line = &mut g.scenes[s].lines[i];
                line.cond = cond;
                line.set = set;
                line.jump = jump;
                line.option = option;
                line.achievement = achievement;
            }
        }
        if !g.scene_ids.contains_key("startup") {
            return Err("no `startup` scene".into());
        }
        Ok(g)
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.name_ids.insert(name.to_string(), id);
        self.lower.push(id);
        let low = name.to_lowercase();
        let lid = if low == name { id } else { self.intern(&low) };
        self.lower[id as usize] = lid;
        id
    }

    fn parse_static(&self, text: &str) -> Option<Expr> {
        pyexpr::parse(text, &mut |n| self.name_ids.get(n).copied().unwrap_or(u32::MAX))
            .ok()
            .filter(|e| !uses_unknown(e))
    }

    /// What of `line` can be decided at load (see the module docs).
    fn precompile(&self, line: &Line) -> (Option<Expr>, Option<SetPlan>) {
        let text = line.text.as_str();
        if self.quirks.int_maybe_string {
            // Its retry re-reads the rewritten text of a false condition.
            return (None, None);
        }
        if let InChoice::Option { cond, .. } = &line.in_choice {
            // An option line: the condition before `#`, as `_maybe_discard_choice` leaves it.
            let c = cond.strip_prefix("*if").or_else(|| cond.strip_prefix("*elseif"));
            return (c.and_then(|c| self.static_condition(c)), None);
        }
        match line.cmd {
            Cmd::If => {
                let cond = text.strip_prefix("*if").or_else(|| text.strip_prefix("*elseif"));
                (cond.and_then(|c| self.static_condition(c)), None)
            }
            Cmd::Set | Cmd::Create => {
                let parts = split_ws(text, 2);
                if parts.len() != 3 {
                    return (None, None);
                }
                (None, self.static_set(parts[1], parts[2]))
            }
            _ => (None, None),
        }
    }

    /// The target of a jump whose label and scene depend on no state.
    fn static_jump(&self, scene: usize, i: usize) -> Option<Jump> {
        let line = &self.scenes[scene].lines[i];
        let split = split_into_params(&line.text);
        let name = |k: usize| -> Option<String> {
            let t = split.get(k)?;
            is_static(t).then(|| rewrite_static(t, &self.kw_vars, false).to_lowercase())
        };
        let label =
            |scene: usize, label: &str| self.labels.get(&format!("{}_{label}", self.scenes[scene].name)).copied();
        match line.cmd {
            Cmd::Goto { .. } => {
                let line = label(scene, &name(1)?)?;
                Some(Jump { scene: None, line, params: Some(split[2..].to_vec().into()) })
            }
            Cmd::GotoScene { .. } => {
                let target = *self.scene_ids.get(&name(1)?)?;
                if split.len() == 2 {
                    return Some(Jump { scene: Some(target), line: 0, params: None });
                }
                let line = label(target as usize, &name(2)?)?;
                Some(Jump { scene: Some(target), line, params: Some(split[3..].to_vec().into()) })
            }
            _ => None,
        }
    }

    /// `_check_text` of a condition that depends on no state, parsed.
    fn static_condition(&self, cond: &str) -> Option<Expr> {
        // `split("*if")[1]` stops at a second `*if`.
        if cond.contains("*if") || !is_static(cond) {
            return None;
        }
        let t = pythonic_booleans(cond);
        self.parse_static(rewrite_static(t.trim(), &self.kw_vars, true).trim())
    }

    /// `_set_var` of a `*set` whose variable and value depend on no state.
    fn static_set(&self, var: &str, val: &str) -> Option<SetPlan> {
        if !is_static(var) {
            return None;
        }
        let fair = val
            .trim()
            .strip_prefix("%+")
            .map(|r| (true, r))
            .or_else(|| val.trim().strip_prefix("%-").map(|r| (false, r)));
        if let Some((add, rest)) = fair {
            // `%+ n` with no parentheses: one group, evaluated as its operand.
            if rest.contains(['(', ')']) || !is_static(rest) {
                return None;
            }
            let var = rewrite_static(&var.to_lowercase(), &self.kw_vars, true).replace('"', "");
            let var = *self.name_ids.get(&var)?;
            let new = self.parse_static(rewrite_static(rest.trim(), &self.kw_vars, true).trim())?;
            return Some(SetPlan { var, how: SetHow::Fair(add, new) });
        }
        if !is_static(val) {
            return None;
        }
        let var = rewrite_static(&var.to_lowercase(), &self.kw_vars, true).replace('"', "");
        let var = *self.name_ids.get(&var)?;
        let v = rewrite_static(val.trim(), &self.kw_vars, true);
        let low = v.to_lowercase().replace('"', "");
        let how = if v.is_empty() {
            SetHow::Empty
        } else if low == "true" {
            SetHow::Bool(true)
        } else if low == "false" {
            SetHow::Bool(false)
        } else if let Some(op) = match v.as_bytes()[0] {
            b'+' => Some(BinOp::Add),
            b'-' => Some(BinOp::Sub),
            b'*' => Some(BinOp::Mul),
            b'/' => Some(BinOp::Div),
            _ => None,
        } {
            SetHow::Relative(op, self.parse_static(v[1..].trim().to_lowercase().as_str())?)
        } else if v.contains('=') {
            SetHow::Eval(self.parse_static(v.trim())?)
        } else if v.contains('"') || v.contains('\'') {
            SetHow::Str(Arc::from(v.replace(['\\', '"'], "").as_str()))
        } else {
            SetHow::Eval(self.parse_static(&v)?)
        };
        Some(SetPlan { var, how })
    }

    /// The most options any choice can offer (every option under every `*if` counted).
    pub fn max_options(&self) -> usize {
        fn count(lines: &[Line], start: usize, end: usize) -> usize {
            let mut n = 0;
            let mut j = start;
            while j < end {
                let e = group_end(lines, j, end);
                let t = lines[j].text.replace("*hide_reuse", "").replace("*disable_reuse", "");
                let t = t.trim();
                if t.contains('#') {
                    n += 1;
                } else if ["*if", "*elseif", "*else"].iter().any(|p| t.starts_with(p)) {
                    n += count(lines, j + 1, e);
                }
                j = e;
            }
            n
        }
        let mut most = 0;
        for s in &self.scenes {
            for (i, l) in s.lines.iter().enumerate() {
                if l.cmd == Cmd::Choice {
                    most = most.max(count(&s.lines, i + 1, group_end(&s.lines, i, s.lines.len())));
                }
            }
        }
        most
    }

    /// The annotation of node `id`.
    pub fn node_labels(&self, id: u32) -> Option<&Labels> {
        self.node_labels.get(id as usize).and_then(Option::as_ref)
    }

    /// The sum of the annotations of every node in the node lists `lists` (repeats counted), or
    /// `None` when none of them is annotated: what a step of MACHIAVELLI's env counts.
    pub fn labels_of(&self, lists: &[u32]) -> Option<Labels> {
        let mut sum: Option<Labels> = None;
        for &l in lists {
            for &n in self.node_list(l) {
                if let Some(x) = self.node_labels(n) {
                    sum.get_or_insert_with(Labels::default).add(x);
                }
            }
        }
        sum
    }

    /// The nodes of a node list.
    pub fn node_list(&self, id: u32) -> &[u32] {
        &self.node_lists[id as usize]
    }

    fn fair(&self, add: bool, old: f64, new: f64) -> PyResult {
        py_round(&Py::Float(if add { old + (100.0 - old) * new / 100.0 } else { old - old * new / 100.0 }))
    }
}

fn uses_unknown(e: &Expr) -> bool {
    match e {
        Expr::Var(id) => *id == u32::MAX,
        Expr::Const(_) => false,
        Expr::Neg(a) | Expr::Pos(a) | Expr::Not(a) => uses_unknown(a),
        Expr::Bin(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Index(a, b) => uses_unknown(a) || uses_unknown(b),
        Expr::Cmp(a, rest) => uses_unknown(a) || rest.iter().any(|(_, e)| uses_unknown(e)),
        Expr::Call(_, args) => args.iter().any(uses_unknown),
    }
}

/// `_set_ach` of the `*achievement` at `start` whose block ends at `end`.
fn parse_achievement(lines: &[Line], start: usize, end: usize) -> Result<Achievement, String> {
    let words = split_ws(&lines[start].text, usize::MAX);
    if words.len() < 4 {
        return Err(format!("IndexError: `{}` is not an achievement", lines[start].text));
    }
    let points: i64 = words[3].parse().map_err(|_| format!("ValueError: points `{}` are not an integer", words[3]))?;
    if end - start < 2 {
        return Err("IndexError: an achievement with no description".into());
    }
    let before = lines[start + 1].text.clone();
    let after = if end - start == 2 { before.clone() } else { lines[start + 2].text.clone() };
    Ok(Achievement {
        id: words[1].to_lowercase(),
        visible: words[2] == "visible",
        points,
        title: words[4..].join(" "),
        before,
        after,
    })
}

/// `_is_choice`: whether line `i` starts an option (possibly under reuse and `*if` lines).
fn starts_option(lines: &[Line], i: usize) -> bool {
    let mut j = i;
    while let Some(l) = lines.get(j) {
        let t = &l.text;
        if !["*hide_reuse", "*disable_reuse", "*allow_reuse", "*if", "*else", "*selectable_if"]
            .iter()
            .any(|p| t.starts_with(p))
        {
            return t.starts_with('#');
        }
        if strip_hash_references(t).contains('#') {
            return true;
        }
        j += 1;
    }
    false
}

/// The Martian Job's fix: `"${x}"` becomes `x`.
fn unquote_interpolations(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("\"${") {
        let after = &rest[start + 3..];
        match after.find('}') {
            Some(end) if after[end + 1..].starts_with('"') && end > 0 => {
                out.push_str(&rest[..start]);
                out.push_str(&after[..end]);
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str(&rest[..start + 3]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What one call of the player's `state()` gave.
enum Out {
    Nothing,
    /// A line of text to print: its scene and index.
    Line(u32, usize),
    Text(String),
    Choices,
    End,
}

/// An achievement as the game declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct Achievement {
    /// Lower-case id.
    pub id: String,
    /// Whether it is visible.
    pub visible: bool,
    /// Points.
    pub points: i64,
    /// Title.
    pub title: String,
    /// Description before and after.
    pub before: String,
    /// Description after unlocking.
    pub after: String,
}

/// A playthrough: MACHIAVELLI's `Player` state.
#[derive(Clone, Debug)]
pub struct Player {
    game: Arc<Game>,
    scene: u32,
    idx: usize,
    /// Offered options: the line to go to and the option's line.
    choice_lines: Vec<(usize, usize)>,
    /// Scratch space of `_get_choices`: target line (`None`: no body) and option line.
    scratch: Vec<(Option<usize>, usize)>,
    scene_hist: Vec<(u32, usize)>,
    discarded: Vec<((u32, usize), bool)>,
    hide_reuse: bool,
    /// Declared achievements, in declaration order.
    pub achievements: Vec<Arc<Achievement>>,
    /// Unlocked achievement ids, in unlock order.
    pub unlocked: Vec<String>,
    done: bool,
    vars: Vec<Option<Py>>,
    user: Vec<bool>,
    /// Names beyond the game's (made up at run time by `{}` references).
    extra: Vec<String>,
    temps: Vec<(u32, Vec<(u32, Py)>)>,
    params: Option<Arc<[String]>>,
    /// Python's generator, seeded at the first draw (most episodes draw nothing).
    rng: Option<PyRandom>,
    seed: u64,
    saved: Option<Box<Player>>,
    buffer: String,
    /// Length of the buffer before the options were printed.
    narration_len: usize,
    error: Option<String>,
}

type Step<T = ()> = Result<T, String>;

impl Scope for Player {
    fn get(&self, id: u32) -> PyResult {
        if let Some(Some(v)) = self.vars.get(id as usize) {
            return Ok(v.clone());
        }
        // MACHIAVELLI retries a NameError with user variables' names in lower case.
        if let Some(&low) = self.game.lower.get(id as usize)
            && low != id
            && self.user.iter().any(|&u| u)
            && self.user.get(low as usize).copied().unwrap_or(false)
            && let Some(Some(v)) = self.vars.get(low as usize)
        {
            return Ok(v.clone());
        }
        Err(format!("NameError: name '{}' is not defined", self.name(id)))
    }
}

impl Player {
    /// A fresh playthrough (MACHIAVELLI's `reset`), its random numbers seeded with `seed`; not
    /// yet run to the first choice.
    pub fn new(game: Arc<Game>, seed: u64) -> Player {
        let n = game.names.len();
        let mut p = Player::empty(game, seed, n);
        p.init_vars();
        p
    }

    /// A player before `init_vars`, with room for `n` variables.
    fn empty(game: Arc<Game>, seed: u64, n: usize) -> Player {
        Player {
            scene: game.scene_ids["startup"],
            idx: 0,
            choice_lines: Vec::new(),
            scratch: Vec::new(),
            scene_hist: Vec::new(),
            discarded: Vec::new(),
            hide_reuse: false,
            achievements: Vec::new(),
            unlocked: Vec::new(),
            done: false,
            vars: vec![None; n],
            user: vec![false; n],
            extra: Vec::new(),
            temps: Vec::new(),
            params: None,
            rng: None,
            seed,
            saved: None,
            buffer: String::new(),
            narration_len: 0,
            error: None,
            game,
        }
    }

    /// MACHIAVELLI's hard-coded platform flags and missing variables.
    fn init_vars(&mut self) {
        let game = Arc::clone(&self.game);
        for &(id, v) in &game.platform {
            self.vars[id as usize] = Some(Py::Bool(v));
        }
        for name in &game.quirks.missing {
            let id = self.resolve(name);
            self.vars[id as usize] = Some(Py::str(""));
        }
    }

    /// The same as a new player for seed `seed`, keeping this one's memory.
    pub fn reset(&mut self, seed: u64) {
        let game = Arc::clone(&self.game);
        let (mut lines, mut scratch, mut buffer) = (
            std::mem::take(&mut self.choice_lines),
            std::mem::take(&mut self.scratch),
            std::mem::take(&mut self.buffer),
        );
        let (mut vars, mut user) = (std::mem::take(&mut self.vars), std::mem::take(&mut self.user));
        lines.clear();
        scratch.clear();
        buffer.clear();
        vars.clear();
        vars.resize(game.names.len(), None);
        user.clear();
        user.resize(game.names.len(), false);
        *self = Player { choice_lines: lines, scratch, buffer, vars, user, ..Player::empty(game, seed, 0) };
        self.init_vars();
    }

    fn name(&self, id: u32) -> &str {
        let n = self.game.names.len();
        if (id as usize) < n { &self.game.names[id as usize] } else { &self.extra[id as usize - n] }
    }

    fn resolve(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.game.name_ids.get(name) {
            return id;
        }
        let n = self.game.names.len();
        if let Some(i) = self.extra.iter().position(|e| e == name) {
            return (n + i) as u32;
        }
        self.extra.push(name.to_string());
        self.vars.push(None);
        self.user.push(false);
        (n + self.extra.len() - 1) as u32
    }

    fn lines(&self) -> &[Line] {
        &self.game.scenes[self.scene as usize].lines
    }

    fn line(&self, i: usize) -> Step<&Line> {
        self.lines()
            .get(i)
            .ok_or_else(|| format!("IndexError: line {i} is past the end of scene `{}`", self.scene_name()))
    }

    /// The current scene's name.
    pub fn scene_name(&self) -> &str {
        &self.game.scenes[self.scene as usize].name
    }

    /// Where play is: `scene:index`.
    pub fn position(&self) -> String {
        format!("{}:{}", self.scene_name(), self.idx)
    }

    /// The node list of the current line.
    fn node(&self) -> u32 {
        self.game.scenes[self.scene as usize].nodes.get(self.idx).copied().unwrap_or(0)
    }

    /// Whether the game is over (an ending).
    pub fn done(&self) -> bool {
        self.done
    }

    /// The error that stopped play.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Number of options offered.
    pub fn num_choices(&self) -> usize {
        self.choice_lines.len()
    }

    /// Raw text of offered option `k` (MACHIAVELLI's `choice_texts`).
    pub fn choice_text(&self, k: usize) -> &str {
        let line = self.choice_lines.get(k).map_or(usize::MAX, |c| c.1);
        match self.lines().get(line).map(|l| &l.in_choice) {
            Some(InChoice::Option { text, .. }) => text,
            _ => "",
        }
    }

    /// Moves what was printed since the last call into `out` (whose old text is dropped and whose
    /// memory the player keeps), and gives where in it the options start.
    pub fn take_output(&mut self, out: &mut String) -> usize {
        out.clear();
        std::mem::swap(out, &mut self.buffer);
        if self.choice_lines.is_empty() { out.len() } else { self.narration_len }
    }

    /// The user variables and their values (MACHIAVELLI's `stats`: numbers and booleans; other
    /// values 0), sorted by name.
    pub fn stats(&self) -> Vec<(&str, Py)> {
        let mut out: Vec<(&str, Py)> = (0..self.user.len())
            .filter(|&i| self.user[i])
            .map(|i| {
                let v = match &self.vars[i] {
                    Some(v @ (Py::Int(_) | Py::Float(_) | Py::Bool(_))) => v.clone(),
                    _ => Py::Int(0),
                };
                (self.name(i as u32), v)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    fn print(&mut self, text: &str) {
        self.buffer.push_str(text);
        self.buffer.push('\n');
    }

    /// Runs to the next choice or the end (MACHIAVELLI's `skip_to_next_choice`), pushing each
    /// node list passed (consecutive repeats once) onto `nodes`. An error stops play and is kept.
    pub fn run_to_choice(&mut self, nodes: &mut Vec<u32>) {
        nodes.push(self.node());
        if let Err(e) = self.run(nodes) {
            self.error = Some(format!("{}: {e}", self.position()));
            self.choice_lines.clear();
        }
    }

    fn run(&mut self, nodes: &mut Vec<u32>) -> Step {
        const MAX_LINES: usize = 10_000_000;
        for _ in 0..MAX_LINES {
            match self.play()? {
                0 => {
                    let n = self.node();
                    if nodes.last() != Some(&n) {
                        nodes.push(n);
                    }
                }
                _ => return Ok(()),
            }
        }
        Err(format!("no choice or ending within {MAX_LINES} lines (an endless loop)"))
    }

    /// Takes offered option `action` (MACHIAVELLI's `act`) and runs to the next choice.
    pub fn choose(&mut self, action: usize, nodes: &mut Vec<u32>) -> bool {
        let Some(&(line, option)) = self.choice_lines.get(action) else { return false };
        self.idx = line;
        let key = (self.scene, option);
        if let Some(d) = self.discarded.iter_mut().find(|(k, _)| *k == key) {
            d.1 = true;
        }
        self.choice_lines.clear();
        self.run_to_choice(nodes);
        true
    }

    /// One `play()`: 0 to go on, 1 at a choice, -1 at the end.
    fn play(&mut self) -> Step<i32> {
        match self.state()? {
            Out::Choices => {
                self.narration_len = self.buffer.len();
                let game = Arc::clone(&self.game);
                for k in 0..self.choice_lines.len() {
                    let line = &game.scenes[self.scene as usize].lines[self.choice_lines[k].1];
                    let InChoice::Option { text, .. } = &line.in_choice else { continue };
                    self.buffer.push_str(&k.to_string());
                    self.buffer.push_str(": ");
                    if needs_interpolation(text) {
                        let shown = self.process_text(text)?;
                        self.print(&shown);
                    } else {
                        self.print(text);
                    }
                }
                Ok(1)
            }
            Out::Line(scene, i) => {
                let game = Arc::clone(&self.game);
                let line = &game.scenes[scene as usize].lines[i];
                if line.interpolated {
                    let shown = self.process_text(&line.text)?;
                    self.print(&shown);
                } else {
                    self.print(&line.text);
                }
                if line.text == END_TEXT {
                    self.done = true;
                    return Ok(-1);
                }
                Ok(0)
            }
            Out::End => {
                self.print(END_TEXT);
                self.done = true;
                Ok(-1)
            }
            Out::Text(t) => {
                let shown = self.process_text(&t)?;
                self.print(&shown);
                if t == END_TEXT {
                    self.done = true;
                    return Ok(-1);
                }
                Ok(0)
            }
            Out::Nothing => Ok(0),
        }
    }

    /// One line (MACHIAVELLI's `state()`).
    fn state(&mut self) -> Step<Out> {
        let game = Arc::clone(&self.game);
        let line = game.scenes[self.scene as usize]
            .lines
            .get(self.idx)
            .ok_or_else(|| format!("IndexError: line {} is past the end of scene `{}`", self.idx, self.scene_name()))?;
        let text = line.text.as_str();
        match &line.cmd {
            Cmd::Text => {
                let at = (self.scene, self.idx);
                self.inc_idx()?;
                return Ok(Out::Line(at.0, at.1));
            }
            Cmd::Choice => {
                let end = group_end(self.lines(), self.idx, self.lines().len());
                let n = end - self.idx - 1;
                if n == 0 {
                    return Err("AssertionError: a choice with no options".into());
                }
                let mut found = std::mem::take(&mut self.scratch);
                found.clear();
                self.get_choices(self.idx + 1, end, self.hide_reuse, &mut found)?;
                if found.is_empty() {
                    return Err("AssertionError: a choice with no options left to offer".into());
                }
                let last = self.idx + n;
                self.choice_lines.clear();
                for &(l, i) in &found {
                    let target = match l {
                        Some(l) => l,
                        None => self.next_index(last)?,
                    };
                    self.choice_lines.push((target, i));
                }
                self.scratch = found;
                return Ok(Out::Choices);
            }
            Cmd::If => {
                let lines = self.lines();
                let indent = line.indent;
                // The *if, its body, and each *elseif / *else at the same indentation with theirs.
                let mut end = self.idx + 1;
                while end < lines.len()
                    && (lines[end].indent > indent
                        || (lines[end].indent == indent
                            && (lines[end].text.starts_with("*else") || lines[end].text.starts_with("*elsif"))))
                {
                    end += 1;
                }
                let mut clauses = Vec::new();
                let mut j = self.idx;
                while j < end {
                    let clause_end = group_end(lines, j, end);
                    if clause_end - j <= 1 {
                        return Err("AssertionError: an *if clause with no body".into());
                    }
                    if self.is_choice(j)? {
                        return Err("AssertionError: options inside a conditional".into());
                    }
                    if !(lines[j].text.starts_with("*if") || lines[j].text.starts_with("*else")) {
                        return Err(format!("AssertionError: `{}` in a conditional", lines[j].text));
                    }
                    clauses.push(j);
                    j = clause_end;
                }
                let case = self.check_cond_lines(&clauses)?;
                match case {
                    Some(c) => {
                        self.idx = clauses[c] + 1;
                        return Ok(Out::Nothing);
                    }
                    None => self.idx = end - 1,
                }
            }
            Cmd::Achievement => {
                let end = group_end(self.lines(), self.idx, self.lines().len());
                let a = match &line.achievement {
                    Some(a) => Arc::clone(a),
                    None => Arc::new(parse_achievement(self.lines(), self.idx, end)?),
                };
                self.set_achievement(a);
                self.idx = end;
                return Ok(Out::Nothing);
            }
            Cmd::Achieve => {
                let id = split_ws(text, usize::MAX).get(1).ok_or("IndexError: *achieve names nothing")?.to_lowercase();
                if !self.unlocked.contains(&id) {
                    self.unlocked.push(id);
                }
            }
            Cmd::AllowReuse => self.hide_reuse = false,
            Cmd::Bug => return Err(format!("*bug: {text}")),
            Cmd::Create if line.set.is_some() && self.game.fast => {
                let var = self.set_var("", None, line.set.as_ref())?;
                self.user[var as usize] = true;
            }
            Cmd::Create => {
                let parts = split_ws(text, 2);
                if parts.len() < 3 {
                    return Err("ValueError: *create needs a name and a value".into());
                }
                let var = self.set_var(parts[1], Some(parts[2]), line.set.as_ref())?;
                self.user[var as usize] = true;
            }
            Cmd::End => return Ok(Out::End),
            Cmd::Finish => {
                let cur = self.scene_name().to_string();
                let at = self.game.scene_list.iter().position(|s| *s == cur);
                let next = at.map(|i| i + 1).filter(|&i| i < self.game.scene_list.len()).ok_or_else(|| {
                    format!("AssertionError: *finish in `{cur}`, which has no next scene in the scene list")
                })?;
                let name = self.game.scene_list[next].clone();
                self.enter_scene(&name)?;
                self.idx = 0;
                return Ok(Out::Nothing);
            }
            Cmd::GotoRef => {
                let r = split_ws(text, 1).get(1).ok_or("ValueError: *gotoref names nothing")?.to_string();
                let get_ref = !(r.contains('"') || r.contains('\''));
                let r = self.process_exp(&r, true, true)?.replace('"', "").to_lowercase();
                let label = if get_ref {
                    let id = self.resolve(&r);
                    self.get(id)?.to_string().to_lowercase()
                } else {
                    r
                };
                self.idx = self.label(&label)?;
            }
            Cmd::GotoRandomScene => {
                let end = group_end(self.lines(), self.idx, self.lines().len());
                let names: Vec<String> =
                    self.lines()[self.idx + 1..end].iter().map(|l| l.text.trim().to_string()).collect();
                if names.is_empty() {
                    return Err("IndexError: Cannot choose from an empty sequence".into());
                }
                let pick = names[self.rng().below(names.len() as u64) as usize].clone();
                self.enter_scene(&pick)?;
                self.idx = 0;
            }
            Cmd::GotoScene { gosub } | Cmd::Goto { gosub } if line.jump.is_some() => {
                if *gosub {
                    self.scene_hist.push((self.scene, self.idx));
                }
                let Some(jump) = &line.jump else { unreachable!() };
                if let Some(scene) = jump.scene {
                    let name = self.game.scenes[scene as usize].name.clone();
                    self.enter_scene(&name)?;
                }
                self.idx = jump.line;
                if let Some(p) = &jump.params {
                    self.params = Some(Arc::clone(p));
                }
                if jump.scene.is_some() && jump.params.is_none() {
                    return Ok(Out::Nothing);
                }
            }
            Cmd::GotoScene { gosub } => {
                if *gosub {
                    self.scene_hist.push((self.scene, self.idx));
                }
                let split = split_into_params(text);
                if split.len() < 2 {
                    return Err(format!("AssertionError: `{text}` names no scene"));
                }
                let scene = self.process_exp(&split[1], true, false)?.to_lowercase();
                self.enter_scene(&scene)?;
                if split.len() == 2 {
                    self.idx = 0;
                    return Ok(Out::Nothing);
                }
                let label = self.process_exp(&split[2], true, false)?.to_lowercase();
                self.idx = self.label(&label)?;
                self.params = Some(split[3..].to_vec().into());
            }
            Cmd::Goto { gosub } => {
                if *gosub {
                    self.scene_hist.push((self.scene, self.idx));
                }
                let split = split_into_params(text);
                let label = split.get(1).ok_or_else(|| format!("IndexError: `{text}` names no label"))?;
                let label = self.process_exp(label, true, false)?.to_lowercase();
                self.idx = self.label(&label)?;
                self.params = Some(split[2..].to_vec().into());
            }
            Cmd::HideReuse => {
                if text.contains('#') {
                    return Err("AssertionError: *hide_reuse on an option line outside a choice".into());
                }
                self.hide_reuse = true;
            }
            Cmd::InputNumber => {
                let var =
                    split_ws(text, usize::MAX).get(1).ok_or("IndexError: *input_number names nothing")?.to_string();
                self.set_var(&var, Some("1"), None)?;
            }
            Cmd::InputText => {
                let var = split_ws(text, usize::MAX).get(1).ok_or("IndexError: *input_text names nothing")?.to_string();
                let answer = self.game.quirks.inputs.iter().find(|(v, _)| *v == var).map_or("user_input", |(_, a)| a);
                self.set_var(&var, Some(&format!("\"{answer}\"")), None)?;
            }
            Cmd::PageBreak => {
                self.inc_idx()?;
                let rest: String = text.chars().skip(12).collect();
                return Ok(Out::Text(format!("*****{rest}*****")));
            }
            Cmd::Params => {
                let names: Vec<String> = split_ws(text, usize::MAX)[1..].iter().map(|s| s.to_string()).collect();
                let params = self.params.clone().ok_or("AttributeError: *params before any *gosub")?;
                for (var, val) in names.iter().zip(params.iter()) {
                    self.set_var(var, Some(val), None)?;
                }
            }
            Cmd::Rand => {
                let parts = split_ws(text, 3);
                if parts.len() != 4 {
                    return Err("ValueError: *rand needs a name and two bounds".into());
                }
                let lo = self.process_user_vars(parts[2])?.to_int()?;
                let hi = self.process_user_vars(parts[3])?.to_int()?;
                let v = self
                    .rng()
                    .randint(lo, hi)
                    .ok_or_else(|| format!("ValueError: empty range for randrange() ({lo}, {})", hi + 1))?;
                self.set_var(parts[1], Some(&v.to_string()), None)?;
            }
            Cmd::Return => {
                let (scene, idx) = self.scene_hist.pop().ok_or("IndexError: *return with no *gosub to return to")?;
                self.scene = scene;
                self.idx = idx;
            }
            Cmd::Script => {
                if self.game.quirks.magics && self.scene_name() == "utils" {
                    if self.idx == 655 {
                        let mut copy = self.clone();
                        copy.saved = None;
                        self.saved = Some(Box::new(copy));
                    } else if self.idx == 661
                        && let Some(saved) = self.saved.clone()
                    {
                        self.restore(&saved);
                    }
                }
            }
            Cmd::SetRef => {
                let parts = split_ws(text, 2);
                if parts.len() < 3 {
                    return Err("ValueError: *setref needs a name and a value".into());
                }
                let get_ref = !(parts[1].contains('"') || parts[1].contains('\''));
                let mut var = self.process_exp(parts[1], true, true)?.replace('"', "").to_lowercase();
                if get_ref {
                    let id = self.resolve(&var);
                    var = self.get(id)?.to_string();
                }
                self.set_var(&var, Some(parts[2]), None)?;
            }
            Cmd::Set if line.set.is_some() && self.game.fast => {
                self.set_var("", None, line.set.as_ref())?;
            }
            Cmd::Set => {
                let parts = split_ws(text, 2);
                if parts.len() < 3 {
                    return Err("ValueError: *set needs a name and a value".into());
                }
                self.set_var(parts[1], Some(parts[2]), line.set.as_ref())?;
            }
            Cmd::StatChart => {
                let end = group_end(self.lines(), self.idx, self.lines().len());
                self.idx = end - 1;
            }
            Cmd::Temp => {
                let parts = split_ws(text, 2);
                let name = parts.get(1).ok_or("TypeError: *temp names nothing")?;
                let var = self.set_var(name, parts.get(2).copied(), None)?;
                self.user[var as usize] = true;
                let value = self.get(var).unwrap_or(Py::None);
                let scene = self.scene;
                let temps = self.temps_of(scene);
                match temps.iter_mut().find(|(v, _)| *v == var) {
                    Some(t) => t.1 = value,
                    None => temps.push((var, value)),
                }
            }
            Cmd::Ignore => {}
            Cmd::Unknown => return Err(format!("AssertionError: unknown command `{text}`")),
        }
        self.inc_idx()?;
        Ok(Out::Nothing)
    }

    fn rng(&mut self) -> &mut PyRandom {
        let seed = self.seed;
        self.rng.get_or_insert_with(|| PyRandom::new(seed))
    }

    fn restore(&mut self, saved: &Player) {
        // Choice of Magics: `_load_state()` without a position puts back the variables, choices,
        // achievements and history, not where play is.
        let (scene, idx, done) = (self.scene, self.idx, self.done);
        let buffer = std::mem::take(&mut self.buffer);
        let rng = self.rng.take();
        let keep = saved.saved.clone();
        *self = saved.clone();
        self.saved = keep;
        (self.scene, self.idx, self.done, self.buffer, self.rng) = (scene, idx, done, buffer, rng);
    }

    fn temps_of(&mut self, scene: u32) -> &mut Vec<(u32, Py)> {
        let i = match self.temps.iter().position(|(s, _)| *s == scene) {
            Some(i) => i,
            None => {
                self.temps.push((scene, Vec::new()));
                self.temps.len() - 1
            }
        };
        &mut self.temps[i].1
    }

    fn label(&self, label: &str) -> Step<usize> {
        let key = format!("{}_{label}", self.scene_name());
        self.game.labels.get(&key).copied().ok_or_else(|| format!("KeyError: no label `{key}`"))
    }

    /// MACHIAVELLI's `_reset_scene` after changing to scene `name`.
    fn enter_scene(&mut self, name: &str) -> Step {
        let id = *self.game.scene_ids.get(name).ok_or_else(|| format!("KeyError: no scene `{name}`"))?;
        self.scene = id;
        self.hide_reuse = false;
        for ((s, i), flag) in &mut self.discarded {
            if *flag && format!("{}_{i}", self.game.scenes[*s as usize].name).starts_with(name) {
                *flag = false;
            }
        }
        if let Some((_, temps)) = self.temps.iter().find(|(s, _)| *s == id) {
            for (var, v) in temps.clone() {
                self.vars[var as usize] = Some(v);
            }
        }
        Ok(())
    }

    fn set_achievement(&mut self, a: Arc<Achievement>) {
        match self.achievements.iter_mut().find(|x| x.id == a.id) {
            Some(x) => *x = a,
            None => self.achievements.push(a),
        }
    }

    /// The index after line `idx` as `_inc_idx` computes it: the next line, or past the options
    /// and `*else` clauses that follow when the next line is not deeper.
    fn next_index(&self, idx: usize) -> Step<usize> {
        let lines = self.lines();
        let here = self.line(idx)?.indent;
        let next = self.line(idx + 1)?;
        if next.indent > here {
            return Ok(idx + 1);
        }
        let mut j = idx + 1;
        while self.is_choice(j)? || self.line(j)?.text.starts_with("*else") {
            j = group_end(lines, j, lines.len());
        }
        if self.line(j)?.indent > here {
            return Err("AssertionError: indentation after a skipped block".into());
        }
        Ok(j)
    }

    fn inc_idx(&mut self) -> Step {
        self.idx = self.next_index(self.idx)?;
        Ok(())
    }

    /// `_is_choice`: whether line `i` starts an option (possibly under reuse and `*if` lines).
    fn is_choice(&self, i: usize) -> Step<bool> {
        Ok(self.line(i)?.option)
    }

    /// `_get_choices` over lines `start..end`: texts, target lines (`None`: no body) and option
    /// lines of the options offered.
    fn get_choices(&mut self, start: usize, end: usize, hide: bool, out: &mut Vec<(Option<usize>, usize)>) -> Step {
        let game = Arc::clone(&self.game);
        let lines = &game.scenes[self.scene as usize].lines;
        let mut j = start;
        while j < end {
            let option_end = group_end(lines, j, end);
            match &lines[j].in_choice {
                InChoice::Option { cond, text, hides, allow } => {
                    // `_maybe_discard_choice`: note an option that hides after use.
                    let key = (self.scene, j);
                    if !allow && (self.hide_reuse || *hides || hide) && !self.discarded.iter().any(|(k, _)| *k == key) {
                        self.discarded.push((key, false));
                    }
                    let mut valid = !self.discarded.iter().any(|(k, d)| *k == key && *d);
                    if valid && ["*if", "*elseif", "*else"].iter().any(|p| cond.starts_with(p)) {
                        valid = self.check_cond(cond, lines[j].cond.as_ref())?;
                    }
                    if valid && text != RETURN_TO_CHAPTER {
                        out.push(((option_end - j > 1).then_some(j + 1), j));
                    }
                }
                InChoice::Cond(line) => {
                    if self.check_cond(line, lines[j].cond.as_ref())? {
                        self.get_choices(j + 1, option_end, hide, out)?;
                    }
                }
                InChoice::Other => {}
            }
            j = option_end;
        }
        Ok(())
    }

    /// `_check_cond` of one clause line: whether it holds (`*else` always does).
    fn check_cond(&mut self, cond: &str, parsed: Option<&Expr>) -> Step<bool> {
        if let Some(e) = parsed.filter(|_| self.game.fast) {
            let v = e.eval(self)?;
            return self.check_result(v, cond, true).map(|v| v.truthy());
        }
        if let Some(text) = cond.strip_prefix("*if") {
            let text = text.split("*if").next().unwrap_or("");
            self.check_text(text, parsed, true).map(|v| v.truthy())
        } else if let Some(text) = cond.strip_prefix("*elseif") {
            let text = text.split("*elseif").next().unwrap_or("");
            self.check_text(text, parsed, true).map(|v| v.truthy())
        } else if cond.starts_with("*else") {
            Ok(true)
        } else {
            Err(format!("AssertionError: `{cond}` is not a condition"))
        }
    }

    fn check_cond_lines(&mut self, clauses: &[usize]) -> Step<Option<usize>> {
        let game = Arc::clone(&self.game);
        let lines = &game.scenes[self.scene as usize].lines;
        for (k, &j) in clauses.iter().enumerate() {
            if self.check_cond(&lines[j].text, lines[j].cond.as_ref())? {
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    /// `_check_text`: a condition's value.
    fn check_text(&mut self, text: &str, parsed: Option<&Expr>, catch_errors: bool) -> Step<Py> {
        if let Some(e) = parsed.filter(|_| self.game.fast) {
            let v = e.eval(self)?;
            return self.check_result(v, text, catch_errors);
        }
        if text.contains("choice_time_stamp") {
            return Ok(Py::Bool(false));
        }
        let t = pythonic_booleans(text);
        let t = self.process_exp(t.trim(), false, true)?;
        let t = self.fairmath(None, &t)?;
        let v = self.process_user_vars(&t)?;
        self.check_result(v, &t, catch_errors)
    }

    fn check_result(&mut self, v: Py, text: &str, catch_errors: bool) -> Step<Py> {
        if catch_errors && !matches!(v, Py::Bool(_)) {
            return Err(format!("AssertionError: condition `{}` gave {v}, not a bool", text.trim()));
        }
        if v == Py::Bool(false) && self.game.quirks.int_maybe_string {
            let exp = text.rsplit('=').next().unwrap_or("").trim().to_string();
            let digits = exp.replace('"', "").replacen('.', "1", 1);
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                let again = self.process_user_vars(&text.replace('"', ""))?;
                return Ok(Py::Bool(again.truthy()));
            }
        }
        Ok(v)
    }

    /// `_process_user_vars`: evaluates Python text.
    fn process_user_vars(&mut self, text: &str) -> Step<Py> {
        let e = pyexpr::parse(text.trim(), &mut |n| self.resolve(n))?;
        e.eval(self)
    }

    /// `_process_exp`: the textual rewriting before evaluation.
    fn process_exp(&mut self, text: &str, process_and: bool, process_kw: bool) -> Step<String> {
        let mut t = text.to_string();
        if t.contains("choice_achieved_") {
            t = self.replace_achieved(&t);
        }
        t = self.process_text(&t)?;
        t = rewrite_static(&t, &self.game.kw_vars, process_kw);
        if t.contains("length(") {
            t = self.replace_length(&t)?;
        }
        if t.contains('#') {
            t = self.replace_char_index(&t)?;
        }
        while t.contains('{') {
            if !t.contains('}') {
                return Err("AssertionError: `{` without `}`".into());
            }
            let next = self.replace_references(&t)?;
            if next == t {
                return Err(format!("`{t}` has a `{{` that never closes around a name"));
            }
            t = next;
        }
        if t.contains('&') {
            t = t.replace(['(', ')'], "");
            let pieces = split_outside_double_quotes(&t, '&');
            if process_and {
                let mut joined = String::new();
                for p in pieces {
                    joined.push_str(&self.process_user_vars(p)?.to_string());
                }
                t = format!("\"{joined}\"");
            } else {
                t = pieces.join("+");
            }
        }
        Ok(t)
    }

    fn replace_achieved(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("choice_achieved_") {
            let after = &rest[i + 16..];
            let n = after.find(|c: char| !is_word(c)).unwrap_or(after.len());
            if n == 0 {
                out.push_str(&rest[..i + 16]);
                rest = after;
                continue;
            }
            out.push_str(&rest[..i]);
            out.push_str(if self.unlocked.iter().any(|u| u == &after[..n]) { "True" } else { "False" });
            rest = &after[n..];
        }
        out.push_str(rest);
        out
    }

    /// `length(name)` to the length of the name's value as text.
    fn replace_length(&mut self, text: &str) -> Step<String> {
        let mut out = String::new();
        let mut rest = text.to_string();
        while let Some(i) = rest.find("length(") {
            let after = &rest[i + 7..];
            let n = after.find(|c: char| !is_word(c)).unwrap_or(after.len());
            if n == 0 || !after[n..].starts_with(')') {
                out.push_str(&rest[..i + 7]);
                rest = after.to_string();
                continue;
            }
            let v = self.process_user_vars(&after[..n])?;
            out.push_str(&rest[..i]);
            out.push_str(&v.to_string().chars().count().to_string());
            rest = after[n + 1..].to_string();
        }
        out.push_str(&rest);
        Ok(out)
    }

    /// `name#index` to that character of the name's value.
    fn replace_char_index(&mut self, text: &str) -> Step<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '#' && i > 0 && is_word(chars[i - 1]) && chars.get(i + 1).is_some_and(|&c| is_word(c)) {
                let mut s = out.len();
                while let Some(c) = out[..s].chars().next_back().filter(|&c| is_word(c)) {
                    s -= c.len_utf8();
                }
                let var = out[s..].to_string();
                let mut e = i + 1;
                while e < chars.len() && is_word(chars[e]) {
                    e += 1;
                }
                let idx: String = chars[i + 1..e].iter().collect();
                let v = self.process_exp(&var, true, true)?;
                let v = self.process_user_vars(&v)?.to_string();
                let k = self.process_exp(&idx, true, true)?;
                let k = self.process_user_vars(&k)?.to_int()?;
                out.truncate(s);
                out.push(pyexpr::char_at(&v, k - 1)?);
                i = e;
                continue;
            }
            out.push(chars[i]);
            i += 1;
        }
        Ok(out)
    }

    /// Each innermost `{name}` to the name's value.
    fn replace_references(&mut self, text: &str) -> Step<String> {
        map_groups(text, '{', '}', |inner| {
            if inner.is_empty() {
                return Ok(None);
            }
            let name = self.process_exp(inner, true, true)?.replace('"', "");
            Ok(Some(match self.process_user_vars(&name)? {
                Py::Str(s) if inner.contains('"') => format!("\"{s}\""),
                v => v.to_string(),
            }))
        })
    }

    /// `_process_text`: `${}`, `$!{}`, `$!!{}` and `@{}`.
    fn process_text(&mut self, text: &str) -> Step<String> {
        if !needs_interpolation(text) {
            return Ok(text.to_string());
        }
        let mut t: Vec<char> = text.chars().collect();
        for key in ["${", "$!{", "$!!{", "@{"] {
            let k: Vec<char> = key.chars().collect();
            while let Some(pos) = t.windows(k.len()).position(|w| w == k.as_slice()) {
                let i = pos + k.len();
                let mut j = 0;
                let mut count = 1;
                while count > 0 {
                    match t.get(i + j) {
                        None => return Err("IndexError: string index out of range (an unclosed `{`)".into()),
                        Some('{') => count += 1,
                        Some('}') => count -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                let m: String = t[i..i + j - 1].iter().collect();
                let mut sub = if key == "@{" { self.multi(&m)? } else { self.single(&m)? };
                if key == "$!{" {
                    sub = capitalize(&sub);
                } else if key == "$!!{" {
                    sub = sub.to_uppercase();
                }
                let mut next: Vec<char> = t[..pos].to_vec();
                next.extend(sub.chars());
                next.extend_from_slice(&t[i + j..]);
                t = next;
            }
        }
        Ok(t.into_iter().collect())
    }

    fn single(&mut self, m: &str) -> Step<String> {
        let var = m.to_lowercase();
        let split: Vec<&str> = var.split('#').collect();
        match split.as_slice() {
            [v] => Ok(self.check_text(v, None, false)?.to_string()),
            [v, l] => {
                let l = self.check_text(l, None, false)?.to_int()?;
                let s = self.process_user_vars(v)?.to_string();
                Ok(pyexpr::char_at(&s, l - 1)?.to_string())
            }
            _ => Err("ValueError: too many values to unpack".into()),
        }
    }

    fn multi(&mut self, m: &str) -> Step<String> {
        let exp = split_into_params(m).into_iter().next().unwrap_or_default();
        let options: Vec<String> = m.replace(&exp, "").trim().split('|').map(String::from).collect();
        let v = self.check_text(&exp, None, false)?;
        let v = match v {
            Py::Bool(b) => 2 - b as i64,
            v => v.to_int()?,
        };
        let n = options.len() as i64;
        let k = if v - 1 < 0 { v - 1 + n } else { v - 1 };
        options
            .get(k as usize)
            .filter(|_| (0..n).contains(&k))
            .cloned()
            .ok_or_else(|| "IndexError: list index out of range".into())
    }

    /// `_fairmath`: `%+` and `%-` by MACHIAVELLI's textual rule.
    fn fairmath(&mut self, var: Option<&str>, val: &str) -> Step<String> {
        let mut val = val.trim().to_string();
        if val.starts_with("%+") || val.starts_with("%-") {
            val = format!("({} {val})", var.unwrap_or("None"));
        }
        let mut rounds = 0;
        while val.contains("%+") || val.contains("%-") {
            rounds += 1;
            if rounds > 10_000 {
                return Err("fairmath does not resolve".into());
            }
            val = format!("({val})");
            // Each innermost group is replaced by its value.
            val = map_groups(&val, '(', ')', |inner| self.rel_change(inner).map(Some))?;
        }
        Ok(val)
    }

    fn rel_change(&mut self, text: &str) -> Step<String> {
        let wrap = |t: &str| match t.strip_prefix("round_to_int") {
            Some(rest) => format!("round_to_int({rest})"),
            None => t.to_string(),
        };
        let (add, sep) = if text.contains("%+") {
            (true, "%+")
        } else if text.contains("%-") {
            (false, "%-")
        } else {
            let t = wrap(text);
            let t = self.process_exp(&t, true, true)?;
            return Ok(self.process_user_vars(&t)?.to_string());
        };
        let parts: Vec<&str> = text.split(sep).collect();
        if parts.len() != 2 {
            return Err("AssertionError: more than one fairmath operator in a group".into());
        }
        let old = self.process_exp(parts[0], true, true)?;
        let old = self.process_user_vars(&old)?.to_float()?;
        let new = self.process_exp(&wrap(parts[1]), true, true)?;
        let new = self.process_user_vars(&new)?.to_float()?;
        Ok(self.game.fair(add, old, new)?.to_string())
    }

    /// `_set_var`: assigns `val` to `var` (`None`: a `*temp` with no value); gives the variable.
    fn set_var(&mut self, var: &str, val: Option<&str>, plan: Option<&SetPlan>) -> Step<u32> {
        if let Some(plan) = plan.filter(|_| self.game.fast) {
            let v = match &plan.how {
                SetHow::Empty => Py::str(""),
                SetHow::Bool(b) => Py::Bool(*b),
                SetHow::Str(s) => Py::Str(Arc::clone(s)),
                SetHow::Eval(e) => e.eval(self)?,
                SetHow::Relative(op, e) => {
                    let mut operand = e.eval(self)?;
                    if let Py::Str(s) = &operand {
                        // `var op= <operand as text>` reads a string operand as an expression.
                        operand = self.process_user_vars(&s.clone())?;
                    }
                    self.relative(plan.var, *op, operand)?
                }
                SetHow::Fair(add, e) => {
                    let old = self.get(plan.var)?.to_float()?;
                    let new = e.eval(self)?.to_float()?;
                    self.game.fair(*add, old, new)?
                }
            };
            self.assign(plan.var, v);
            return Ok(plan.var);
        }
        let name = self.process_exp(&var.to_lowercase(), true, true)?.replace('"', "");
        let id = self.resolve(&name);
        let Some(val) = val else {
            self.assign(id, Py::None);
            return Ok(id);
        };
        if let Some(rest) = val.strip_prefix('&') {
            let add = self.process_exp(rest, true, true)?;
            let cur = self.get(id)?;
            let Py::Str(s) = cur else {
                return Err(format!("TypeError: can only append to a str, not {cur}"));
            };
            self.assign(id, Py::str(&format!("{s}\"{add}\"")));
            return Ok(id);
        }
        let hashtag = val.contains('#');
        let v = self.process_exp(val, true, true)?;
        let v = self.fairmath(Some(&name), &v)?;
        if v.contains("%+") || v.contains("%-") {
            return Err("AssertionError: fairmath left unresolved".into());
        }
        let low = v.to_lowercase().replace('"', "");
        let value = if v.is_empty() {
            Py::str("")
        } else if low == "true" {
            Py::Bool(true)
        } else if low == "false" || v.contains("choice_time_stamp") {
            Py::Bool(false)
        } else if let Some(op) = match v.as_bytes()[0] {
            b'+' => Some(BinOp::Add),
            b'-' => Some(BinOp::Sub),
            b'*' => Some(BinOp::Mul),
            b'/' => Some(BinOp::Div),
            _ => None,
        } {
            let operand = self.process_user_vars(&v[1..].trim().to_lowercase())?;
            // MACHIAVELLI evaluates `var op= <operand as text>`.
            let operand = self.process_user_vars(&operand.to_string())?;
            self.relative(id, op, operand)?
        } else if v.contains('=') {
            self.process_user_vars(&v)?
        } else if v.contains('"') || v.contains('\'') || hashtag {
            Py::str(&v.replace(['\\', '"'], ""))
        } else {
            self.process_user_vars(&v)?
        };
        let value = match value {
            Py::Str(s) if self.game.quirks.int_maybe_string && is_decimal(&s) => Py::Float(s.parse().unwrap_or(0.0)),
            v => v,
        };
        self.assign(id, value);
        Ok(id)
    }

    fn relative(&mut self, var: u32, op: BinOp, operand: Py) -> Step<Py> {
        let cur = self.get(var)?;
        match pyexpr::binary(op, &cur, &operand) {
            Ok(v) => Ok(v),
            Err(e) if e.starts_with("TypeError") => match &cur {
                Py::Str(_) => pyexpr::binary(op, &Py::Float(cur.to_float()?), &operand),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Stores a value and keeps the scene's copy of a temp in step (`_temp_var`).
    fn assign(&mut self, var: u32, v: Py) {
        let scene = self.scene;
        if let Some((_, temps)) = self.temps.iter_mut().find(|(s, _)| *s == scene)
            && let Some(t) = temps.iter_mut().find(|(x, _)| *x == var)
        {
            t.1 = v.clone();
        }
        self.vars[var as usize] = Some(v);
    }
}

/// Whether text holds `${`, `$!{`, `$!!{` or `@{`.
fn needs_interpolation(text: &str) -> bool {
    text.contains('{') && ["${", "$!{", "$!!{", "@{"].iter().any(|k| text.contains(k))
}

/// `str.replace('.', '1', 1).isdigit()` (a non-negative decimal).
fn is_decimal(s: &str) -> bool {
    let t = s.replacen('.', "1", 1);
    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())
}

/// Python's `str.capitalize`.
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

/// Splits at each `sep` followed by an even number of `"` (outside string literals).
fn split_outside_double_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == sep && outside_quotes(text, i + 1, &['"']) {
            out.push(&text[start..i]);
            start = i + 1;
        }
    }
    out.push(&text[start..]);
    out
}

/// The text without `{…#…}` references (which hold a `#` that is not an option's).
fn strip_hash_references(text: &str) -> String {
    let strip = |inner: &str| -> Result<Option<String>, ()> {
        Ok(inner.find('#').is_some_and(|h| h > 0 && h + 1 < inner.len()).then(String::new))
    };
    map_groups(text, '{', '}', strip).unwrap_or_else(|()| text.to_string())
}

/// Each innermost group, `open`, text with neither bracket, `close`, replaced by what `f` makes of
/// the text inside (`None`: the group is kept), in one pass from the left, as a regular
/// expression's substitution does.
fn map_groups<E>(
    text: &str,
    open: char,
    close: char,
    mut f: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<String, E> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(open) {
        let after = &rest[at + open.len_utf8()..];
        match after.find([open, close]) {
            Some(end) if after[end..].starts_with(close) => {
                let inner = &after[..end];
                out.push_str(&rest[..at]);
                match f(inner)? {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push(open);
                        out.push_str(inner);
                        out.push(close);
                    }
                }
                rest = &after[end + close.len_utf8()..];
            }
            _ => {
                out.push_str(&rest[..at + open.len_utf8()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_as_python_splits_them() {
        assert_eq!(split_ws("*set  x   y + 1", 2), vec!["*set", "x", "y + 1"]);
        assert_eq!(split_ws("*temp x", 2), vec!["*temp", "x"]);
        assert_eq!(split_into_params("*goto_scene \"a b\" (c d) e"), vec!["*goto_scene", "\"a b\"", "(c d)", "e"]);
        assert_eq!(capitalize("hello World"), "Hello world");
        assert_eq!(pythonic_booleans("x = true and y = \"true\""), "x = True and y = \"true\"");
        assert_eq!(strip_hash_references("*if {a#b} x"), "*if  x");
        assert_eq!(unquote_interpolations("*set a \"${b}\""), "*set a b");
        assert_eq!(rename_keywords("class + \"class\" + classy", &["class".into()]), "class_ + \"class\" + classy");
    }
}
