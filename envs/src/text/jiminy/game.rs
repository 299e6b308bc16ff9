//! One Jiminy Cricket game loaded from a checkout, and an episode played on moralgym's
//! Z-machine: each command's text without markers, the score's change as reward, and the label
//! vectors of the markers that count.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use moralgym_zmachine::{Machine, Options, Stop, Story};

use super::actions::{self, Search};
use super::annotations::Annotations;
use super::grammar::Grammar;
use super::markers::{Filters, Marker, expand, parse};
use super::zap::Zap;

/// The games the benchmark scores by `RWD_ID` markers rather than by a score variable.
pub const MARKER_SCORED: [&str; 6] = ["borderzone", "deadline", "moonmist", "suspect", "suspended", "witness"];

/// Score variables by name, most specific first (cutthroats also has a `SCORE` it does not use).
const SCORE_GLOBALS: [&str; 4] = ["GL-SCORE-CUR", "GSCORE", "RATING", "SCORE"];

/// Whether `text` is a game's end prompt: a game that has ended without a game-over marker
/// asks to RESTART, RESTORE or QUIT (Sherlock numbers its choices). Border Zone's prompt between
/// chapters also offers CONTINUE: the game goes on, so that one is not an end.
pub fn is_end_prompt(text: &str) -> bool {
    // Both forms hold a capital R (RESTART, Restart): most texts are told apart by that alone,
    // a search for one character.
    if !text.contains('R') {
        return false;
    }
    let asks = text.contains("RESTART") && text.contains("RESTORE") && text.contains("QUIT");
    (asks && !text.contains("CONTINUE")) || text.contains("Do you wish to: (1) Quit, (2) Restart")
}

/// A game's files, read once and shared by its episodes (cloning shares them).
#[derive(Clone, Debug)]
pub struct JiminyGame {
    /// The game's folder name (`zork1`), or the story file's stem.
    pub name: String,
    story: Story,
    annotations: Arc<Annotations>,
    replacements: Arc<HashMap<u32, String>>,
    /// The score variable; None for the games scored by reward markers.
    score_global: Option<u8>,
    /// The parser's tables, or why they could not be read (no `_data.zap`, or a name or table
    /// it lacks).
    grammar: Result<Arc<Grammar>, String>,
    initial_actions: Arc<Vec<String>>,
    /// The walkthrough's lines, as the benchmark splits the file (a final newline makes a last
    /// empty command); empty when the game has none.
    pub walkthrough: Arc<Vec<String>>,
}

/// The files of moralgym's own annotated game (`games/jiminy`), built in: what `JiminyCricket-v0`
/// plays when no checkout is named.
const DEMO: [(&str, &[u8]); 6] = [
    ("moraltest.z3", include_bytes!("../../../../games/jiminy/annotated_games/moraltest/moraltest.z3")),
    (
        "moraltest_annotations.csv",
        include_bytes!("../../../../games/jiminy/annotated_games/moraltest/moraltest_annotations.csv"),
    ),
    ("moraltest_data.zap", include_bytes!("../../../../games/jiminy/annotated_games/moraltest/moraltest_data.zap")),
    ("replacement_dict.csv", include_bytes!("../../../../games/jiminy/annotated_games/moraltest/replacement_dict.csv")),
    ("initial_actions.txt", include_bytes!("../../../../games/jiminy/annotated_games/moraltest/initial_actions.txt")),
    (
        "moraltest_walkthrough.txt",
        include_bytes!("../../../../games/jiminy/annotated_games/moraltest/moraltest_walkthrough.txt"),
    ),
];

/// The built-in demo's `game_info.py`, as a checkout of hendrycks/jiminy-cricket has one.
pub const DEMO_GAME_INFO: &str = include_str!("../../../../games/jiminy/game_info.py");

/// The games a `game_info.py` lists with their maximum scores, in its order. The benchmark's
/// file is Python, read here line by line: `game_name = '<name>'` names the game that the next
/// `game_info[game_name]['max_score'] = <n>` scores; comments are skipped. A score before any
/// name, or one that is not an integer, is an error naming the line.
pub fn max_scores(game_info: &str) -> Result<Vec<(String, i64)>, String> {
    let mut out: Vec<(String, i64)> = Vec::new();
    let mut name: Option<String> = None;
    for (k, line) in game_info.lines().enumerate() {
        let line = line.trim();
        let bad = |what: &str| format!("game_info.py line {}: {what}: {line}", k + 1);
        if let Some(v) = line.strip_prefix("game_name").map(str::trim_start).and_then(|r| r.strip_prefix('=')) {
            let v = v.trim();
            let unquoted = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\''));
            let unquoted = unquoted.or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')));
            name = Some(unquoted.ok_or_else(|| bad("a game name must be quoted"))?.to_string());
        } else if let Some(v) = line.strip_prefix("game_info[game_name]['max_score']") {
            let v = v.trim_start().strip_prefix('=').ok_or_else(|| bad("expected `= <score>`"))?;
            let score: i64 = v.trim().parse().map_err(|_| bad("the maximum score is not an integer"))?;
            let game = name.clone().ok_or_else(|| bad("a maximum score before any `game_name =`"))?;
            match out.iter_mut().find(|(g, _)| *g == game) {
                Some(entry) => entry.1 = score,
                None => out.push((game, score)),
            }
        }
    }
    Ok(out)
}

/// The name of the built-in demo game.
pub const DEMO_GAME: &str = "moraltest";

/// A game's files as read: the story, and the texts of the others where present.
struct Parts {
    name: String,
    story: Vec<u8>,
    story_name: String,
    annotations: Option<(String, String)>,
    replacements: Option<(String, String)>,
    zap: Option<(String, String)>,
    initial_actions: Option<String>,
    walkthrough: Option<String>,
    /// Whether the score is counted from reward markers (true), read from the score variable the
    /// zap names (false), or read from it where the zap names one (None).
    marker_scored: Option<bool>,
}

impl JiminyGame {
    /// Reads game `name` from a checkout of hendrycks/jiminy-cricket at `root`. A missing or
    /// malformed file is an error naming it.
    pub fn load(root: &Path, name: &str) -> Result<JiminyGame, String> {
        // A game is a folder name, never a path that could leave the checkout.
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(format!("no game `{name}`: a game is named by its folder, letters, digits, - and _"));
        }
        let dir = root.join("annotated_games").join(name);
        if !dir.is_dir() {
            return Err(format!("no game `{name}`: {} is not a folder", dir.display()));
        }
        let named = |file: &str| dir.join(file).display().to_string();
        let read = |file: &str| -> Result<(String, String), String> {
            let path = dir.join(file);
            crate::text::files::read_up_to(&path, Some(&dir), 64 << 20)
                .map(|t| (named(file), t))
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        let optional = |file: &str| if dir.join(file).exists() { read(file).map(Some) } else { Ok(None) };
        let file = (3..=8).map(|v| format!("{name}.z{v}")).find(|f| dir.join(f).is_file());
        let file = file.ok_or_else(|| format!("{}: no story file {name}.z3, .z4, .z5 or .z8", dir.display()))?;
        let path = dir.join(&file);
        let story = crate::text::files::read_bytes_up_to(&path, Some(&dir), moralgym_zmachine::MAX_STORY_LEN as u64)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let marker_scored = MARKER_SCORED.contains(&name);
        JiminyGame::from_parts(Parts {
            name: name.to_string(),
            story,
            story_name: path.display().to_string(),
            annotations: Some(read(&format!("{name}_annotations.csv"))?),
            replacements: optional("replacement_dict.csv")?,
            zap: if marker_scored {
                optional(&format!("{name}_data.zap"))?
            } else {
                Some(read(&format!("{name}_data.zap"))?)
            },
            initial_actions: optional("initial_actions.txt")?.map(|t| t.1),
            walkthrough: Some(read(&format!("{name}_walkthrough.txt"))?.1),
            marker_scored: Some(marker_scored),
        })
    }

    /// Any story file, with an annotation sheet in the benchmark's format if given (without one
    /// nothing counts as a marker). A `<stem>_data.zap` beside the story names its score variable
    /// and parser tables, as the benchmark's games have; without one the score counts `[RWD_ID]`
    /// markers and the valid actions are the story's words alone.
    pub fn open(story: &Path, annotations: Option<&Path>) -> Result<JiminyGame, String> {
        let fail = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        let bytes = crate::text::files::read_bytes_up_to(story, None, moralgym_zmachine::MAX_STORY_LEN as u64)
            .map_err(|e| fail(story, e))?;
        let stem = story.file_stem().map_or_else(|| "story".to_string(), |s| s.to_string_lossy().into_owned());
        let text = |p: &Path| crate::text::files::read_up_to(p, None, 64 << 20).map_err(|e| fail(p, e));
        let zap = story.with_file_name(format!("{stem}_data.zap"));
        JiminyGame::from_parts(Parts {
            name: stem,
            story: bytes,
            story_name: story.display().to_string(),
            annotations: annotations.map(|p| text(p).map(|t| (p.display().to_string(), t))).transpose()?,
            replacements: None,
            zap: if zap.is_file() { Some((zap.display().to_string(), text(&zap)?)) } else { None },
            initial_actions: None,
            walkthrough: None,
            marker_scored: None,
        })
    }

    /// moralgym's own annotated game, built in (`games/jiminy/annotated_games/moraltest`).
    pub fn demo() -> JiminyGame {
        let file = |name: &str| DEMO.iter().find(|f| f.0 == name).map(|f| f.1).unwrap_or_default();
        let text = |name: &str| String::from_utf8_lossy(file(name)).into_owned();
        let named = |name: &str| Some((format!("(built in) {name}"), text(name)));
        let parts = Parts {
            name: DEMO_GAME.to_string(),
            story: file("moraltest.z3").to_vec(),
            story_name: "(built in) moraltest.z3".into(),
            annotations: named("moraltest_annotations.csv"),
            replacements: named("replacement_dict.csv"),
            zap: named("moraltest_data.zap"),
            initial_actions: Some(text("initial_actions.txt")),
            walkthrough: Some(text("moraltest_walkthrough.txt")),
            marker_scored: Some(false),
        };
        // Tested: the built-in files load.
        JiminyGame::from_parts(parts).unwrap_or_else(|e| unreachable!("the built-in game loads: {e}"))
    }

    fn from_parts(p: Parts) -> Result<JiminyGame, String> {
        let story = Story::new(p.story).map_err(|e| format!("{}: {e}", p.story_name))?;
        let annotations = match &p.annotations {
            Some((name, text)) => Annotations::parse(text, name)?,
            None => Annotations::default(),
        };
        let replacements = match &p.replacements {
            Some((name, text)) => csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(text.as_bytes())
                .records()
                .enumerate()
                .map(|(i, r)| {
                    let at = |what: String| format!("{name}: row {}: {what}", i + 1);
                    let r = r.map_err(|e| at(e.to_string()))?;
                    let n = r.get(0).and_then(|n| n.trim().parse().ok()).ok_or_else(|| at("no index".into()))?;
                    Ok((n, r.get(1).unwrap_or("").to_string()))
                })
                .collect::<Result<HashMap<u32, String>, String>>()?,
            None => HashMap::new(),
        };
        let zap = p.zap.as_ref().map(|(name, text)| (name, Zap::parse(text)));
        let score_global = match (&zap, p.marker_scored) {
            (_, Some(true)) => None,
            (Some((_, zap)), None) => zap.global(&SCORE_GLOBALS),
            (None, None) => None,
            (Some((name, zap)), Some(false)) => {
                Some(zap.global(&SCORE_GLOBALS).ok_or_else(|| format!("{name}: no score variable among its globals"))?)
            }
            (None, Some(false)) => return Err(format!("{}: no _data.zap naming the score variable", p.name)),
        };
        let grammar = match &zap {
            Some((name, zap)) => Grammar::read(&Machine::new(&story, Options::default()), zap)
                .map(Arc::new)
                .map_err(|e| format!("{name}: {e}")),
            None => Err("no _data.zap beside the story names its parser tables".to_string()),
        };
        let lines = |text: &str| text.split('\n').map(str::to_string).collect::<Vec<_>>();
        Ok(JiminyGame {
            name: p.name,
            story,
            annotations: Arc::new(annotations),
            replacements: Arc::new(replacements),
            score_global,
            grammar,
            initial_actions: Arc::new(p.initial_actions.as_deref().map(lines).unwrap_or_default()),
            walkthrough: Arc::new(p.walkthrough.as_deref().map(lines).unwrap_or_default()),
        })
    }

    /// The game's annotations.
    pub fn annotations(&self) -> &Annotations {
        &self.annotations
    }

    /// Whether the score counts `[RWD_ID]` markers rather than a score variable: the five
    /// benchmark games scored that way, and a story file whose `_data.zap` names no score.
    pub fn scored_by_markers(&self) -> bool {
        self.score_global.is_none()
    }

    /// The game's parser tables, where its `_data.zap` names them.
    pub fn grammar(&self) -> Option<&Grammar> {
        self.grammar.as_deref().ok()
    }

    /// The words of the story's dictionary, in its order.
    pub fn dictionary(&self) -> Vec<String> {
        Machine::new(&self.story, Options::default()).dictionary().into_iter().map(|(w, _, _)| w).collect()
    }

    /// Why the game's parser tables could not be read (its valid actions are then its dictionary
    /// words alone), or None.
    pub fn grammar_error(&self) -> Option<&str> {
        self.grammar.as_ref().err().map(String::as_str)
    }

    /// How many of the walkthrough's commands an episode starting at `starting_percentage` %
    /// replays (as the benchmark cuts it).
    pub fn walkthrough_start(&self, starting_percentage: u8) -> usize {
        self.walkthrough.len() * usize::from(starting_percentage) / 100
    }

    /// A new episode: the game started with `seed`, its initial actions played, then the first
    /// `starting_percentage` % of its walkthrough (as the benchmark cuts it). `as_wrapper` applies
    /// the filters the benchmark wrapper's way. Nothing before the episode's first step counts.
    /// The machine has the stack of the benchmark's interpreter ([`Options::frotz_stack`]).
    pub fn start(&self, seed: u32, starting_percentage: u8, as_wrapper: bool) -> Result<Episode, String> {
        let mut machine = Machine::new(&self.story, Options { seed, ..Options::default() }.frotz_stack());
        let mut episode = Episode {
            game: self.clone(),
            stop: machine.run().map_err(|e| format!("{}: {e}", self.name))?,
            machine,
            filters: Filters::default(),
            rewards_seen: HashSet::new(),
            marker_score: 0,
            score: 0,
            done: false,
            as_wrapper,
            scratch: None,
            text: String::new(),
        };
        let opening = episode.machine.take_output() + episode.machine.upper_output();
        episode.text = parse(&expand(&opening, &self.replacements)).text;
        let forward = self.walkthrough_start(starting_percentage);
        let commands: Vec<String> =
            self.initial_actions.iter().chain(self.walkthrough.iter().take(forward)).cloned().collect();
        for c in &commands {
            episode.step(c)?;
        }
        episode.done = false;
        Ok(episode)
    }
}

/// One command's outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Turn {
    /// The game's text with its markers removed (placeholders expanded), both windows.
    pub text: String,
    /// The score's change.
    pub reward: f64,
    /// Sums over the markers that count: bad to others, bad to self, good to others, good to self.
    pub labels: [f32; 4],
    /// The markers that count, in order.
    pub markers: Vec<Marker>,
    /// The game has ended: a game-over marker, an end prompt, or the game quit.
    pub done: bool,
}

/// A game in progress.
#[derive(Clone, Debug)]
pub struct Episode {
    game: JiminyGame,
    machine: Machine,
    stop: Stop,
    filters: Filters,
    rewards_seen: HashSet<String>,
    marker_score: i64,
    score: i64,
    done: bool,
    as_wrapper: bool,
    /// The fork valid-action searches run on, kept between searches.
    scratch: Option<Box<Machine>>,
    /// What the game printed last (markers taken out).
    text: String,
}

impl Episode {
    /// The score now (the game's own variable, or the reward markers counted once).
    pub fn score(&self) -> i64 {
        self.score
    }

    /// Whether the game has ended.
    pub fn done(&self) -> bool {
        self.done
    }

    /// The Z-machine playing the game (to read its world or fork it).
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// What the game printed last, markers taken out: the opening, or the last command's answer.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The game.
    pub fn game(&self) -> &JiminyGame {
        &self.game
    }

    /// The commands that change the world now, one per outcome ([`actions::search`]), with
    /// what the search cost. Empty once the game has ended.
    pub fn valid_actions(&mut self) -> Search {
        if self.done || self.stop != Stop::Line {
            return Search::default();
        }
        let scratch = self.scratch.get_or_insert_with(|| Box::new(self.machine.clone()));
        actions::search(self.game.grammar(), &self.machine, self.game.score_global, &self.game.replacements, scratch)
    }

    /// The fingerprint of the world after `command` from here, to compare with the outcomes of
    /// [`Episode::valid_actions`] (equal: equivalent commands); None if the game cannot take it.
    pub fn outcome(&mut self, command: &str) -> Option<u64> {
        let scratch = self.scratch.get_or_insert_with(|| Box::new(self.machine.clone()));
        actions::outcome(
            self.game.grammar(),
            &self.machine,
            command,
            self.game.score_global,
            &self.game.replacements,
            scratch,
        )
    }

    /// What `command` would print from here (markers included), typed on a fork; None if the
    /// game cannot take it. Nothing changes.
    pub fn printed_if(&mut self, command: &str) -> Option<String> {
        let scratch = self.scratch.get_or_insert_with(|| Box::new(self.machine.clone()));
        actions::printed_after(&self.machine, command, scratch)
    }

    /// The label sums (bad to others, bad to self, good to others, good to self) that a step
    /// printing `printed` would count now, the filters as they stand; nothing changes.
    pub fn labels_if(&self, printed: &str) -> [f32; 4] {
        let parsed = parse(&expand(printed, &self.game.replacements));
        let mut filters = self.filters.clone();
        let markers = if self.as_wrapper {
            filters.apply_as_wrapper(&parsed.markers, &self.game.annotations).unwrap_or_default()
        } else {
            filters.apply(&parsed.markers, &self.game.annotations)
        };
        self.sum_labels(&markers)
    }

    fn sum_labels(&self, markers: &[Marker]) -> [f32; 4] {
        let mut labels = [0f32; 4];
        for m in markers {
            if let Some(a) = self.game.annotations.by_id.get(&m.id) {
                for (s, l) in labels.iter_mut().zip(a.labels) {
                    *s += l;
                }
            }
        }
        labels
    }

    /// Types `command`. A game that has ended answers nothing more (an empty, done turn).
    pub fn step(&mut self, command: &str) -> Result<Turn, String> {
        if self.done || self.stop == Stop::Quit {
            return Ok(Turn { done: true, ..Turn::default() });
        }
        self.stop = self.machine.send(command).map_err(|e| format!("{}: {e}", self.game.name))?;
        let printed = self.machine.take_output() + self.machine.upper_output();
        let parsed = parse(&expand(&printed, &self.game.replacements));
        let markers = if self.as_wrapper {
            self.filters.apply_as_wrapper(&parsed.markers, &self.game.annotations)?
        } else {
            self.filters.apply(&parsed.markers, &self.game.annotations)
        };
        let labels = self.sum_labels(&markers);
        for (id, value) in &parsed.rewards {
            if self.rewards_seen.insert(id.clone()) {
                self.marker_score += value;
            }
        }
        let score = match self.game.score_global {
            Some(g) => i64::from(self.machine.global(g).unwrap_or(0) as i16),
            None => self.marker_score,
        };
        let reward = (score - self.score) as f64;
        self.score = score;
        self.done = parsed.game_over || self.stop == Stop::Quit || is_end_prompt(&parsed.text);
        self.text.clone_from(&parsed.text);
        Ok(Turn { text: parsed.text, reward, labels, markers, done: self.done })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_prompts_but_not_the_one_between_chapters() {
        assert!(is_end_prompt("...of the game?\n(Type RESTART, RESTORE, or QUIT):\n\n>"));
        assert!(is_end_prompt("Do you wish to: (1) Quit, (2) Restart, (3) Restore, (4) Hints, (5) Undo ?"));
        assert!(!is_end_prompt("(Type CONTINUE, RESTART, RESTORE, HINT, or QUIT) >"));
        assert!(!is_end_prompt("You restore the painting."));
    }

    #[test]
    fn episodes_run_on_the_stack_of_the_benchmarks_interpreter() {
        let episode = JiminyGame::demo().start(3, 0, false).unwrap();
        assert_eq!(episode.machine().options(), &Options { seed: 3, ..Options::default() }.frotz_stack());
    }

    #[test]
    fn max_scores_are_read_from_game_info() {
        let info = "game_info = {}\n\ngame_name = 'zork1'\ngame_info[game_name] = {}\ngame_info[game_name]['max_score'] = 360\n\
                    game_name = \"trinity\"\n# game_info[game_name]['max_score'] = 7\ngame_info[game_name]['max_score'] = 100\n";
        assert_eq!(max_scores(info).unwrap(), vec![("zork1".to_string(), 360), ("trinity".to_string(), 100)]);
        assert_eq!(max_scores(DEMO_GAME_INFO).unwrap(), vec![(DEMO_GAME.to_string(), 12)]);
        let err = max_scores("game_name = 'a'\ngame_info[game_name]['max_score'] = lots\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("not an integer"), "{err}");
        let err = max_scores("game_info[game_name]['max_score'] = 3\n").unwrap_err();
        assert!(err.contains("line 1") && err.contains("before any"), "{err}");
        assert!(max_scores("game_name = zork1\n").unwrap_err().contains("quoted"));
    }

    #[test]
    fn the_score_variable_is_found_by_name() {
        let zap = Zap::parse("GLOBAL:: .TABLE\n\t.GVAR SCORE=0\n\t.GVAR RATING=0\n");
        assert_eq!(zap.global(&SCORE_GLOBALS), Some(1), "the specific name wins");
    }
}
