//! Generated bad input against every parser and entry point: story files, run and sweep configs,
//! `--set` entries, env configs and actions. Each must give a typed error or succeed, never
//! panic. The seed is fixed, so CI sees the same cases; run more with
//! `PROPTEST_CASES=20000 cargo test -p moralgym-training --test bad_input --release` (and another
//! `PROPTEST_RNG_SEED=N` for other cases).

use moralgym_envs::text::{Story, games};
use moralgym_envs::{ParallelEnv, registry};
use moralgym_training::{RunConfig, apply_set};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Value, json};

fn config() -> Config {
    let mut c = Config { failure_persistence: None, ..Config::default() };
    if matches!(c.rng_seed, RngSeed::Random) {
        c.rng_seed = RngSeed::Fixed(20_261_201);
    }
    c
}

/// JSON values of every kind, nested a little, with the numbers that break code: 0, negatives,
/// huge ones, fractions.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(i64::MAX), Just(i64::MIN), any::<i64>()].prop_map(Value::from),
        prop_oneof![
            Just(0.0f64),
            Just(-0.5),
            Just(1e300),
            Just(1e-300),
            any::<f64>().prop_filter("finite", |x| x.is_finite())
        ]
        .prop_map(Value::from),
        "[a-z_]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A table whose keys are mostly real keys of `template` (so values reach the checks behind
/// them), with wrong values, plus a few unknown keys.
fn table_like(template: Value) -> impl Strategy<Value = Value> {
    let keys: Vec<String> = template.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let key = prop_oneof![4 => prop::sample::select(keys), 1 => "[a-z_]{1,10}".prop_map(String::from)];
    prop::collection::btree_map(key, value(), 0..5).prop_map(move |m| {
        let mut t = template.clone();
        if let Value::Object(o) = &mut t {
            o.extend(m);
        }
        t
    })
}

/// A shipped story with some of its lines deleted, repeated or cut short.
fn mutated_story() -> impl Strategy<Value = String> {
    let texts: Vec<&'static str> = games::GAMES.iter().map(|g| g.1).collect();
    (prop::sample::select(texts), prop::collection::vec((any::<usize>(), 0u8..4), 1..8)).prop_map(|(text, edits)| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        for (at, kind) in edits {
            if lines.is_empty() {
                break;
            }
            let i = at % lines.len();
            match kind {
                0 => {
                    lines.remove(i);
                }
                1 => lines.insert(i, lines[i].clone()),
                2 => {
                    let cut = lines[i].char_indices().nth(lines[i].chars().count() / 2).map_or(0, |c| c.0);
                    lines[i].truncate(cut);
                }
                _ => {
                    let j = (i + 7) % lines.len();
                    lines.swap(i, j);
                }
            }
        }
        lines.join("\n")
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn story_files_give_a_story_or_a_list_of_problems(text in prop_oneof![mutated_story(), ".{0,400}"]) {
        if let Err(e) = Story::parse(&text) {
            prop_assert!(!e.problems.is_empty());
            prop_assert!(e.problems.iter().all(|p| p.line >= 1));
        }
    }

    #[test]
    fn run_configs_parse_or_name_what_is_wrong(
        table in table_like(json!({
            "env": "PrisonersDilemma-v0", "total_steps": 1024, "num_envs": 2, "threads": 1,
            "checkpoint_every": 1, "seed": 0, "learners": [0], "partner_policy": "random",
            "ppo": {}, "cost": {}, "eval": {}, "social": {}, "device": "flex", "shared_policy": false,
        }))
    ) {
        if let Err(e) = RunConfig::from_table(table) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn learner_settings_are_checked_before_they_reach_the_trainer(
        ppo in table_like(serde_json::to_value(moralgym_agents::PpoConfig::default()).unwrap()),
        cost in table_like(serde_json::to_value(moralgym_agents::CostConfig::default()).unwrap()),
    ) {
        let table = json!({"env": "PrisonersDilemma-v0", "total_steps": 64, "num_envs": 1, "ppo": ppo, "cost": cost});
        if let Ok(run) = RunConfig::from_table(table) {
            // what passes the checks must build a trainer
            let venv = moralgym_envs::VecEnv::make(&run.env, &run.env_config, run.num_envs, 1).expect("env");
            let built = moralgym_agents::Trainer::new(venv, &run.env_config, run.trainer.clone(), 64, 0, &burn::tensor::Device::flex());
            prop_assert!(built.is_ok(), "{:?}", built.err());
        }
    }

    #[test]
    fn set_entries_apply_or_name_the_entry(entry in prop_oneof![".{0,40}", "[a-z.\"]{1,12}=[ -~]{0,20}"]) {
        let mut table = json!({"ppo": {"gamma": 0.9}});
        if let Err(e) = apply_set(&mut table, &entry) {
            prop_assert!(e.to_string().contains(&entry) || e.to_string().contains("finite"));
        }
    }

    #[test]
    fn sweep_files_plan_or_name_what_is_wrong(
        grid in prop::collection::btree_map("[a-z_.]{1,12}", prop::collection::vec(value(), 0..3), 0..3),
        parallel in 0usize..3,
    ) {
        let sweep = json!({
            "base": {"env": "PrisonersDilemma-v0", "total_steps": 64},
            "grid": grid, "parallel": parallel, "out_dir": "/tmp/never-written",
        });
        if let Ok(s) = serde_json::from_value::<moralgym_training::sweep::SweepConfig>(sweep) {
            let _ = s.validate().and_then(|_| s.plan());
        }
    }

    #[test]
    fn envs_build_from_any_config_or_refuse_it_and_any_actions_step_or_are_refused(
        which in 0usize..64,
        overrides in prop_oneof![Just(Value::Null), value()],
        actions in prop::collection::vec(any::<u32>(), 0..6),
        steps in 1usize..20,
    ) {
        let reg = &registry()[which % registry().len()];
        let template = reg.default_config();
        let mut config = template.clone();
        if let (Value::Object(c), Value::Object(o)) = (&mut config, &overrides) {
            // overrides of real keys reach the range checks; the others the unknown-key check
            let keys: Vec<String> = c.keys().cloned().collect();
            for (k, (_, v)) in o.iter().enumerate() {
                c.insert(keys[k % keys.len().max(1)].clone(), v.clone());
            }
        }
        let Ok(mut env) = moralgym_envs::make(reg.id, &config) else { return Ok(()) };
        env.reset(Some(1));
        for _ in 0..steps {
            let n = env.spec().num_agents;
            let joint: Vec<u32> = (0..n).map(|i| actions.get(i).copied().unwrap_or(0) % (env.spec().num_actions() as u32 + 2)).collect();
            match env.step(&joint) {
                Ok(s) if s.all_done() => { env.reset(None); }
                Ok(_) => {}
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            let _ = (env.text_rules(0), env.text_observation(0), env.render());
        }
        let _ = env.as_ref() as &dyn ParallelEnv;
    }
}

#[test]
fn run_and_learner_keys_at_the_top_level_are_checked_by_name() {
    let err = |extra: Value| {
        let mut t = json!({"env": "CoinGame-v1"});
        for (k, v) in extra.as_object().expect("table") {
            t[k] = v.clone();
        }
        RunConfig::from_table(t).expect_err("refused").to_string()
    };
    let e = err(json!({"nmu_envs": 4}));
    assert!(e.contains("unknown field `nmu_envs`") && e.contains("`num_envs`") && e.contains("`ppo`"), "{e}");
    let e = err(json!({"ppo": {"clip_coef": "wide"}}));
    assert!(e.contains("`ppo.clip_coef`"), "{e}");
    let e = err(json!({"ppo": {"clip_cof": 0.2}}));
    assert!(e.contains("ppo") && e.contains("clip_cof"), "{e}");
    let e = err(json!({"shared_policy": 1}));
    assert!(e.contains("`shared_policy`"), "{e}");
    let e = err(json!({"num_envs": "eight"}));
    assert!(e.contains("`num_envs`"), "{e}");
    // the learner's keys land in `trainer`; `agent = "ppo"` of older run directories is accepted
    let c = RunConfig::from_table(json!({"env": "CoinGame-v1", "agent": "ppo", "learners": [0], "num_envs": 2}))
        .expect("valid");
    assert_eq!((c.trainer.learners, c.num_envs), (Some(vec![0]), 2));
    assert!(err(json!({"agent": "dqn"})).contains("unknown field `agent`"));
}

#[test]
fn a_sweep_grid_over_the_game_or_the_folder_is_refused_by_key() {
    let refused = |grid: Value| {
        let sweep = json!({"base": {"env": "PrisonersDilemma-v0", "total_steps": 64}, "grid": grid, "out_dir": "/tmp/never-written"});
        let s: moralgym_training::sweep::SweepConfig = serde_json::from_value(sweep).expect("parses");
        s.validate().expect_err("refused").to_string()
    };
    let e = refused(json!({"env": ["PrisonersDilemma-v0", "CoinGame-v1"]}));
    assert!(e.contains("`grid.\"env\"` cannot vary") && e.contains("one sweep per env"), "{e}");
    let e = refused(json!({"env_config.rounds": [10, 20]}));
    assert!(e.contains("`grid.\"env_config.rounds\"` cannot vary"), "{e}");
    let e = refused(json!({"out_dir": ["a", "b"]}));
    assert!(e.contains("`grid.\"out_dir\"` cannot vary") && e.contains("its own folder"), "{e}");
    let fine = json!({"base": {"env": "PrisonersDilemma-v0"}, "grid": {"cost.default_weight": [0.0, 1.0], "seed": [1, 2]}, "out_dir": "/tmp/x"});
    let s: moralgym_training::sweep::SweepConfig = serde_json::from_value(fine).expect("parses");
    assert!(s.validate().is_ok());
}
