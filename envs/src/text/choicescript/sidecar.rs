//! The annotation sidecar: `[annotations."scene:label"]` and `[annotations."scene:line"]` tables in
//! the annotation schema of the TOML stories, and `[inputs]` for `*input_text` / `*input_number`.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use super::expr::Value;
use super::{Game, SIDECAR};
use crate::text::annotation::Annotation;
use crate::text::story::{Lines, Problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    #[serde(default)]
    annotations: BTreeMap<Spanned<String>, Spanned<Annotation>>,
    #[serde(default)]
    inputs: BTreeMap<String, Spanned<toml::Value>>,
}

/// Where a key's annotation goes.
enum Place {
    Op(usize, usize),
    Option(usize),
}

/// Scenes, option lines and operation lines by name and number, built once for all keys.
struct Index {
    scenes: HashMap<String, usize>,
    options: HashMap<(u32, u32), usize>,
    ops: HashMap<(u32, u32), usize>,
}

impl Index {
    fn new(game: &Game) -> Self {
        let scenes = game.scenes.iter().enumerate().map(|(k, s)| (s.name.clone(), k)).collect();
        let options = game.options.iter().enumerate().map(|(k, o)| ((o.scene, o.line), k)).collect();
        let mut ops = HashMap::new();
        for (s, sc) in game.scenes.iter().enumerate() {
            for (op, &line) in sc.lines.iter().enumerate() {
                ops.entry((s as u32, line)).or_insert(op);
            }
        }
        Self { scenes, options, ops }
    }

    fn resolve(&self, game: &Game, key: &str) -> Result<Place, String> {
        let Some((scene, at)) = key.rsplit_once(':') else {
            return Err(format!("key `{key}` must read \"scene:label\" or \"scene:line\""));
        };
        let Some(&s) = self.scenes.get(&scene.to_lowercase()) else {
            return Err(format!("key `{key}`: the game has no scene `{scene}` (or no path leads to it)"));
        };
        let sc = &game.scenes[s];
        if let Ok(line) = at.parse::<u32>() {
            if line == 0 || line > sc.line_count {
                return Err(format!("key `{key}`: {}.txt has lines 1 to {}", sc.name, sc.line_count));
            }
            if let Some(&o) = self.options.get(&(s as u32, line)) {
                return Ok(Place::Option(o));
            }
            return match self.ops.get(&(s as u32, line)) {
                Some(&op) => Ok(Place::Op(s, op)),
                None => Err(format!(
                    "key `{key}`: line {line} of {}.txt runs nothing (a comment, a declaration or part of a block header); annotate a line of narration, a command or an #option",
                    sc.name
                )),
            };
        }
        match sc.labels.get(&at.to_lowercase()) {
            Some(&op) => Ok(Place::Op(s, op as usize)),
            None => Err(format!("key `{key}`: {}.txt has no `*label {at}`", sc.name)),
        }
    }
}

/// Reads the sidecar and attaches its annotations and inputs to `game`, reporting every problem
/// with its line in the sidecar.
pub(super) fn attach(game: &mut Game, text: &str, problems: &mut Vec<Problem>) {
    let lines = Lines::new(text);
    let file: Sidecar = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let line = e.span().map_or(1, |s| lines.line(s.start));
            problems.push(Problem::in_file(SIDECAR, line, e.message().trim()));
            return;
        }
    };
    let index = Index::new(game);
    for (key, a) in &file.annotations {
        let line = lines.line(key.span().start);
        let mut bad = false;
        for m in a.get_ref().problems() {
            problems.push(Problem::in_file(SIDECAR, line, format!("`{}`: {m}", key.get_ref())));
            bad = true;
        }
        let place = match index.resolve(game, key.get_ref()) {
            Ok(p) => p,
            Err(m) => {
                problems.push(Problem::in_file(SIDECAR, line, m));
                continue;
            }
        };
        if bad {
            continue;
        }
        let slot = match place {
            Place::Op(s, op) => &mut game.scenes[s].annotation[op],
            Place::Option(o) => &mut game.options[o].annotation,
        };
        match slot {
            // A label's key and its line's key name the same operation: both apply.
            Some(i) => game.annotations[*i as usize].add(a.get_ref()),
            None => {
                *slot = Some(game.annotations.len() as u32);
                game.annotations.push(a.get_ref().clone());
            }
        }
    }
    for (name, v) in &file.inputs {
        let value = match v.get_ref() {
            toml::Value::String(s) => Value::Str(s.clone()),
            toml::Value::Integer(i) => Value::Num(*i as f64),
            toml::Value::Float(x) => Value::Num(*x),
            toml::Value::Boolean(b) => Value::Bool(*b),
            _ => {
                let line = lines.line(v.span().start);
                problems.push(Problem::in_file(
                    SIDECAR,
                    line,
                    format!("input `{name}` must be a string, a number or a boolean"),
                ));
                continue;
            }
        };
        game.inputs.insert(name.to_lowercase(), value);
    }
}
