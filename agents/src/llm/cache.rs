//! The disk cache of a language-model agent: one JSON file per exact request (its SHA-256 names
//! the file), holding the request and the server's response. A re-run reads every answer from
//! here and sends nothing, so evaluations repeat bit for bit, resume after a kill, and can be
//! shared by copying the folder. Writes go to a temporary file that is then renamed, so a reader
//! never sees half a file.

use std::path::PathBuf;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::LlmError;

/// Cached responses under one folder.
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache in `dir` (created on the first write).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The file of `request`: `<dir>/<first two hex digits>/<sha256>.json`.
    pub fn path(&self, request: &Value) -> PathBuf {
        let hash = Sha256::digest(request.to_string().as_bytes());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(&hex[..2]).join(format!("{hex}.json"))
    }

    /// The cached response to exactly `request`, if any (an unreadable entry counts as none).
    pub fn get(&self, request: &Value) -> Option<Value> {
        let text = std::fs::read_to_string(self.path(request)).ok()?;
        let mut entry: Value = serde_json::from_str(&text).ok()?;
        (entry["request"] == *request).then(|| entry["response"].take())
    }

    /// Stores `response` as the answer to `request`.
    pub fn put(&self, request: &Value, response: &Value) -> Result<(), LlmError> {
        let path = self.path(request);
        let cannot = |e: std::io::Error| LlmError::Cache(format!("cannot write {}: {e}", path.display()));
        let dir = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir).map_err(cannot)?;
        // Unique per write: two agents asking the same question at once write side by side.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        let text = serde_json::to_string_pretty(&json!({"request": request, "response": response}))
            .map_err(|e| LlmError::Cache(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(cannot)?;
        std::fs::rename(&tmp, &path).map_err(cannot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_comes_back_only_for_the_exact_request() {
        let dir = std::env::temp_dir().join(format!("moralgym-llm-cache-{}", std::process::id()));
        let cache = Cache::new(dir.clone());
        let a = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.0});
        let b = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5});
        assert_eq!(cache.get(&a), None);
        cache.put(&a, &json!({"choices": [{"message": {"content": "1"}}]})).unwrap();
        assert_eq!(cache.get(&a).unwrap()["choices"][0]["message"]["content"], "1");
        assert_eq!(cache.get(&b), None, "another sampling setting is another request");
        assert_ne!(cache.path(&a), cache.path(&b));
        let _ = std::fs::remove_dir_all(dir);
    }
}
