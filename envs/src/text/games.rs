//! The games moralgym ships (story files under `games/` and ChoiceScript folders under
//! `games/choicescript/`, embedded in the binary).

use std::collections::BTreeMap;

/// (name, story file text) of every shipped game.
pub const GAMES: &[(&str, &str)] = &[
    ("heist", include_str!("../../../games/heist.toml")),
    ("campaign", include_str!("../../../games/campaign.toml")),
    ("shipwreck", include_str!("../../../games/shipwreck.toml")),
    ("startup", include_str!("../../../games/startup.toml")),
    ("frontier", include_str!("../../../games/frontier.toml")),
    ("hospital", include_str!("../../../games/hospital.toml")),
];

/// A shipped ChoiceScript game (a folder under `games/choicescript/`, embedded in the binary).
pub struct ShippedChoiceScript {
    /// Its name, as `game = "..."` takes it.
    pub name: &'static str,
    /// (scene name, text) of every scene file.
    pub scenes: &'static [(&'static str, &'static str)],
    /// Its annotation sidecar.
    pub sidecar: &'static str,
}

impl ShippedChoiceScript {
    /// The scene files by scene name, as `choicescript::read_files` gives a folder's.
    pub fn files(&self) -> BTreeMap<String, String> {
        self.scenes.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
    }

    /// The text of the sidecar at `path` if one is given, else the game's own.
    pub fn sidecar_or(&self, path: Option<&std::path::Path>) -> std::io::Result<String> {
        path.map_or_else(|| Ok(self.sidecar.to_string()), |p| super::files::read(p, None))
    }
}

macro_rules! choicescript_game {
    ($name:literal, [$($scene:literal),* $(,)?]) => {
        ShippedChoiceScript {
            name: $name,
            scenes: &[$(($scene, include_str!(concat!("../../../games/choicescript/", $name, "/", $scene, ".txt")))),*],
            sidecar: include_str!(concat!("../../../games/choicescript/", $name, "/annotations.toml")),
        }
    };
}

/// The long ChoiceScript games: a test checks that each holds every file of its folder.
pub const CHOICESCRIPT_GAMES: &[ShippedChoiceScript] = &[
    choicescript_game!(
        "icefall",
        [
            "startup",
            "kathmandu",
            "approach",
            "basecamp",
            "icefall",
            "camp_two",
            "rotation",
            "window",
            "south_col",
            "summit_day",
            "descent",
            "aftermath",
        ]
    ),
    choicescript_game!(
        "regent",
        [
            "startup",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
            "january",
        ]
    ),
];

/// The story file of a shipped TOML game.
pub fn shipped(name: &str) -> Option<&'static str> {
    GAMES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A shipped ChoiceScript game by name.
pub fn shipped_choicescript(name: &str) -> Option<&'static ShippedChoiceScript> {
    CHOICESCRIPT_GAMES.iter().find(|g| g.name == name)
}

/// Whether `name` is a shipped game of either format.
pub fn is_shipped(name: &str) -> bool {
    shipped(name).is_some() || shipped_choicescript(name).is_some()
}

/// Names of the shipped games: the TOML stories, then the ChoiceScript games.
pub fn names() -> Vec<&'static str> {
    GAMES.iter().map(|(n, _)| *n).chain(CHOICESCRIPT_GAMES.iter().map(|g| g.name)).collect()
}

/// The `TextGame-v0` config that plays `game`: a shipped game's name, else the path of a story
/// file or of a ChoiceScript game.
pub fn config_of(game: &str) -> serde_json::Value {
    if is_shipped(game) { serde_json::json!({ "game": game }) } else { serde_json::json!({ "path": game }) }
}
