//! Config tables from TOML files and `--set key=value` overrides (dotted keys reach nested tables).

use std::path::Path;

use moralgym_agents::PolicyError;
use moralgym_envs::EnvError;
use serde_json::{Map, Value};
use thiserror::Error;

/// A problem with a config file, an override, or the env it configures.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The file is not valid TOML.
    #[error("{path} is not valid TOML: {message}")]
    Toml {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A `--set` entry is malformed.
    #[error("bad --set `{entry}`: {message}")]
    Set {
        /// The entry as given.
        entry: String,
        /// What is wrong.
        message: String,
    },
    /// The environment rejected the config or an action.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A story file has problems (they were printed, one per line).
    #[error("{file}: {problems} problem(s) in the story")]
    Story {
        /// The file.
        file: String,
        /// How many.
        problems: usize,
    },
    /// A run config is malformed (unknown key, wrong type, bad value).
    #[error("invalid run config: {message}")]
    Run {
        /// What is wrong, naming the key.
        message: String,
    },
    /// The policy does not exist or does not fit the environment.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// Reads a TOML file into a table.
pub fn load_table(path: &Path) -> Result<Value, ConfigError> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::Io { path: name.clone(), message: e.to_string() })?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| ConfigError::Toml { path: name.clone(), message: e.to_string() })?;
    serde_json::to_value(table).map_err(|e| ConfigError::Toml { path: name, message: e.to_string() })
}

/// Reads a TOML file and applies `key=value` overrides to it, in order.
pub fn load_with_sets(path: &Path, sets: &[String]) -> Result<Value, ConfigError> {
    let mut table = load_table(path)?;
    for s in sets {
        apply_set(&mut table, s)?;
    }
    Ok(table)
}

/// Applies one `key=value` override to `table`. The value is read as TOML (`3`, `true`,
/// `"text"`, `[1, 2]`, `{ a = 1 }`); a bare word that is not TOML is taken as a string.
pub fn apply_set(table: &mut Value, entry: &str) -> Result<(), ConfigError> {
    let err = |message: &str| ConfigError::Set { entry: entry.into(), message: message.into() };
    let (key, raw) = entry.split_once('=').ok_or_else(|| err("expected key=value"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|part| part.is_empty()) {
        return Err(err("the key is empty"));
    }
    let raw = raw.trim();
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => serde_json::to_value(t.remove("v")).map_err(|e| err(&e.to_string()))?,
        Err(_) if !raw.is_empty() && raw.chars().all(|c| c.is_alphanumeric() || "_-./".contains(c)) => {
            Value::String(raw.into())
        }
        Err(e) => return Err(err(&format!("the value is not TOML: {}", e.message()))),
    };
    if table.is_null() {
        *table = Value::Object(Map::new());
    }
    let mut node = table;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = node else {
            return Err(err(&format!("`{part}` is inside a value that is not a table")));
        };
        if parts.peek().is_none() {
            map.insert(part.into(), value);
            return Ok(());
        }
        node = map.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_parses_toml_values_and_dotted_keys() {
        let mut t = Value::Null;
        apply_set(&mut t, "size=3").unwrap();
        apply_set(&mut t, "wrap = true").unwrap();
        apply_set(&mut t, "coin_colour=alternating").unwrap();
        apply_set(&mut t, "zap.timeout=5").unwrap();
        apply_set(&mut t, "zap.enabled=true").unwrap();
        apply_set(&mut t, "map=[\"A.\", \"..\"]").unwrap();
        assert_eq!(
            t,
            json!({"size": 3, "wrap": true, "coin_colour": "alternating", "zap": {"timeout": 5, "enabled": true}, "map": ["A.", ".."]})
        );
    }

    #[test]
    fn malformed_sets_are_errors_naming_the_entry() {
        let mut t = Value::Null;
        for bad in ["size", "=3", "a..b=1", "x=[1,", "size=3 4"] {
            let e = apply_set(&mut t, bad).expect_err(bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
        apply_set(&mut t, "a=1").unwrap();
        assert!(apply_set(&mut t, "a.b=1").is_err());
    }
}
