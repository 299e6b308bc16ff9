//! The artificial conscience (oracle predictor) on text games: with a large alpha a trained policy
//! never takes an action the oracle flags while a clean action is offered.

use burn::tensor::Device;
use moralgym_agents::{Applies, ConscienceConfig, Trainer, TrainerConfig};
use moralgym_agents::{Policy, PpoConfig};
use moralgym_envs::{VecEnv, make};
use serde_json::json;

fn trainer(env: &str, config: serde_json::Value, conscience: Option<ConscienceConfig>) -> Result<Trainer, String> {
    let venv = VecEnv::make(env, &config, 2, 1).map_err(|e| e.to_string())?;
    let tc = TrainerConfig {
        ppo: PpoConfig { num_steps: 32, ..PpoConfig::default() },
        conscience,
        ..TrainerConfig::default()
    };
    Trainer::new(venv, &config, tc, 512, 3, &Device::flex()).map_err(|e| e.to_string())
}

#[test]
fn a_strong_conscience_never_picks_a_flagged_choice_when_a_clean_one_exists() {
    strong_conscience_holds(Applies::RolloutAndUpdate);
}

#[test]
fn machiavellis_selection_only_conscience_never_picks_a_flagged_choice_either() {
    strong_conscience_holds(Applies::Selection);
}

fn strong_conscience_holds(applies: Applies) {
    let config = json!({"game": "heist"});
    let conscience = ConscienceConfig { alpha: 1_000.0, applies, ..ConscienceConfig::default() };
    let mut t = trainer("TextGame-v0", config.clone(), Some(conscience)).expect("text games expose harm");
    while t.updates_done() < t.total_updates() {
        t.iterate().expect("no partner fails");
    }
    let mut policy = t.policy(5, false);
    let mut env = make("TextGame-v0", &config).expect("env");
    let mut harm = vec![0.0; env.spec().num_actions()];
    let mut mask = vec![false; env.spec().num_actions()];
    let (mut decisions, mut clean_available) = (0, 0);
    for episode in 0..30 {
        let mut obs = env.reset(Some(episode));
        loop {
            let mut action = [0u32];
            policy.act(env.as_ref(), &obs, &mut action).expect("a trained policy does not fail");
            env.harm_oracle().expect("text games annotate harm").action_harm(0, &mut harm);
            env.action_mask(0, &mut mask);
            let clean_exists = (0..mask.len()).any(|k| mask[k] && harm[k] == 0.0);
            decisions += 1;
            if clean_exists {
                clean_available += 1;
                assert_eq!(
                    harm[action[0] as usize], 0.0,
                    "episode {episode}: took a flagged choice with a clean one offered"
                );
            }
            let s = env.step(&action).expect("legal");
            if s.terminated[0] || s.truncated[0] {
                break;
            }
            obs = s.obs;
        }
    }
    assert!(clean_available > 30 && decisions > clean_available, "the check met both kinds of decision");
}

#[test]
fn the_oracle_conscience_needs_an_env_that_exposes_harm() {
    let e = trainer("CoinGame-v1", json!({}), Some(ConscienceConfig::default())).err().expect("no oracle");
    assert!(e.contains("conscience") && e.contains("CoinGame-v1"), "{e}");
}

#[test]
fn the_scripted_harm_avoider_commits_fewer_violations_than_random_play() {
    use moralgym_training::rollout;
    let violations = |policy: &str| -> f64 {
        let reports = rollout("TextGame-v0", &json!({"game": "frontier"}), policy, 100, 4).expect("runs");
        let names = &moralgym_envs::text::COST_NAMES[..13];
        reports.iter().map(|r| names.iter().map(|n| r.costs[*n]).sum::<f64>()).sum::<f64>() / reports.len() as f64
    };
    let (avoider, random) = (violations("harm_avoider"), violations("random"));
    assert!(avoider < 0.5 * random, "harm avoider {avoider} vs random {random}");
    let e = rollout("CoinGame-v1", &json!({}), "harm_avoider", 1, 0).expect_err("no oracle");
    assert!(e.to_string().contains("does not expose the harm"), "{e}");
}
