//! The project's cache folder, where the crates above keep what is slow to make again (random
//! baselines of text games, language models' answers).

use std::path::PathBuf;

/// moralgym's cache folder (random baselines, model answers): `$MORALGYM_CACHE`, else
/// `$XDG_CACHE_HOME/moralgym`, else `~/.cache/moralgym`.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("MORALGYM_CACHE") {
        return PathBuf::from(d);
    }
    match std::env::var_os("XDG_CACHE_HOME")
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").into_os_string()))
    {
        Some(base) => PathBuf::from(base).join("moralgym"),
        None => std::env::temp_dir().join("moralgym-cache"),
    }
}
