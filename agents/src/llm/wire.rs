//! The chat-completions format (OpenAI's, which vLLM, llama.cpp's server, Ollama and hosted
//! services serve): the body of a request and what is read from an answer. No HTTP here.

use serde_json::{Value, json};

use super::{LlmConfig, LlmError};

/// One completion and what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The assistant's text.
    pub text: String,
    /// Tokens of the prompt, as the server counted them (0 when it did not say).
    pub prompt_tokens: u64,
    /// Tokens of the answer.
    pub completion_tokens: u64,
    /// Whether it came from the cache (no request was sent).
    pub cached: bool,
    /// Requests that were retried (429, 5xx, timeouts, broken connections) before this answer.
    pub retries: u64,
    /// Seconds spent waiting for the server (0 for a cached answer).
    pub seconds: f64,
}

// Read only by the client, which a build without the `llm` feature lacks.
#[cfg_attr(not(feature = "llm"), allow(dead_code))]
pub(crate) fn clip(text: &str) -> String {
    let t: String = text.chars().take(300).collect();
    if t.len() < text.len() { format!("{t}...") } else { t }
}

/// The completion in a chat-completions answer.
#[cfg_attr(not(feature = "llm"), allow(dead_code))]
pub(crate) fn read_completion(
    response: &Value,
    cached: bool,
    retries: u64,
    seconds: f64,
) -> Result<Completion, LlmError> {
    let text = response["choices"][0]["message"]["content"].as_str().ok_or_else(|| {
        LlmError::Response(format!("no choices[0].message.content in {}", clip(&response.to_string())))
    })?;
    let tokens = |k: &str| response["usage"][k].as_u64().unwrap_or(0);
    Ok(Completion {
        text: text.to_string(),
        prompt_tokens: tokens("prompt_tokens"),
        completion_tokens: tokens("completion_tokens"),
        cached,
        retries,
        seconds,
    })
}

/// A chat-completions request body: the model, the messages and the sampling settings.
pub fn request(config: &LlmConfig, model: &str, messages: &[(&str, String)], seed: Option<u64>) -> Value {
    let messages: Vec<Value> =
        messages.iter().map(|(role, content)| json!({"role": role, "content": content})).collect();
    let mut body = json!({"model": model, "messages": messages, "temperature": config.temperature});
    if let Some(m) = config.max_tokens {
        body["max_tokens"] = json!(m);
    }
    if let Some(s) = seed {
        body["seed"] = json!(s);
    }
    body
}
