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
