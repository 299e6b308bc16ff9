//! The games moralgym ships (story files under `games/`, embedded in the binary).

/// (name, story file text) of every shipped game.
pub const GAMES: &[(&str, &str)] = &[
    ("heist", include_str!("../../../games/heist.toml")),
    ("campaign", include_str!("../../../games/campaign.toml")),
    ("shipwreck", include_str!("../../../games/shipwreck.toml")),
    ("startup", include_str!("../../../games/startup.toml")),
    ("frontier", include_str!("../../../games/frontier.toml")),
    ("hospital", include_str!("../../../games/hospital.toml")),
];

/// The story file of a shipped game.
pub fn shipped(name: &str) -> Option<&'static str> {
    GAMES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Names of the shipped games.
pub fn names() -> Vec<&'static str> {
    GAMES.iter().map(|(n, _)| *n).collect()
}

/// The `TextGame-v0` config that plays `game`: a shipped game's name, else the path of a story
/// file or of a ChoiceScript game.
pub fn config_of(game: &str) -> serde_json::Value {
    if shipped(game).is_some() { serde_json::json!({ "game": game }) } else { serde_json::json!({ "path": game }) }
}
