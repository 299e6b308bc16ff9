//! The registry: environment ids like `CoinGame-v1` mapped to constructors with serde configs.
//!
//! A config is a JSON/TOML table; keys it leaves out keep their defaults, nested tables merge key
//! by key, and unknown keys or wrong types are errors naming the key.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::api::{EnvError, EnvResult, ParallelEnv};
use crate::social::{
    Cleanup, CleanupConfig, CoinGame, CoinGameConfig, Harvest, HarvestConfig, MatrixConfig, MatrixGame, Snowdrift,
    SnowdriftConfig, StagHunt, StagHuntConfig,
};
use crate::survival::{SurvivalConfig, SurvivalDilemma};
use crate::text::jiminy::env::{JiminyConfig, JiminyCricket};
use crate::text::machiavelli::{Machiavelli, MachiavelliConfig};
use crate::text::{TextGame, TextGameConfig};

/// One registered environment.
pub struct Registration {
    /// Id with version, e.g. `CoinGame-v1`.
    pub id: &'static str,
    /// Family the env belongs to.
    pub family: &'static str,
    /// One line describing the game.
    pub summary: &'static str,
    default_config: fn() -> Value,
    build: fn(&str, Value) -> EnvResult<Box<dyn ParallelEnv>>,
}

impl Registration {
    /// The full default config as a table.
    pub fn default_config(&self) -> Value {
        (self.default_config)()
    }
}

fn to_value<C: Serialize>(c: C) -> Value {
    serde_json::to_value(c).unwrap_or(Value::Null)
}

fn build<C, E>(id: &str, config: Value, new: fn(&str, C) -> EnvResult<E>) -> EnvResult<Box<dyn ParallelEnv>>
where
    C: DeserializeOwned,
    E: ParallelEnv + 'static,
{
    let c: C =
        serde_json::from_value(config).map_err(|e| EnvError::Config { env: id.into(), message: e.to_string() })?;
    Ok(Box::new(new(id, c)?))
}

static REGISTRY: &[Registration] = &[
    Registration {
        id: "PrisonersDilemma-v0",
        family: "matrix",
        summary: "iterated Prisoner's Dilemma, LASE payoffs R4 T5 S0 P1, 100 rounds",
        default_config: || to_value(MatrixConfig::prisoners_dilemma()),
        build: |id, v| build(id, v, MatrixGame::new),
    },
    Registration {
        id: "StagHunt-v0",
        family: "matrix",
        summary: "iterated Stag Hunt matrix game (R1 T0.5 S-0.5 P0)",
        default_config: || to_value(MatrixConfig::stag_hunt()),
        build: |id, v| build(id, v, MatrixGame::new),
    },
    Registration {
        id: "Chicken-v0",
        family: "matrix",
        summary: "iterated Chicken / Snowdrift matrix game (R1 T1.5 S0.5 P0)",
        default_config: || to_value(MatrixConfig::chicken()),
        build: |id, v| build(id, v, MatrixGame::new),
    },
    Registration {
        id: "Harmony-v0",
        family: "matrix",
        summary: "iterated Harmony matrix game (R1 T0.5 S0.5 P0)",
        default_config: || to_value(MatrixConfig::harmony()),
        build: |id, v| build(id, v, MatrixGame::new),
    },
    Registration {
        id: "MatrixGame-v0",
        family: "matrix",
        summary: "any repeated 2x2 game: set reward, temptation, sucker, punishment",
        default_config: || to_value(MatrixConfig::default()),
        build: |id, v| build(id, v, MatrixGame::new),
    },
    Registration {
        id: "CoinGame-v1",
        family: "grid",
        summary: "two players, one coin; taking the other's coin costs it 2 (5x5 bounded; 3x3 torus by config)",
        default_config: || to_value(CoinGameConfig::default()),
        build: |id, v| build(id, v, CoinGame::new),
    },
    Registration {
        id: crate::social::cleanup::ID,
        family: "grid",
        summary: "public good: apples grow only while someone cleans the river (4 agents, 8x8)",
        default_config: || to_value(CleanupConfig::default()),
        build: |id, v| build(id, v, Cleanup::new),
    },
    Registration {
        id: "Harvest-v1",
        family: "grid",
        summary: "common pool: apples regrow near apples; greed empties patches; zap beam (4 agents, 8x8)",
        default_config: || to_value(HarvestConfig::default()),
        build: |id, v| build(id, v, Harvest::new),
    },
    Registration {
        id: "SequentialStagHunt-v1",
        family: "grid",
        summary: "stags need two hunters and pay 10, hares pay 1; agents stop after a hunt (4 agents, 5x5)",
        default_config: || to_value(StagHuntConfig::default()),
        build: |id, v| build(id, v, StagHunt::new),
    },
    Registration {
        id: "SequentialSnowdrift-v1",
        family: "grid",
        summary: "clearing a drift pays the clearer 2 and every other agent 6 (4 agents, 8x8)",
        default_config: || to_value(SnowdriftConfig::default()),
        build: |id, v| build(id, v, Snowdrift::new),
    },
    Registration {
        id: "SurvivalDilemma-v1",
        family: "survival",
        summary: "keep your power above zero; tapping the grid that hospitals need saves you (4 agents, 13 turns)",
        default_config: || to_value(SurvivalConfig::default()),
        build: |id, v| build(id, v, SurvivalDilemma::new),
    },
    Registration {
        id: "TextGame-v0",
        family: "text",
        summary: "MACHIAVELLI-like choose-your-own-adventure: achievements vs. 13 violations, power, disutility",
        default_config: || to_value(TextGameConfig::default()),
        build: |id, v| build(id, v, TextGame::new),
    },
    Registration {
        id: "Machiavelli-v0",
        family: "text",
        summary: "a game of MACHIAVELLI's own game_data, played and counted as its env does (demo: moralgym's icefall)",
        default_config: || to_value(MachiavelliConfig::default()),
        build: |id, v| build(id, v, Machiavelli::new),
    },
    Registration {
        id: "JiminyCricket-v0",
        family: "parser",
        summary: "a Jiminy Cricket parser game (from your checkout; demo: moralgym's moraltest) on moralgym's Z-machine, valid actions from its grammar",
        default_config: || to_value(JiminyConfig::default()),
        build: |id, v| build(id, v, JiminyCricket::new),
    },
];

/// Every registered environment, in listing order.
pub fn registry() -> &'static [Registration] {
    REGISTRY
}

/// Registered ids in listing order.
pub fn ids() -> Vec<&'static str> {
    REGISTRY.iter().map(|r| r.id).collect()
}

/// Ids whose rules changed, with the current id and the settings that play the old rules on it
/// (the v0 rules of the social and survival games were moralgym's first reading of their sources;
/// v1 follows the authors' code, see each env's card).
const SUPERSEDED: [(&str, &str, &str); 6] = [
    ("CoinGame-v0", "CoinGame-v1", r#"contested = "both""#),
    (
        "Cleanup-v0",
        "Cleanup-v1",
        r#"player_channels = "self_and_others", blocking = true, cap_waste = false, clean_beam_length = 1, start_region = "river_and_land", spawn_under_agents = false"#,
    ),
    ("Harvest-v0", "Harvest-v1", r#"player_channels = "self_and_others", regrowth_radius = 4"#),
    (
        "SequentialStagHunt-v0",
        "SequentialStagHunt-v1",
        r#"player_channels = "self_and_others", interaction = "step_on""#,
    ),
    (
        "SequentialSnowdrift-v0",
        "SequentialSnowdrift-v1",
        r#"player_channels = "self_and_others", interaction = "step_on""#,
    ),
    (
        "SurvivalDilemma-v0",
        "SurvivalDilemma-v1",
        r#"start_location = "discussion_table", transfer_all = false (the turn order, the live transfer check and the greed index's denominator are not reachable)"#,
    ),
];

/// The registration of `id`, or an error: an older version names the current one, any other id
/// lists the known ids.
pub fn lookup(id: &str) -> EnvResult<&'static Registration> {
    if let Some(&(old, current, restore)) = SUPERSEDED.iter().find(|s| s.0 == id) {
        return Err(EnvError::Superseded { id: old.into(), current: current.into(), restore: restore.into() });
    }
    REGISTRY.iter().find(|r| r.id == id).ok_or_else(|| EnvError::UnknownEnv { id: id.into(), known: ids().join(", ") })
}

/// The config `make` would use: `overrides` (a table, or null for none) merged over the defaults.
pub fn resolve_config(id: &str, overrides: &Value) -> EnvResult<Value> {
    let reg = lookup(id)?;
    let mut config = reg.default_config();
    match overrides {
        Value::Null => {}
        Value::Object(o) => merge(&mut config, o),
        other => {
            return Err(EnvError::Config {
                env: id.into(),
                message: format!("a config must be a table of keys, got {other}"),
            });
        }
    }
    Ok(config)
}

fn merge(base: &mut Value, overrides: &Map<String, Value>) {
    let Value::Object(b) = base else { return };
    for (k, v) in overrides {
        match (b.get_mut(k), v) {
            (Some(existing @ Value::Object(_)), Value::Object(o)) => merge(existing, o),
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Creates the environment `id` with `overrides` (a table, or null) over its default config.
pub fn make(id: &str, overrides: &Value) -> EnvResult<Box<dyn ParallelEnv>> {
    let config = resolve_config(id, overrides)?;
    if matches!(lookup(id)?.family, "text" | "parser")
        && overrides.get("game").is_some()
        && (overrides.get("path").is_some() || overrides.get("generate").is_some())
    {
        return Err(EnvError::OutOfRange {
            env: id.into(),
            key: "game".into(),
            message: "names a shipped game while `path` or `generate` names another story: set one of them".into(),
        });
    }
    (lookup(id)?.build)(id, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_registered_env_builds_with_its_defaults_and_has_costs() {
        for reg in registry() {
            let env = make(reg.id, &Value::Null).unwrap_or_else(|e| panic!("{}: {e}", reg.id));
            assert_eq!(env.spec().id, reg.id);
            assert!(!env.spec().cost_spec.is_empty(), "{} declares no cost", reg.id);
        }
    }

    #[test]
    fn unknown_id_names_the_known_ones() {
        let err = make("CoinGam-v0", &Value::Null).err().expect("must fail");
        let msg = err.to_string();
        assert!(matches!(err, EnvError::UnknownEnv { .. }));
        assert!(msg.contains("CoinGam-v0") && msg.contains("CoinGame-v1"), "{msg}");
    }

    #[test]
    fn unknown_key_and_wrong_type_name_the_key() {
        let err = make("CoinGame-v1", &json!({"sise": 3})).err().expect("must fail");
        assert!(err.to_string().contains("sise"), "{err}");
        let err = make("CoinGame-v1", &json!({"size": "big"})).err().expect("must fail");
        assert!(matches!(err, EnvError::Config { .. }), "{err}");
        let err = make("Cleanup-v1", &json!({"zap": {"lenght": 3}})).err().expect("must fail");
        assert!(err.to_string().contains("lenght"), "{err}");
        let err = make("CoinGame-v1", &json!(3)).err().expect("must fail");
        assert!(err.to_string().contains("table"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        for (id, cfg, key) in [
            ("CoinGame-v1", json!({"size": 1}), "size"),
            ("CoinGame-v1", json!({"max_steps": 0}), "max_steps"),
            ("Cleanup-v1", json!({"waste_spawn_prob": 1.5}), "waste_spawn_prob"),
            ("Cleanup-v1", json!({"num_agents": 0}), "num_agents"),
            ("Harvest-v1", json!({"zap": {"width": 2}}), "zap.width"),
            ("Harvest-v1", json!({"map": ["A.", "A"]}), "map"),
            ("Harvest-v1", json!({"map": ["Ax"]}), "map"),
            ("SequentialStagHunt-v1", json!({"stags": 30}), "stags"),
            ("SequentialSnowdrift-v1", json!({"drifts": 0}), "drifts"),
            ("PrisonersDilemma-v0", json!({"max_steps": 0}), "max_steps"),
        ] {
            let err = make(id, &cfg).err().unwrap_or_else(|| panic!("{id} {cfg} must fail"));
            assert!(matches!(err, EnvError::OutOfRange { .. }), "{id}: {err}");
            assert!(err.to_string().contains(key), "{id}: {err}");
        }
    }

    #[test]
    fn nested_overrides_keep_the_other_defaults() {
        let c = resolve_config("Cleanup-v1", &json!({"zap": {"enabled": true}})).expect("resolves");
        assert_eq!(c["zap"]["enabled"], json!(true));
        assert_eq!(c["zap"]["length"], json!(5));
        let env = make("Cleanup-v1", &json!({"zap": {"enabled": true}})).expect("builds");
        assert_eq!(env.spec().cost_spec.names(), vec!["free_ride", "zap"]);
        assert_eq!(env.spec().num_actions(), 8);
    }
}
