//! The prompts of the language-model agents and the strict reading of their answers.
//!
//! A prompt file (TOML, one per agent style, shipped in `prompts/` and replaceable with
//! `llm.prompts = "DIR"`) has a `system` message, a `user` message with the placeholders
//! `{rules}`, `{situation}` and `{actions}`, a `retry` message sent after an answer that could not
//! be used (`{problem}` says why; empty: the same request is sent again, as MACHIAVELLI's agents
//! do), and the `answer` format: `number` (the answer is the action's number and nothing else),
//! `first_integer` (the first integer anywhere in the answer, MACHIAVELLI's reading), `json`
//! (free reasoning, then a JSON object `{"action": N}` at the end) or `command` (a command in
//! words on the last line: parser games play any command, other games the listed option with
//! those words). Both messages may name any
//! key of the env's step info as `{info.KEY}` (MACHIAVELLI's games give `title`, `short_summary`,
//! `player_character` and `target_achievements`). Optional keys set the sampling of the style:
//! `temperature`, `max_tokens`, `answer_retries`, and `loop_detection` (MACHIAVELLI's: when the
//! last N node ids passed already appeared in that order, a random legal action replaces the
//! model's).
//!
//! A prompt set is a folder of such files: the shipped default (`prompts/`), the shipped
//! `machiavelli` set (`prompts/machiavelli/`: its agents' layouts, in moralgym's words), the
//! `commands` set (`prompts/commands/`: the styles typing their own commands), or any folder of
//! one's own.

use std::path::Path;

use serde::Deserialize;

use super::LlmError;

/// The agent styles, by policy name, with their shipped prompt files.
pub const STYLES: &[(&str, &str)] = &[
    ("llm", include_str!("../../../prompts/llm.toml")),
    ("llm_ethical", include_str!("../../../prompts/llm_ethical.toml")),
    ("llm_cot", include_str!("../../../prompts/llm_cot.toml")),
    ("llm_ethical_cot", include_str!("../../../prompts/llm_ethical_cot.toml")),
];

/// The shipped `machiavelli` prompt set: MACHIAVELLI's agents (`LMAgent`, `GoodAgent`,
/// `CoTAgent`, `GoodCoTAgent`) by style.
pub const MACHIAVELLI_STYLES: &[(&str, &str)] = &[
    ("llm", include_str!("../../../prompts/machiavelli/llm.toml")),
    ("llm_ethical", include_str!("../../../prompts/machiavelli/llm_ethical.toml")),
    ("llm_cot", include_str!("../../../prompts/machiavelli/llm_cot.toml")),
    ("llm_ethical_cot", include_str!("../../../prompts/machiavelli/llm_ethical_cot.toml")),
];

/// The shipped `commands` prompt set: the four styles answering with a command in their own words
/// (parser games take any command; other games, the words of a listed option).
pub const COMMAND_STYLES: &[(&str, &str)] = &[
    ("llm", include_str!("../../../prompts/commands/llm.toml")),
    ("llm_ethical", include_str!("../../../prompts/commands/llm_ethical.toml")),
    ("llm_cot", include_str!("../../../prompts/commands/llm_cot.toml")),
    ("llm_ethical_cot", include_str!("../../../prompts/commands/llm_ethical_cot.toml")),
];

/// Names of the shipped prompt sets.
pub const PROMPT_SETS: [&str; 3] = ["default", "machiavelli", "commands"];

/// How an answer names its action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerFormat {
    /// Only the action's number.
    Number,
    /// Any text, ending with the JSON object `{"action": N}`.
    Json,
    /// The first integer anywhere in the answer.
    FirstInteger,
    /// A command in the model's own words, on the answer's last line (parser games take any
    /// command; other games, the words of a listed option).
    Command,
}

/// What an answer names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An action by its number.
    Action(u32),
    /// A command in words.
    Command(String),
}

/// One style's prompt file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    /// The system message.
    pub system: String,
    /// The user message, with `{rules}`, `{situation}` and `{actions}`.
    pub user: String,
    /// Sent after an unusable answer, with `{problem}`.
    pub retry: String,
    /// How the answer names its action.
    pub answer: AnswerFormat,
    /// Sampling temperature of this style (default: `llm.temperature`).
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Most tokens per answer of this style (default: `llm.max_tokens`).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Times an unusable answer is tried again (default: `llm.answer_retries`).
    #[serde(default)]
    pub answer_retries: Option<usize>,
    /// Node ids remembered by MACHIAVELLI's loop detection (none: off).
    #[serde(default)]
    pub loop_detection: Option<usize>,
}

impl Prompt {
    /// The prompt of `style`: `<dir>/<style>.toml` when a folder is given, else the shipped one
    /// of `set` (`default`, `machiavelli` or `commands`).
    pub fn load(style: &str, dir: Option<&Path>, set: &str) -> Result<Self, LlmError> {
        let styles = match set {
            "default" => STYLES,
            "machiavelli" => MACHIAVELLI_STYLES,
            "commands" => COMMAND_STYLES,
            _ => return Err(LlmError::Config(format!("no prompt set `{set}` (shipped: {})", PROMPT_SETS.join(", ")))),
        };
        let shipped = styles.iter().find(|s| s.0 == style).map(|s| s.1);
        let (text, name) = match dir {
            Some(d) => {
                let path = d.join(format!("{style}.toml"));
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| LlmError::Config(format!("cannot read prompt file {}: {e}", path.display())))?;
                (text, path.display().to_string())
            }
            None => {
                let text = shipped.ok_or_else(|| LlmError::Config(format!("no agent style `{style}`")))?;
                let folder = if set == "default" { String::new() } else { format!("{set}/") };
                (text.to_string(), format!("prompts/{folder}{style}.toml"))
            }
        };
        let prompt: Prompt =
            toml::from_str(&text).map_err(|e| LlmError::Config(format!("prompt file {name}: {}", e.message())))?;
        for key in ["{situation}", "{actions}"] {
            if !prompt.user.contains(key) {
                return Err(LlmError::Config(format!("prompt file {name}: `user` must contain {key}")));
            }
        }
        if let Some(t) = prompt.temperature
            && !(t.is_finite() && (0.0..=2.0).contains(&t))
        {
            return Err(LlmError::Config(format!("prompt file {name}: `temperature` must be in [0, 2]")));
        }
        if prompt.answer_retries.is_some_and(|r| r > 20) || prompt.loop_detection.is_some_and(|n| n == 0 || n > 1000) {
            return Err(LlmError::Config(format!(
                "prompt file {name}: `answer_retries` must be at most 20 and `loop_detection` 1 to 1000"
            )));
        }
        Ok(prompt)
    }

    /// The system message for one decision.
    pub fn system_message(&self, rules: &str, info: &serde_json::Map<String, serde_json::Value>) -> String {
        fill_info(&self.system.replace("{rules}", rules), info)
    }

    /// The user message for one decision.
    pub fn user_message(
        &self,
        rules: &str,
        situation: &str,
        actions: &[(u32, String)],
        info: &serde_json::Map<String, serde_json::Value>,
    ) -> String {
        // A model answering in words sees the words alone; one answering by number, the numbers.
        let listed: Vec<String> = match self.answer {
            AnswerFormat::Command => actions.iter().map(|(_, name)| format!("- {name}")).collect(),
            _ => actions.iter().map(|(a, name)| format!("{a}: {name}")).collect(),
        };
        let text = self.user.replace("{rules}", rules).replace("{actions}", &listed.join("\n"));
        // The situation last, so text of the game is never read as a placeholder.
        fill_info(&text, info).replace("{situation}", situation)
    }

    /// Whether the prompt names step info, which the policy then reads every decision.
    pub fn reads_info(&self) -> bool {
        self.system.contains("{info.") || self.user.contains("{info.")
    }

    /// The message sent after an unusable answer.
    pub fn retry_message(&self, problem: &str) -> String {
        self.retry.replace("{problem}", problem)
    }
}

/// What an answer names, or what is wrong with it. `command`: a command in words
/// ([`parse_command`]'s reading). `number`: the whole answer (spaces
/// aside) is one non-negative integer. `json`: the answer ends with a JSON object (optionally in
/// a code fence) whose `action` is a non-negative integer.
pub fn parse_answer(format: AnswerFormat, text: &str) -> Result<Answer, LlmError> {
    let t = text.trim();
    let number = match format {
        AnswerFormat::Command => return parse_command(t).map(Answer::Command),
        AnswerFormat::Number => {
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse::<u32>().map_err(|_| LlmError::Answer(format!("`{t}` is too large to be an action number")))
            } else {
                Err(LlmError::Answer(format!("`{}` is not just an action number", short(t))))
            }
        }
        AnswerFormat::FirstInteger => {
            let digits: String =
                t.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                return Err(LlmError::Answer(format!("`{}` holds no number", short(t))));
            }
            digits
                .parse::<u32>()
                .map_err(|_| LlmError::Answer(format!("`{digits}` is too large to be an action number")))
        }
        AnswerFormat::Json => {
            let body = t.strip_suffix("```").unwrap_or(t).trim_end();
            // the last `{` from which the rest of the answer is one JSON object
            let object = body
                .match_indices('{')
                .rev()
                .find_map(|(start, _)| {
                    serde_json::from_str::<serde_json::Value>(&body[start..]).ok().filter(serde_json::Value::is_object)
                })
                .ok_or_else(|| LlmError::Answer("it does not end with a JSON object like {\"action\": 3}".into()))?;
            object["action"].as_u64().and_then(|a| u32::try_from(a).ok()).ok_or_else(|| {
                LlmError::Answer(format!("its JSON object {object} has no non-negative integer \"action\""))
            })
        }
    };
    number.map(Answer::Action)
}

/// The command of a `command` answer: its last non-empty line, without a leading `>` prompt or
/// `Command:`, and without surrounding quotes or backticks.
fn parse_command(text: &str) -> Result<String, LlmError> {
    let unquote = |c: &str| c.trim().trim_matches(|ch| matches!(ch, '"' | '\'' | '`')).trim().to_string();
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or_default();
    let mut c = unquote(line.trim_start_matches('>'));
    if c.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("command:")) {
        c = unquote(&c[8..]);
    }
    if c.is_empty() {
        return Err(LlmError::Answer("it names no command on its last line".into()));
    }
    if c.chars().count() > 120 {
        return Err(LlmError::Answer(format!("`{}` is too long for one command", short(&c))));
    }
    Ok(c)
}

/// Each `{info.KEY}` replaced by that key of the step info (a string as it is, a list one item a
/// line, anything else as JSON; a missing key: empty).
fn fill_info(text: &str, info: &serde_json::Map<String, serde_json::Value>) -> String {
    use serde_json::Value;
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("{info.") {
        let Some(end) = rest[i..].find('}') else { break };
        let key = &rest[i + 6..i + end];
        out.push_str(&rest[..i]);
        match info.get(key) {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Array(items)) => {
                let lines: Vec<String> =
                    items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), String::from)).collect();
                out.push_str(&lines.join("\n"));
            }
            Some(Value::Null) | None => {}
            Some(v) => out.push_str(&v.to_string()),
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

fn short(t: &str) -> String {
    let s: String = t.chars().take(80).collect();
    if s.len() < t.len() { format!("{s}...") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_set_lists_words_and_reads_commands() {
        for (style, _) in COMMAND_STYLES {
            let p = Prompt::load(style, None, "commands").expect("shipped prompt");
            assert_eq!(p.answer, AnswerFormat::Command, "{style}");
            let user = p.user_message(
                "RULES",
                "West of House",
                &[(0, "open mailbox".into()), (3, "north".into())],
                &Default::default(),
            );
            assert!(user.contains("- open mailbox\n- north") && !user.contains("3:"), "{style}: {user}");
            assert_eq!(p.system.contains("good person"), style.contains("ethical"), "{style}");
        }
        assert!(Prompt::load("llm", None, "nope").unwrap_err().to_string().contains("commands"));
    }

    #[test]
    fn command_answers_are_the_last_line_in_words() {
        let read = |t: &str| parse_answer(AnswerFormat::Command, t);
        assert_eq!(read("open the mailbox"), Ok(Answer::Command("open the mailbox".into())));
        assert_eq!(read("I should look.\n\n> `Command: look` \n"), Ok(Answer::Command("look".into())));
        assert_eq!(read("\"take lamp\""), Ok(Answer::Command("take lamp".into())));
        for bad in ["", "  \n ", "> ``", &"a".repeat(121)] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn number_answers_are_read_strictly() {
        assert_eq!(parse_answer(AnswerFormat::Number, " 3\n"), Ok(Answer::Action(3)));
        for bad in ["", "3.", "action 3", "3 or 4", "-1", "three", "99999999999"] {
            assert!(parse_answer(AnswerFormat::Number, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn json_answers_end_with_an_action_object() {
        let ok = "The guard is asleep, so sneaking is safe.\n{\"action\": 2}";
        assert_eq!(parse_answer(AnswerFormat::Json, ok), Ok(Answer::Action(2)));
        assert_eq!(
            parse_answer(AnswerFormat::Json, "I think...\n```json\n{\"action\": 0}\n```"),
            Ok(Answer::Action(0))
        );
        assert_eq!(
            parse_answer(AnswerFormat::Json, "{\"reasoning\": \"a {b}\", \"action\": 1}"),
            Ok(Answer::Action(1))
        );
        for bad in ["2", "{\"action\": -1}", "{\"action\": \"2\"}", "{\"choice\": 2}", "{\"action\": 2} and more"] {
            assert!(parse_answer(AnswerFormat::Json, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_shipped_prompt_loads_and_fills_its_placeholders() {
        for (style, _) in STYLES {
            let p = Prompt::load(style, None, "default").expect("shipped prompt");
            let m = p.user_message("RULES", "SITUATION", &[(0, "wait".into()), (4, "tap".into())], &Default::default());
            assert!(m.contains("RULES") && m.contains("SITUATION") && m.contains("4: tap"), "{style}: {m}");
            assert!(!m.contains("{situation}") && !m.contains("{actions}"));
            assert!(p.retry_message("PROBLEM").contains("PROBLEM"), "{style}");
        }
        let e = Prompt::load("llm", Some(Path::new("/nonexistent")), "default").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/llm.toml"), "{e}");
        assert!(Prompt::load("llm", None, "nope").unwrap_err().to_string().contains("no prompt set `nope`"));
    }

    #[test]
    fn the_machiavelli_set_asks_as_its_agents_ask() {
        let info: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
            "title": "T", "short_summary": "S", "player_character": "P",
            "target_achievements": ["- A: a (5 points)", "- B: b (10 points)"],
        }))
        .unwrap();
        for (style, _) in MACHIAVELLI_STYLES {
            let p = Prompt::load(style, None, "machiavelli").expect("shipped prompt");
            let sys = p.system_message("RULES", &info);
            let user = p.user_message("RULES", "SCENE {info.title}", &[(0, "go".into())], &info);
            assert!(sys.contains("T") && sys.contains("S") && sys.contains("P"), "{style}: {sys}");
            let ethical = style.contains("ethical");
            let achievements = style == &"llm" || style == &"llm_cot" || style == &"llm_ethical_cot";
            assert_eq!(format!("{sys}{user}").contains("- B: b (10 points)"), achievements, "{style}");
            assert_eq!(format!("{sys}{user}").contains("altruistic"), ethical, "{style}");
            assert!(user.contains("SCENE {info.title}"), "the game's own text is not filled: {user}");
            assert_eq!(p.temperature, Some(0.2), "{style}");
            assert_eq!(p.loop_detection, Some(5), "{style}");
            assert!(p.retry.is_empty(), "{style}: its agents send the same request again");
        }
        assert_eq!(parse_answer(AnswerFormat::FirstInteger, "I pick 2, then 3"), Ok(Answer::Action(2)));
        assert!(parse_answer(AnswerFormat::FirstInteger, "none").is_err());
    }
}
