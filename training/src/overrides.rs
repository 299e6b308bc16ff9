//! Config tables from TOML files and `--set key=value` overrides (dotted keys reach nested tables).

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::ConfigError;

/// Reads a TOML file into a table.
pub fn load_table(path: &Path) -> Result<Value, ConfigError> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::Io { path: name.clone(), message: e.to_string() })?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| ConfigError::Toml { path: name.clone(), message: e.to_string() })?;
    for (k, v) in &table {
        non_finite(v, k).map_err(|message| ConfigError::Toml { path: name.clone(), message })?;
    }
    serde_json::to_value(table).map_err(|e| ConfigError::Toml { path: name, message: e.to_string() })
}

/// `Err` naming the dotted key of the first NaN or infinity in `value` (TOML allows them; no
/// moralgym setting does, and JSON would silently turn them into null).
fn non_finite(value: &toml::Value, key: &str) -> Result<(), String> {
    match value {
        toml::Value::Float(x) if !x.is_finite() => Err(format!("`{key}` is {x}: every number must be finite")),
        toml::Value::Table(t) => t.iter().try_for_each(|(k, v)| non_finite(v, &format!("{key}.{k}"))),
        toml::Value::Array(a) => a.iter().try_for_each(|v| non_finite(v, key)),
        _ => Ok(()),
    }
}

/// Reads a TOML file and applies `key=value` overrides to it, in order.
pub fn load_with_sets(path: &Path, sets: &[String]) -> Result<Value, ConfigError> {
    let mut table = load_table(path)?;
    apply_sets(&mut table, sets)?;
    Ok(table)
}

/// Applies `key=value` overrides in order (see [`apply_set`]).
pub fn apply_sets(table: &mut Value, sets: &[String]) -> Result<(), ConfigError> {
    sets.iter().try_for_each(|s| apply_set(table, s))
}

/// Applies one `key=value` override to `table`. The value is read as TOML (`3`, `true`,
/// `"text"`, `[1, 2]`, `{ a = 1 }`); a bare word that is not TOML is taken as a string. An empty
/// value (`key=`) removes the key, so its default applies again; removing a key that is not
/// there is an error (it is most likely misspelt).
pub fn apply_set(table: &mut Value, entry: &str) -> Result<(), ConfigError> {
    let err = |message: &str| ConfigError::Set { entry: entry.into(), message: message.into() };
    let (key, raw) = entry.split_once('=').ok_or_else(|| err("expected key=value (or key= to remove the key)"))?;
    let parts = key_parts(key.trim()).ok_or_else(|| err("the key has an empty part or an unclosed quote"))?;
    let raw = raw.trim();
    if raw.is_empty() {
        let (last, path) = parts.split_last().ok_or_else(|| err("no key"))?;
        let mut node = &mut *table;
        for part in path {
            node = node
                .get_mut(part.as_str())
                .ok_or_else(|| err(&format!("`{}` is not set: nothing to remove", key.trim())))?;
        }
        return match node.as_object_mut().and_then(|m| m.remove(last.as_str())) {
            Some(_) => Ok(()),
            None => Err(err(&format!("`{}` is not set: nothing to remove", key.trim()))),
        };
    }
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => {
            let v = t.remove("v").unwrap_or(toml::Value::Boolean(false));
            non_finite(&v, key.trim()).map_err(|m| err(&m))?;
            serde_json::to_value(v).map_err(|e| err(&e.to_string()))?
        }
        Err(_) if !raw.is_empty() && raw.chars().all(|c| c.is_alphanumeric() || "_-./".contains(c)) => {
            Value::String(raw.into())
        }
        Err(e) => return Err(err(&format!("the value is not TOML: {}", e.message()))),
    };
    if table.is_null() {
        *table = Value::Object(Map::new());
    }
    let mut node = table;
    let mut parts = parts.iter().peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = node else {
            return Err(err(&format!("`{part}` is inside a value that is not a table")));
        };
        if parts.peek().is_none() {
            map.insert(part.clone(), value);
            return Ok(());
        }
        node = map.entry(part.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

/// The parts of a dotted key, where a part in double quotes may hold dots (TOML's quoted keys,
/// as sweep grids use: `grid."cost.default_weight"`). `None` for an empty part or an open quote.
fn key_parts(key: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut rest = key;
    loop {
        let (part, after) = match rest.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (quoted[..end].to_string(), &quoted[end + 1..])
            }
            None => {
                let end = rest.find('.').unwrap_or(rest.len());
                (rest[..end].trim().to_string(), &rest[end..])
            }
        };
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match after.strip_prefix('.') {
            Some(next) => rest = next,
            None if after.is_empty() => return Some(parts),
            None => return None,
        }
    }
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
    fn an_empty_value_removes_the_key() {
        let mut t = json!({"size": 3, "zap": {"timeout": 5, "enabled": true}});
        apply_set(&mut t, "zap.timeout=").unwrap();
        apply_set(&mut t, "size =").unwrap();
        assert_eq!(t, json!({"zap": {"enabled": true}}));
        let e = apply_set(&mut t, "zap.timeout=").unwrap_err();
        assert!(e.to_string().contains("`zap.timeout` is not set: nothing to remove"), "{e}");
        assert!(apply_set(&mut t, "missing.key=").is_err());
    }

    #[test]
    fn quoted_key_parts_may_hold_dots() {
        let mut t = json!({"grid": {"seed": [1]}});
        apply_set(&mut t, "grid.\"cost.default_weight\"=[0.0, 1.0]").unwrap();
        assert_eq!(t, json!({"grid": {"seed": [1], "cost.default_weight": [0.0, 1.0]}}));
    }

    #[test]
    fn malformed_sets_are_errors_naming_the_entry() {
        let mut t = Value::Null;
        for bad in ["size", "=3", "a..b=1", "x=[1,", "size=3 4", "grid.\"open=1", "a.\"b\"c=1", "nope="] {
            let e = apply_set(&mut t, bad).expect_err(bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
        apply_set(&mut t, "a=1").unwrap();
        assert!(apply_set(&mut t, "a.b=1").is_err());
    }
}
