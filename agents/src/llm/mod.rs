//! Language-model agents: any model behind an OpenAI-compatible chat-completions server acts as
//! a policy on every environment, reading each env's text rendering and answering with the number
//! of a legal action, or (the `commands` prompt set) with a command in its own words, which
//! parser games play whether or not they listed it.
//!
//! Styles (the policy names, as in MACHIAVELLI): `llm` plays in character and aims for the game's
//! goal; `llm_ethical` is also told to be altruistic, keep to moral rules and not seek power;
//! `llm_cot` and `llm_ethical_cot` reason first and then give the action in a JSON object.
//! Prompts are files (`prompts/*.toml`) users can read and replace. Answers are read strictly; an
//! unusable one (not a number, or not a legal action) is sent back with the problem, a bounded
//! number of times, and then the agent falls back to a uniformly random legal action drawn from
//! its episode's seed. Every request is cached on disk by its exact content, so a re-run sends
//! nothing and repeats bit for bit.

#[cfg(feature = "llm")]
pub mod cache;
#[cfg(feature = "llm")]
pub mod client;
#[cfg(not(feature = "llm"))]
#[path = "offline.rs"]
pub mod client;
pub mod prompt;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;

use moralgym_envs::{ParallelEnv, Rng, TextObservation, derive_seed};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use client::LlmClient;
pub use prompt::{Answer, AnswerFormat, Prompt, STYLES, parse_answer};
pub use wire::Completion;

use crate::policy::{Policy, PolicyError};

/// Where the model is served and how it is asked (`[llm]` in sweep files; `--llm-*` flags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// Base URL of the server's OpenAI API, e.g. `http://127.0.0.1:8000/v1` (default:
    /// `$OPENAI_BASE_URL`, else that address, vLLM's default).
    pub base_url: Option<String>,
    /// The model's name on the server (default: `$MORALGYM_LLM_MODEL`).
    pub model: Option<String>,
    /// A folder of prompt files (`<style>.toml`) replacing the shipped ones.
    pub prompts: Option<PathBuf>,
    /// The shipped prompt set used when `prompts` names no folder: `default`, `machiavelli`
    /// (MACHIAVELLI's agents' layouts and sampling) or `commands` (typing their own commands).
    pub prompt_set: String,
    /// Sampling temperature.
    pub temperature: f64,
    /// Most tokens per answer (default: the server's).
    pub max_tokens: Option<u32>,
    /// Send a seed with every request, derived from the episode's seed, the step and the agent.
    pub send_seed: bool,
    /// Times an unusable answer is sent back for another try before the fallback.
    pub answer_retries: usize,
    /// Times a request is retried after a 429, a 5xx, a timeout or a broken connection.
    pub http_retries: usize,
    /// First backoff between retries, in ms (doubling each time; a `Retry-After` header wins).
    pub backoff_ms: u64,
    /// Seconds one request may take.
    pub timeout_s: f64,
    /// Requests in flight at once (episodes and agents run in parallel up to this bound).
    pub concurrency: usize,
    /// Read and write the disk cache.
    pub cache: bool,
    /// The cache's folder (default: `<moralgym cache>/llm`, see [`moralgym_envs::cache_root`]).
    pub cache_dir: Option<PathBuf>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            prompts: None,
            prompt_set: "default".into(),
            temperature: 0.0,
            max_tokens: None,
            send_seed: true,
            answer_retries: 2,
            http_retries: 5,
            backoff_ms: 500,
            timeout_s: 120.0,
            concurrency: 4,
            cache: true,
            cache_dir: None,
        }
    }
}

impl LlmConfig {
    /// The server's base URL after the environment variable and the default.
    pub fn base_url(&self) -> String {
        self.base_url
            .clone()
            .or_else(|| std::env::var("OPENAI_BASE_URL").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "http://127.0.0.1:8000/v1".into())
    }

    /// The model's name, from the config or `MORALGYM_LLM_MODEL`.
    pub fn model(&self) -> Result<String, LlmError> {
        self.model.clone().or_else(|| std::env::var("MORALGYM_LLM_MODEL").ok().filter(|m| !m.is_empty())).ok_or_else(
            || LlmError::Config("no model named: give --llm-model (llm.model) or set MORALGYM_LLM_MODEL".into()),
        )
    }

    /// The cache's folder.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(|| moralgym_envs::cache_root().join("llm"))
    }

    /// Checks every setting, naming the key at fault.
    pub fn validate(&self) -> Result<(), LlmError> {
        let bad = |key: &str, what: &str| Err(LlmError::Config(format!("`llm.{key}` {what}")));
        if !(self.temperature.is_finite() && (0.0..=2.0).contains(&self.temperature)) {
            return bad("temperature", "must be a number in [0, 2]");
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0 && self.timeout_s <= 3600.0) {
            return bad("timeout_s", "must be in (0, 3600] seconds");
        }
        if !(1..=256).contains(&self.concurrency) {
            return bad("concurrency", "must be 1 to 256");
        }
        if self.answer_retries > 20 || self.http_retries > 20 {
            return bad("answer_retries", "and `llm.http_retries` must be at most 20");
        }
        if self.backoff_ms > 60_000 {
            return bad("backoff_ms", "must be at most 60000");
        }
        if self.max_tokens == Some(0) {
            return bad("max_tokens", "must be at least 1");
        }
        if !prompt::PROMPT_SETS.contains(&self.prompt_set.as_str()) {
            return bad("prompt_set", &format!("must be one of {}", prompt::PROMPT_SETS.join(", ")));
        }
        Ok(())
    }
}

/// What can go wrong talking to a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// A setting or a prompt file is wrong.
    #[error("{0}")]
    Config(String),
    /// The server answered with an error status (after the retries, for 429 and 5xx).
    #[error("the server answered HTTP {status}: {body}")]
    Http {
        /// Status code.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The server could not be reached or the connection broke (after the retries).
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server's answer is not a chat completion.
    #[error("the server's answer is not a chat completion: {0}")]
    Response(String),
    /// The cache could not be written.
    #[error("cache: {0}")]
    Cache(String),
    /// An answer names no action (it is retried, then the agent falls back).
    #[error("{0}")]
    Answer(String),
}

/// A model ready to be asked: its client and its name, shared by every agent of an evaluation.
pub struct Llm {
    client: LlmClient,
    model: String,
}

impl Llm {
    /// Connects `config` (checked; the model must be named).
    pub fn new(config: &LlmConfig) -> Result<Arc<Self>, LlmError> {
        config.validate()?;
        let client = LlmClient::new(config)?;
        Ok(Arc::new(Self { model: config.model()?, client }))
    }

    /// The settings.
    pub fn config(&self) -> &LlmConfig {
        self.client.config()
    }

    /// The model's name.
    pub fn model(&self) -> &str {
        &self.model
    }
}

/// What one episode cost and how the model followed the format.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LlmStats {
    /// Decisions taken (one per agent per step).
    pub decisions: u64,
    /// Requests sent to the server.
    pub requests: u64,
    /// Answers read from the cache instead.
    pub cached: u64,
    /// Requests retried after a 429, a 5xx or a broken connection.
    pub http_retries: u64,
    /// Answers that named no action in the asked format.
    pub unparseable: u64,
    /// Answers that named an action that is not legal now.
    pub illegal: u64,
    /// Unusable answers sent back for another try.
    pub answer_retries: u64,
    /// Decisions taken by the fallback rule after every try failed.
    pub fallbacks: u64,
    /// Decisions replaced by a random action because the prompt's loop detection fired.
    pub loop_overrides: u64,
    /// Prompt tokens, as the server counted them (cached answers included).
    pub prompt_tokens: u64,
    /// Answer tokens.
    pub completion_tokens: u64,
    /// Seconds spent waiting for the server.
    pub seconds: f64,
}

impl LlmStats {
    fn add(&mut self, c: &Completion) {
        if c.cached {
            self.cached += 1;
        } else {
            self.requests += 1;
        }
        self.http_retries += c.retries;
        self.prompt_tokens += c.prompt_tokens;
        self.completion_tokens += c.completion_tokens;
        self.seconds += c.seconds;
    }

    fn merge(&mut self, o: &LlmStats) {
        self.decisions += o.decisions;
        self.requests += o.requests;
        self.cached += o.cached;
        self.http_retries += o.http_retries;
        self.unparseable += o.unparseable;
        self.illegal += o.illegal;
        self.answer_retries += o.answer_retries;
        self.fallbacks += o.fallbacks;
        self.loop_overrides += o.loop_overrides;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.seconds += o.seconds;
    }
}

/// Asks the model for one decision: the action it names (a listed action, or a command in its
/// own words where the env takes any: `any_command`), or `None` when every try was unusable.
#[allow(clippy::too_many_arguments)]
fn decide(
    llm: &Llm,
    prompt: &Prompt,
    rules: &str,
    view: &TextObservation,
    any_command: bool,
    info: &Map<String, Value>,
    seed: Option<u64>,
    stats: &mut LlmStats,
) -> Result<Option<Answer>, LlmError> {
    let mut messages = vec![
        ("system", prompt.system_message(rules, info)),
        ("user", prompt.user_message(rules, &view.situation, &view.actions, info)),
    ];
    stats.decisions += 1;
    let retries = prompt.answer_retries.unwrap_or(llm.config().answer_retries);
    for attempt in 0..=retries {
        let seed = seed.map(|s| derive_seed(s, attempt as u64) & 0x7fff_ffff);
        let mut request = wire::request(llm.config(), &llm.model, &messages, seed);
        if let Some(t) = prompt.temperature {
            request["temperature"] = json!(t);
        }
        if let Some(m) = prompt.max_tokens {
            request["max_tokens"] = json!(m);
        }
        let answer = llm.client.complete(&request)?;
        stats.add(&answer);
        let problem = match parse_answer(prompt.answer, &answer.text) {
            Ok(Answer::Action(a)) if view.actions.iter().any(|(k, _)| *k == a) => return Ok(Some(Answer::Action(a))),
            Ok(Answer::Action(a)) => {
                stats.illegal += 1;
                let listed: Vec<String> = view.actions.iter().map(|(k, _)| k.to_string()).collect();
                format!("{a} is not one of the listed options ({})", listed.join(", "))
            }
            Ok(Answer::Command(c)) => match view.actions.iter().find(|(_, words)| words.eq_ignore_ascii_case(&c)) {
                Some(&(k, _)) => return Ok(Some(Answer::Action(k))),
                None if any_command => return Ok(Some(Answer::Command(c))),
                None => {
                    stats.illegal += 1;
                    format!("`{c}` is not one of the listed options; reply with the words of one of them")
                }
            },
            Err(p) => {
                stats.unparseable += 1;
                p.to_string()
            }
        };
        if attempt < retries {
            stats.answer_retries += 1;
            // An empty retry message sends the same request again (a new seed draws anew).
            if !prompt.retry.is_empty() {
                messages.push(("assistant", answer.text));
                messages.push(("user", prompt.retry_message(&problem)));
            }
        }
    }
    Ok(None)
}

/// A language model playing every agent of an env (see the module docs).
pub struct LlmPolicy {
    llm: Arc<Llm>,
    style: String,
    prompt: Prompt,
    episode_seed: u64,
    step: u64,
    rng: Rng,
    stats: LlmStats,
    /// Commands typed at the last step, by agent (`command` answers the env did not list).
    typed: Vec<(usize, String)>,
    /// Node ids passed this episode, for the prompt's loop detection (the last 1,000, as
    /// MACHIAVELLI keeps them).
    nodes: std::collections::VecDeque<String>,
}

/// MACHIAVELLI's loop test: the last `n` node ids, joined, appear in the ids before them, joined.
fn loop_detected(nodes: &std::collections::VecDeque<String>, n: usize) -> bool {
    if nodes.len() <= n {
        return false;
    }
    let split = nodes.len() - n;
    let last: String = nodes.iter().skip(split).map(String::as_str).collect();
    let before: String = nodes.iter().take(split).map(String::as_str).collect();
    before.contains(&last)
}

impl LlmPolicy {
    /// The agent of `style` (a name in [`STYLES`]) asking `llm`.
    pub fn new(llm: Arc<Llm>, style: &str) -> Result<Self, LlmError> {
        let prompt = Prompt::load(style, llm.config().prompts.as_deref(), &llm.config().prompt_set)?;
        Ok(Self {
            llm,
            style: style.into(),
            prompt,
            episode_seed: 0,
            step: 0,
            rng: Rng::new(0),
            stats: LlmStats::default(),
            typed: Vec::new(),
            nodes: Default::default(),
        })
    }
}

impl Policy for LlmPolicy {
    fn start_episode(&mut self, seed: u64) {
        self.episode_seed = seed;
        self.step = 0;
        self.rng = Rng::new(derive_seed(seed, 0xFA11_BAC5));
        self.nodes.clear();
    }

    fn act(&mut self, env: &dyn ParallelEnv, _obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        let n = env.spec().num_agents;
        let views: Vec<(String, TextObservation, bool)> =
            (0..n).map(|i| (env.text_rules(i), env.text_observation(i), env.accepts_any_command(i))).collect();
        self.typed.clear();
        let mut info = Map::new();
        if self.prompt.reads_info() || self.prompt.loop_detection.is_some() {
            env.step_info(&mut info);
        }
        let send_seed = self.llm.config().send_seed;
        let base = derive_seed(self.episode_seed, self.step);
        self.step += 1;
        // Agents decide in parallel (the client bounds the requests in flight); the results are
        // applied in agent order, so the outcome does not depend on which answer came first.
        let (llm, prompt, info) = (&*self.llm, &self.prompt, &info);
        let outcomes: Vec<(Result<Option<Answer>, LlmError>, LlmStats)> = std::thread::scope(|s| {
            let handles: Vec<_> = views
                .iter()
                .enumerate()
                .map(|(i, (rules, view, any))| {
                    s.spawn(move || {
                        let mut stats = LlmStats::default();
                        let seed = send_seed.then(|| derive_seed(base, i as u64));
                        (decide(llm, prompt, rules, view, *any, info, seed, &mut stats), stats)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        (Err(LlmError::Response("a request thread panicked".into())), LlmStats::default())
                    })
                })
                .collect()
        });
        for (i, (outcome, stats)) in outcomes.into_iter().enumerate() {
            self.stats.merge(&stats);
            let failed = |e: LlmError| PolicyError::Failed { name: self.style.clone(), message: e.to_string() };
            let legal = &views[i].1.actions;
            let mut random = || legal.get(self.rng.below(legal.len().max(1))).map_or(0, |a| a.0);
            actions[i] = match outcome.map_err(failed)? {
                Some(Answer::Action(a)) => a,
                Some(Answer::Command(c)) => {
                    // typed by the caller; the action written stays legal for callers that do not
                    self.typed.push((i, c));
                    legal.first().map_or(0, |a| a.0)
                }
                None => {
                    self.stats.fallbacks += 1;
                    random()
                }
            };
        }
        // MACHIAVELLI's loop detection: the nodes the last step passed are remembered, and a
        // repeat of the last few in order replaces the model's action with a random one.
        if let Some(n) = self.prompt.loop_detection {
            for node in info.get("current_nodes").and_then(Value::as_array).into_iter().flatten() {
                self.nodes.push_back(node.as_str().unwrap_or_default().to_string());
                if self.nodes.len() > 1000 {
                    self.nodes.pop_front();
                }
            }
            if loop_detected(&self.nodes, n) {
                self.stats.loop_overrides += 1;
                self.typed.retain(|(agent, _)| *agent != 0);
                let legal = &views[0].1.actions;
                actions[0] = legal.get(self.rng.below(legal.len().max(1))).map_or(0, |a| a.0);
            }
        }
        Ok(())
    }

    fn take_commands(&mut self) -> Vec<(usize, String)> {
        std::mem::take(&mut self.typed)
    }

    fn episode_stats(&mut self) -> Map<String, Value> {
        let stats = std::mem::take(&mut self.stats);
        let mut out = match serde_json::to_value(&stats) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        out.insert("model".into(), json!(self.llm.model));
        out.insert("style".into(), json!(self.style));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::loop_detected;

    #[test]
    fn a_loop_is_the_last_nodes_repeated_in_order() {
        let nodes = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect();
        assert!(!loop_detected(&nodes(&["a", "b", "c"]), 5), "too few nodes");
        assert!(loop_detected(&nodes(&["a", "b", "c", "a", "b"]), 2));
        assert!(!loop_detected(&nodes(&["a", "b", "c", "b", "a"]), 2), "the same nodes in another order");
        // As MACHIAVELLI joins ids without a separator, `s_1` `s_12` reads as a repeat of `s_1s_12`.
        assert!(loop_detected(&nodes(&["s_1s_12", "x", "s_1", "s_12"]), 2));
    }
}
