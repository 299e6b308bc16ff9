//! The HTTP side of a language-model agent: OpenAI-compatible chat completions (what vLLM,
//! llama.cpp's server, Ollama and hosted services serve), through `ureq`, with a bound on the
//! requests in flight, timeouts, retries with backoff on 429 and 5xx, and the disk cache in front.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cache::Cache;
use super::wire::{Completion, clip, read_completion};
use super::{LlmConfig, LlmError};

/// A counting semaphore: at most `limit` holders at once.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    fn new(limit: usize) -> Self {
        Self { free: Mutex::new(limit.max(1)), freed: Condvar::new() }
    }

    fn acquire(&self) -> SlotGuard<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        SlotGuard(self)
    }
}

struct SlotGuard<'a>(&'a Slots);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// A chat-completions client shared by every agent of an evaluation.
pub struct LlmClient {
    agent: ureq::Agent,
    url: String,
    api_key: Option<String>,
    slots: Slots,
    cache: Option<Cache>,
    config: LlmConfig,
}

impl LlmClient {
    /// A client for `config`; the API key comes from `OPENAI_API_KEY` when set.
    pub fn new(config: &LlmConfig) -> Result<Self, LlmError> {
        let base = config.base_url();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LlmError::Config(format!("base URL `{base}` must start with http:// or https://")));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(config.timeout_s)))
            .http_status_as_error(false)
            .build()
            .into();
        let cache = if config.cache { Some(Cache::new(config.cache_dir())) } else { None };
        Ok(Self {
            agent,
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            api_key: std::env::var("OPENAI_API_KEY").ok().map(api_key).transpose()?.flatten(),
            slots: Slots::new(config.concurrency),
            cache,
            config: config.clone(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The answer to `request` (a chat-completions body): from the cache if this exact request
    /// was answered before, else from the server (then cached).
    pub fn complete(&self, request: &Value) -> Result<Completion, LlmError> {
        if let Some(response) = self.cache.as_ref().and_then(|c| c.get(request)) {
            return read_completion(&response, true, 0, 0.0);
        }
        let _slot = self.slots.acquire();
        let start = Instant::now();
        let (response, retries) = self.send(request)?;
        let completion = read_completion(&response, false, retries, start.elapsed().as_secs_f64())?;
        if let Some(c) = &self.cache {
            c.put(request, &response)?;
        }
        Ok(completion)
    }

    fn send(&self, request: &Value) -> Result<(Value, u64), LlmError> {
        let body = request.to_string();
        let mut retries = 0u64;
        loop {
            let mut call = self.agent.post(&self.url).header("Content-Type", "application/json");
            if let Some(key) = &self.api_key {
                call = call.header("Authorization", format!("Bearer {key}"));
            }
            let wait = match call.send(body.as_str()) {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok());
                    let text = match response.body_mut().read_to_string() {
                        Ok(text) => text,
                        // An answer over ureq's 10 MB is no answer a prompt asked for.
                        Err(ureq::Error::BodyExceedsLimit(limit)) => {
                            return Err(LlmError::Response(format!(
                                "the answer is longer than {limit} bytes; refused unread"
                            )));
                        }
                        // Cut off (a timeout, a broken connection): retried like a failed request.
                        Err(e) => {
                            if retries >= self.config.http_retries as u64 {
                                return Err(LlmError::Transport(format!("{}: the answer was cut off ({e})", self.url)));
                            }
                            retries += 1;
                            let backoff = self.config.backoff_ms as f64 / 1000.0 * 2f64.powi(retries as i32 - 1);
                            std::thread::sleep(Duration::from_secs_f64(backoff.clamp(0.0, 60.0)));
                            continue;
                        }
                    };
                    if (200..300).contains(&status) {
                        let value = serde_json::from_str(&text).map_err(|e| {
                            LlmError::Response(format!("the answer is not JSON ({e}): {}", clip(&text)))
                        })?;
                        return Ok((value, retries));
                    }
                    if status != 429 && status < 500 {
                        return Err(LlmError::Http { status, body: clip(&text) });
                    }
                    if retries >= self.config.http_retries as u64 {
                        return Err(LlmError::Http { status, body: clip(&text) });
                    }
                    retry_after
                }
                Err(e) => {
                    if retries >= self.config.http_retries as u64 {
                        return Err(LlmError::Transport(format!("{} ({e})", self.url)));
                    }
                    None
                }
            };
            let backoff = self.config.backoff_ms as f64 / 1000.0 * 2f64.powi(retries as i32);
            std::thread::sleep(Duration::from_secs_f64(wait.unwrap_or(backoff).clamp(0.0, 60.0)));
            retries += 1;
        }
    }
}

/// An API key as an HTTP header can carry it: spaces and line breaks at its ends dropped (a key
/// pasted or read from a file often ends in a newline), none allowed inside; None when empty.
fn api_key(raw: String) -> Result<Option<String>, LlmError> {
    let key = raw.trim();
    if key.is_empty() {
        return Ok(None);
    }
    if key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(Some(key.to_string()))
    } else {
        Err(LlmError::Config(
            "OPENAI_API_KEY holds a space, a line break or a character an HTTP header cannot carry".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_lose_their_surrounding_whitespace_and_refuse_what_a_header_cannot_carry() {
        assert_eq!(api_key("sk-abc\n".into()).unwrap(), Some("sk-abc".into()));
        assert_eq!(api_key("  \n".into()).unwrap(), None);
        for bad in ["sk-a\nb", "sk a", "sk-\u{7f}", "sk-é"] {
            let e = api_key(bad.into()).unwrap_err().to_string();
            assert!(e.contains("OPENAI_API_KEY"), "{bad:?}: {e}");
        }
    }
}
