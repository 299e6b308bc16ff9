//! The text every env shows a reading agent (a language model): golden files for a seeded step of
//! each registered env, and the listed actions are exactly the legal ones.
//!
//! `MORALGYM_BLESS=1 cargo test -p moralgym-envs --test text_render` rewrites the golden files.

use std::path::PathBuf;

use moralgym_envs::{ParallelEnv, Rng, registry};
use serde_json::Value;

fn page(env: &dyn ParallelEnv, agent: usize) -> String {
    let o = env.text_observation(agent);
    let actions: Vec<String> = o.actions.iter().map(|(a, name)| format!("{a}: {name}")).collect();
    format!("RULES\n{}\n\nSITUATION\n{}\n\nACTIONS\n{}\n", env.text_rules(agent), o.situation, actions.join("\n"))
}

fn random_legal(env: &dyn ParallelEnv, rng: &mut Rng, actions: &mut [u32]) {
    for (agent, a) in actions.iter_mut().enumerate() {
        let legal = env.text_observation(agent).actions;
        *a = legal[rng.below(legal.len())].0;
    }
}

#[test]
fn every_env_renders_a_seeded_step_as_its_golden_file() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("MORALGYM_BLESS").is_some();
    let mut failures = Vec::new();
    for reg in registry() {
        let mut env = moralgym_envs::make(reg.id, &Value::Null).expect("default config");
        env.reset(Some(7));
        let mut rng = Rng::new(7);
        let mut actions = vec![0; env.spec().num_agents];
        random_legal(env.as_ref(), &mut rng, &mut actions);
        env.step(&actions).expect("legal actions");
        let text = page(env.as_ref(), 0);
        let path = dir.join(format!("{}.txt", reg.id));
        if bless {
            std::fs::write(&path, &text).expect("write golden file");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != text {
            failures.push(format!("{}:\n--- want ({})\n{want}\n--- got\n{text}", reg.id, path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_listed_actions_are_exactly_the_legal_ones_all_episode_long() {
    for reg in registry() {
        let mut env = moralgym_envs::make(reg.id, &Value::Null).expect("default config");
        let mut rng = Rng::new(3);
        env.reset(Some(3));
        let n = env.spec().num_agents;
        let mut actions = vec![0; n];
        for _ in 0..60 {
            for agent in 0..n {
                let listed: Vec<u32> = env.text_observation(agent).actions.iter().map(|a| a.0).collect();
                let legal: Vec<u32> =
                    (0..env.spec().num_actions() as u32).filter(|&a| env.is_legal(agent, a)).collect();
                assert_eq!(listed, legal, "{} agent {agent}", reg.id);
                assert!(!listed.is_empty(), "{}: an agent always has a legal action", reg.id);
            }
            assert!(!env.text_rules(0).is_empty());
            random_legal(env.as_ref(), &mut rng, &mut actions);
            if env.step(&actions).expect("legal").all_done() {
                env.reset(None);
            }
        }
    }
}
