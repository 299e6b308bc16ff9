//! The prompts of the language-model agents and the strict reading of their answers.
//!
//! A prompt file (TOML, one per agent style, shipped in `prompts/` and replaceable with
//! `llm.prompts = "DIR"`) has a `system` message, a `user` message with the placeholders
//! `{rules}`, `{situation}` and `{actions}`, a `retry` message sent after an answer that could not
//! be used (`{problem}` says why), and the `answer` format: `number` (the answer is the action's
//! number and nothing else) or `json` (free reasoning, then a JSON object `{"action": N}` at the
//! end).

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

/// How an answer names its action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerFormat {
    /// Only the action's number.
    Number,
    /// Any text, ending with the JSON object `{"action": N}`.
    Json,
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
}

impl Prompt {
    /// The prompt of `style`: `<dir>/<style>.toml` when a folder is given, else the shipped one.
    pub fn load(style: &str, dir: Option<&Path>) -> Result<Self, LlmError> {
        let shipped = STYLES.iter().find(|s| s.0 == style).map(|s| s.1);
        let (text, name) = match dir {
            Some(d) => {
                let path = d.join(format!("{style}.toml"));
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| LlmError::Config(format!("cannot read prompt file {}: {e}", path.display())))?;
                (text, path.display().to_string())
            }
            None => {
                let text = shipped.ok_or_else(|| LlmError::Config(format!("no agent style `{style}`")))?;
                (text.to_string(), format!("prompts/{style}.toml"))
            }
        };
        let prompt: Prompt =
            toml::from_str(&text).map_err(|e| LlmError::Config(format!("prompt file {name}: {}", e.message())))?;
        for key in ["{situation}", "{actions}"] {
            if !prompt.user.contains(key) {
                return Err(LlmError::Config(format!("prompt file {name}: `user` must contain {key}")));
            }
        }
        Ok(prompt)
    }

    /// The user message for one decision.
    pub fn user_message(&self, rules: &str, situation: &str, actions: &[(u32, String)]) -> String {
        let listed: Vec<String> = actions.iter().map(|(a, name)| format!("{a}: {name}")).collect();
        self.user.replace("{rules}", rules).replace("{situation}", situation).replace("{actions}", &listed.join("\n"))
    }

    /// The message sent after an unusable answer.
    pub fn retry_message(&self, problem: &str) -> String {
        self.retry.replace("{problem}", problem)
    }
}

/// The action an answer names, or what is wrong with it. `number`: the whole answer (spaces
/// aside) is one non-negative integer. `json`: the answer ends with a JSON object (optionally in
/// a code fence) whose `action` is a non-negative integer.
pub fn parse_answer(format: AnswerFormat, text: &str) -> Result<u32, LlmError> {
    let t = text.trim();
    match format {
        AnswerFormat::Number => {
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse::<u32>().map_err(|_| LlmError::Answer(format!("`{t}` is too large to be an action number")))
            } else {
                Err(LlmError::Answer(format!("`{}` is not just an action number", short(t))))
            }
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
    }
}

fn short(t: &str) -> String {
    let s: String = t.chars().take(80).collect();
    if s.len() < t.len() { format!("{s}...") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_answers_are_read_strictly() {
        assert_eq!(parse_answer(AnswerFormat::Number, " 3\n"), Ok(3));
        for bad in ["", "3.", "action 3", "3 or 4", "-1", "three", "99999999999"] {
            assert!(parse_answer(AnswerFormat::Number, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn json_answers_end_with_an_action_object() {
        let ok = "The guard is asleep, so sneaking is safe.\n{\"action\": 2}";
        assert_eq!(parse_answer(AnswerFormat::Json, ok), Ok(2));
        assert_eq!(parse_answer(AnswerFormat::Json, "I think...\n```json\n{\"action\": 0}\n```"), Ok(0));
        assert_eq!(parse_answer(AnswerFormat::Json, "{\"reasoning\": \"a {b}\", \"action\": 1}"), Ok(1));
        for bad in ["2", "{\"action\": -1}", "{\"action\": \"2\"}", "{\"choice\": 2}", "{\"action\": 2} and more"] {
            assert!(parse_answer(AnswerFormat::Json, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_shipped_prompt_loads_and_fills_its_placeholders() {
        for (style, _) in STYLES {
            let p = Prompt::load(style, None).expect("shipped prompt");
            let m = p.user_message("RULES", "SITUATION", &[(0, "wait".into()), (4, "tap".into())]);
            assert!(m.contains("RULES") && m.contains("SITUATION") && m.contains("4: tap"), "{style}: {m}");
            assert!(!m.contains("{situation}") && !m.contains("{actions}"));
            assert!(p.retry_message("PROBLEM").contains("PROBLEM"), "{style}");
        }
        let e = Prompt::load("llm", Some(Path::new("/nonexistent"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/llm.toml"), "{e}");
    }
}
