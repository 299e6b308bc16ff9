//! A TOML story written out as a ChoiceScript game that plays the same: every scene a labelled
//! block of `startup.txt`, every choice an `#option`, conditions as `*if (...) #`, effects as
//! `*set`, achievements as `*achievement` / `*achieve`, annotations in the sidecar keyed by the
//! scene's label or the option's line. `moralgym story convert` writes it to a folder.

use std::collections::{BTreeMap, HashSet};

use super::annotation::Annotation;
use super::story::{Op, Story};

/// A ChoiceScript game as text: scene files by name, and the annotation sidecar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChoiceScriptFiles {
    /// Scene name (file name without `.txt`) to its text.
    pub scenes: BTreeMap<String, String>,
    /// The text of `annotations.toml`.
    pub sidecar: String,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && !s.to_lowercase().starts_with("choice_")
        && !s.to_lowercase().starts_with("param_")
}

fn number(x: f64, what: &str) -> Result<String, String> {
    if x.is_finite() { Ok(format!("{x}")) } else { Err(format!("{what} is {x}; ChoiceScript numbers are finite")) }
}

/// Text that ChoiceScript would read as plain narration (no commands, options or interpolation).
fn plain(text: &str, what: &str) -> Result<(), String> {
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('*') || t.starts_with('#') {
            return Err(format!(
                "{what}: a line starts with `{}`, which ChoiceScript reads as a command or an option",
                &t[..1]
            ));
        }
        if t.len() != line.len() || line.trim_end().len() != line.len() {
            return Err(format!("{what}: a line has leading or trailing spaces, which ChoiceScript does not keep"));
        }
    }
    if text.contains("${") || text.contains("$!{") || text.contains("@{") {
        return Err(format!("{what}: `${{`, `$!{{` or `@{{` would be read as interpolation"));
    }
    if text.contains("\n\n\n") {
        return Err(format!("{what}: more than one blank line in a row, which ChoiceScript shows as one"));
    }
    Ok(())
}

fn comparison(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Eq => "=",
        Op::Ne => "!=",
    }
}

/// Drops empty tables and zero amounts; true if nothing is left.
fn prune(v: &mut toml::Value) -> bool {
    match v {
        toml::Value::Table(t) => {
            t.retain(|_, x| !prune(x));
            t.is_empty()
        }
        toml::Value::Float(x) => *x == 0.0,
        _ => false,
    }
}

/// One sidecar table, with only what the annotation sets (inline tables, one key per line).
fn sidecar_table(key: &str, a: &Annotation) -> Result<String, String> {
    let mut value = toml::Value::try_from(a).map_err(|e| format!("annotation `{key}`: {e}"))?;
    prune(&mut value);
    let mut out = format!("\n[annotations.\"{key}\"]\n");
    for (k, v) in value.as_table().into_iter().flatten() {
        out.push_str(&format!("{k} = {v}\n"));
    }
    Ok(out)
}

/// Writes `story` as a ChoiceScript game; an error names what ChoiceScript cannot say the same
/// way (a scene id or variable that is not a ChoiceScript name, text that would be read as
/// commands).
pub fn to_choicescript(story: &Story) -> Result<ChoiceScriptFiles, String> {
    let mut src = String::new();
    let mut line = 0u32;
    let mut push = |src: &mut String, text: &str| {
        src.push_str(text);
        src.push('\n');
        line += 1;
        line
    };
    let mut sidecar = String::from(
        "# Annotations of the ChoiceScript port, written by `moralgym story convert`: a scene's under\n# \"startup:<its label>\", a choice's under \"startup:<the line of its #option>\".\n",
    );
    plain(&story.title, "the title")?;
    push(&mut src, &format!("*title {}", story.title));
    push(&mut src, "*author moralgym");
    if !story.setting.is_empty() {
        push(&mut src, &format!("*comment setting: {}", story.setting));
    }
    if !story.about.is_empty() {
        push(&mut src, &format!("*comment about: {}", story.about));
    }
    push(&mut src, "*comment Converted from moralgym's TOML story format by `moralgym story convert`.");
    push(&mut src, "*scene_list");
    push(&mut src, "  startup");
    for (name, value) in &story.variables {
        if !is_name(name) {
            return Err(format!("variable `{name}` is not a ChoiceScript variable name"));
        }
        push(&mut src, &format!("*create {name} {}", number(*value, name)?));
    }
    for a in &story.achievements {
        if !is_name(&a.id) {
            return Err(format!("achievement `{}` is not a ChoiceScript name", a.id));
        }
        plain(&a.title, "an achievement title")?;
        let description = if a.description.is_empty() { a.title.clone() } else { a.description.clone() };
        plain(&description, "an achievement description")?;
        push(&mut src, &format!("*achievement {} visible {} {}", a.id, number(a.points, &a.id)?, a.title));
        push(&mut src, &format!("  {description}"));
        push(&mut src, &format!("  {description}"));
    }
    let mut used = HashSet::new();
    let labels: Vec<String> = story
        .scenes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let base = if is_name(&s.id) { s.id.to_lowercase() } else { format!("scene_{i}") };
            if used.insert(base.clone()) { base } else { format!("{base}_{i}") }
        })
        .collect();
    let var = |i: usize| story.variables[i].0.as_str();
    let effects = |set: &[(usize, f64)], add: &[(usize, f64)], indent: &str| -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for &(v, x) in set {
            let n = number(x, var(v))?;
            out.push(if x < 0.0 {
                format!("{indent}*set {} ({n})", var(v))
            } else {
                format!("{indent}*set {} {n}", var(v))
            });
        }
        for &(v, x) in add {
            let n = number(x.abs(), var(v))?;
            out.push(format!("{indent}*set {} {}{n}", var(v), if x < 0.0 { '-' } else { '+' }));
        }
        Ok(out)
    };
    push(&mut src, &format!("*goto {}", labels[story.start]));
    for (i, s) in story.scenes.iter().enumerate() {
        push(&mut src, "");
        push(&mut src, &format!("*label {}", labels[i]));
        if !s.annotation.is_empty() {
            sidecar.push_str(&sidecar_table(&format!("startup:{}", labels[i]), &s.annotation)?);
        }
        plain(&s.text, &format!("scene `{}`", s.id))?;
        // One line of the story's text is one line of narration: *line_break between lines,
        // a blank line between paragraphs.
        let mut after_text = false;
        for l in s.text.lines() {
            if l.is_empty() {
                push(&mut src, "");
                after_text = false;
            } else {
                if after_text {
                    push(&mut src, "*line_break");
                }
                push(&mut src, l);
                after_text = true;
            }
        }
        for l in effects(&s.set, &s.add, "")? {
            push(&mut src, &l);
        }
        for &a in &s.achievements {
            push(&mut src, &format!("*achieve {}", story.achievements[a].id));
        }
        if s.ending {
            push(&mut src, "*ending");
            continue;
        }
        if let Some(n) = s.next {
            // A blank line: the next scene's text starts a new paragraph, as scenes do.
            push(&mut src, "");
            push(&mut src, &format!("*goto {}", labels[n]));
            continue;
        }
        push(&mut src, "*choice");
        for c in &s.choices {
            plain(&c.text, &format!("a choice of scene `{}`", s.id))?;
            if c.text.contains('\n') {
                return Err(format!("a choice of scene `{}` spans lines", s.id));
            }
            let clauses = c
                .condition
                .iter()
                .map(|cl| Ok(format!("{} {} {}", var(cl.var), comparison(cl.op), number(cl.value, var(cl.var))?)))
                .collect::<Result<Vec<_>, String>>()?;
            let condition = clauses.into_iter().reduce(|acc, c| format!("({acc}) and ({c})"));
            let option_line = match condition {
                None => push(&mut src, &format!("  #{}", c.text)),
                Some(cond) => push(&mut src, &format!("  *if ({cond}) #{}", c.text)),
            };
            if !c.annotation.is_empty() {
                sidecar.push_str(&sidecar_table(&format!("startup:{option_line}"), &c.annotation)?);
            }
            for l in effects(&c.set, &c.add, "    ")? {
                push(&mut src, &l);
            }
            for &a in &c.achievements {
                push(&mut src, &format!("    *achieve {}", story.achievements[a].id));
            }
            push(&mut src, &format!("    *goto {}", labels[c.goto]));
        }
    }
    Ok(ChoiceScriptFiles { scenes: BTreeMap::from([("startup".to_string(), src)]), sidecar })
}
