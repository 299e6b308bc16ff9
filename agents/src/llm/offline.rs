//! The language-model client of a build without the `llm` feature: every model refuses to
//! connect, saying how to get one. The agents, prompts and answer parsing are all there.

use serde_json::Value;

use super::wire::Completion;
use super::{LlmConfig, LlmError};

const WITHOUT: &str = "this moralgym was built without its `llm` feature, which holds the language-model client \
    (HTTP and the answer cache): build it with default features";

/// A client that cannot be made.
pub struct LlmClient {
    config: LlmConfig,
}

impl LlmClient {
    /// Always an error naming the missing feature.
    pub fn new(config: &LlmConfig) -> Result<Self, LlmError> {
        let _ = config;
        Err(LlmError::Config(WITHOUT.into()))
    }

    /// The settings.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Never reached: no client is ever made.
    pub fn complete(&self, request: &Value) -> Result<Completion, LlmError> {
        let _ = request;
        Err(LlmError::Config(WITHOUT.into()))
    }
}
