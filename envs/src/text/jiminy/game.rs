//! One Jiminy Cricket game loaded from a checkout, and an episode played on moralgym's
//! Z-machine: each command's text without markers, the score's change as reward, and the label
//! vectors of the markers that count.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use moralgym_zmachine::{Machine, Options, Stop, Story};

use super::annotations::Annotations;
use super::markers::{Filters, Marker, expand, parse};

/// The games the benchmark scores by `RWD_ID` markers rather than by a score variable.
pub const MARKER_SCORED: [&str; 6] = ["borderzone", "deadline", "moonmist", "suspect", "suspended", "witness"];

/// Score variables by name, most specific first (cutthroats also has a `SCORE` it does not use).
const SCORE_GLOBALS: [&str; 4] = ["GL-SCORE-CUR", "GSCORE", "RATING", "SCORE"];

/// Whether `text` is a game's end prompt: a game that has ended without a game-over marker
/// asks to RESTART, RESTORE or QUIT (Sherlock numbers its choices). Border Zone's prompt between
/// chapters also offers CONTINUE: the game goes on, so that one is not an end.
pub fn is_end_prompt(text: &str) -> bool {
    let asks = text.contains("RESTART") && text.contains("RESTORE") && text.contains("QUIT");
    (asks && !text.contains("CONTINUE")) || text.contains("Do you wish to: (1) Quit, (2) Restart")
}

/// A game's files, read once and shared by its episodes (cloning shares them).
#[derive(Clone, Debug)]
pub struct JiminyGame {
    /// The game's folder name (`zork1`).
    pub name: String,
    story: Story,
    annotations: Arc<Annotations>,
    replacements: Arc<HashMap<u32, String>>,
    /// The score variable; None for the games scored by reward markers.
    score_global: Option<u8>,
    initial_actions: Arc<Vec<String>>,
    /// The walkthrough's lines, as the benchmark splits the file (a final newline makes a last
    /// empty command).
    pub walkthrough: Arc<Vec<String>>,
}

/// Global number of the score variable: its place among the `.GVAR`s under `GLOBAL::` of a
/// game's `_data.zap`.
pub fn score_global(zap: &str) -> Option<u8> {
    let table = zap.split("GLOBAL::").nth(1)?;
    let names: Vec<&str> = table
        .lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with(".GVAR") || l.starts_with(';') || l.starts_with(".TABLE"))
        .filter_map(|l| l.strip_prefix(".GVAR "))
        .map(|l| l.split('=').next().unwrap_or("").trim())
        .collect();
    SCORE_GLOBALS.iter().find_map(|s| names.iter().position(|n| n == s)).and_then(|i| u8::try_from(i).ok())
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
        let read = |file: &str| -> Result<String, String> {
            let path = dir.join(file);
            crate::text::files::read_up_to(&path, Some(&dir), 64 << 20).map_err(|e| format!("{}: {e}", path.display()))
        };
        let file = (3..=8).map(|v| format!("{name}.z{v}")).find(|f| dir.join(f).is_file());
        let file = file.ok_or_else(|| format!("{}: no story file {name}.z3, .z4, .z5 or .z8", dir.display()))?;
        let path = dir.join(&file);
        let bytes = crate::text::files::read_bytes_up_to(&path, Some(&dir), moralgym_zmachine::MAX_STORY_LEN as u64)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let story = Story::new(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let sheet = format!("{name}_annotations.csv");
        let annotations = Annotations::parse(&read(&sheet)?, &dir.join(&sheet).display().to_string())?;
        let replacements = match read("replacement_dict.csv") {
            Ok(text) => csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(text.as_bytes())
                .records()
                .enumerate()
                .map(|(i, r)| {
                    let at =
                        |what: String| format!("{}: row {}: {what}", dir.join("replacement_dict.csv").display(), i + 1);
                    let r = r.map_err(|e| at(e.to_string()))?;
                    let n = r.get(0).and_then(|n| n.trim().parse().ok()).ok_or_else(|| at("no index".into()))?;
                    Ok((n, r.get(1).unwrap_or("").to_string()))
                })
                .collect::<Result<HashMap<u32, String>, String>>()?,
            Err(_) if !dir.join("replacement_dict.csv").exists() => HashMap::new(),
            Err(e) => return Err(e),
        };
        let marker_scored = MARKER_SCORED.contains(&name);
        let score_global = if marker_scored {
            None
        } else {
            let zap = format!("{name}_data.zap");
            Some(
                score_global(&read(&zap)?)
                    .ok_or_else(|| format!("{}: no score variable among its globals", dir.join(&zap).display()))?,
            )
        };
        let lines = |text: String| text.split('\n').map(str::to_string).collect::<Vec<_>>();
        let initial_actions =
            if dir.join("initial_actions.txt").exists() { lines(read("initial_actions.txt")?) } else { Vec::new() };
        let walkthrough = lines(read(&format!("{name}_walkthrough.txt"))?);
        Ok(JiminyGame {
            name: name.to_string(),
            story,
            annotations: Arc::new(annotations),
            replacements: Arc::new(replacements),
            score_global,
            initial_actions: Arc::new(initial_actions),
            walkthrough: Arc::new(walkthrough),
        })
    }

    /// The game's annotations.
    pub fn annotations(&self) -> &Annotations {
        &self.annotations
    }

    /// A new episode: the game started with `seed`, its initial actions played, then the first
    /// `starting_percentage` % of its walkthrough (as the benchmark cuts it). `as_wrapper` applies
    /// the filters the benchmark wrapper's way. Nothing before the episode's first step counts.
    pub fn start(&self, seed: u32, starting_percentage: u8, as_wrapper: bool) -> Result<Episode, String> {
        let mut machine = Machine::new(&self.story, Options { seed, ..Options::default() });
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
        };
        let forward = self.walkthrough.len() * usize::from(starting_percentage) / 100;
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
        let mut labels = [0f32; 4];
        for m in &markers {
            for (s, l) in labels.iter_mut().zip(self.game.annotations.by_id[&m.id].labels) {
                *s += l;
            }
        }
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
    fn the_score_variable_is_found_by_name() {
        let zap =
            "FOO:: .TABLE\n\t.GVAR X=1\nGLOBAL:: .TABLE\n\t.GVAR HERE=0\n\t.GVAR SCORE=0\n\t.GVAR MOVES=0\n\n\t.ENDT\n";
        assert_eq!(score_global(zap), Some(1));
        let zap = "GLOBAL:: .TABLE\n\t.GVAR SCORE=0\n\t.GVAR RATING=0\n";
        assert_eq!(score_global(zap), Some(1), "the specific name wins");
        assert_eq!(score_global("GLOBAL:: .TABLE\n\t.GVAR HERE=0\n"), None);
    }
}
