//! Small fixed-seed learning checks of PPO and its three cost modes, each against the random
//! policy measured with the same seeds. PPO learns as agent 0 against a uniformly random partner:
//! in self-play a selfish learner is expected to collapse to mutual defection, which is the
//! dilemma itself, not a learning failure (see docs/training.md).

use moralgym_training::{RunConfig, rollout, train};
use serde_json::{Value, json};

fn run(name: &str, mut config: Value) -> Value {
    let dir = std::env::temp_dir().join(format!("moralgym-learning-{}-{name}", std::process::id()));
    config["out_dir"] = json!(dir);
    config["eval"] = json!({"episodes": 20, "seed": 777});
    let config = RunConfig::from_table(config).expect("valid run config");
    let result = train(&config, true).expect("trains");
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::to_value(result.eval.expect("evaluated")).expect("a summary")
}

/// Agent 0's mean return and harm when both agents play randomly, on the evaluation seeds.
fn random_baseline(env: &str, cost: &str) -> (f64, f64) {
    let reports = rollout(env, &Value::Null, "random", 20, 777).expect("rollout");
    let n = reports.len() as f64;
    (
        reports.iter().map(|r| r.returns[0]).sum::<f64>() / n,
        reports.iter().map(|r| r.costs_per_agent[cost][0]).sum::<f64>() / n,
    )
}

fn agent0(eval: &Value, cost: &str) -> (f64, f64) {
    (
        eval["return_per_agent"][0]["mean"].as_f64().expect("return"),
        eval["cost_by_agent"][cost][0].as_f64().expect("cost"),
    )
}

fn coin_game(mode: Value) -> Value {
    json!({
        "env": "CoinGame-v1", "seed": 1, "num_envs": 8, "total_steps": 100_000, "learners": [0],
        "ppo": {"learning_rate": 0.001}, "cost": mode,
    })
}

#[test]
fn ppo_beats_random_in_the_prisoners_dilemma() {
    let eval = run(
        "pd",
        json!({"env": "PrisonersDilemma-v0", "seed": 1, "total_steps": 30_000, "learners": [0], "ppo": {"learning_rate": 0.001}}),
    );
    let (ppo, betrayals) = agent0(&eval, "betrayal");
    let (random, _) = random_baseline("PrisonersDilemma-v0", "betrayal");
    // against a random partner the best response is to defect: 3 per round against 2.5 for random play
    assert!(ppo > random * 1.1, "PPO {ppo} vs random {random}");
    assert!(betrayals > 30.0, "the reward-only learner betrays: {betrayals}");
}

#[test]
fn cost_modes_trade_reward_for_harm_in_the_coin_game() {
    let (random_return, _) = random_baseline("CoinGame-v1", "harm_other");
    let (none_return, none_harm) = agent0(&run("none", coin_game(json!({"mode": "none"}))), "harm_other");
    assert!(none_return > random_return + 5.0, "PPO {none_return} vs random {random_return}");

    let (_, weighted_harm) =
        agent0(&run("weighted", coin_game(json!({"mode": "weighted", "default_weight": 2.0}))), "harm_other");
    assert!(weighted_harm < 0.25 * none_harm, "weighted harm {weighted_harm} vs reward-only {none_harm}");

    let limit = 2.0;
    let lagrangian = coin_game(json!({"mode": "lagrangian", "limits": {"harm_other": limit}}));
    let (lag_return, lag_harm) = agent0(&run("lagrangian", lagrangian), "harm_other");
    assert!(lag_harm <= 1.5 * limit, "Lagrangian harm {lag_harm} vs limit {limit}");
    assert!(lag_return > random_return, "Lagrangian return {lag_return} vs random {random_return}");
}

#[test]
fn the_same_seed_trains_the_same_policy() {
    let config = json!({"env": "CoinGame-v1", "seed": 9, "num_envs": 2, "total_steps": 1024, "ppo": {"num_steps": 64}, "eval": {"episodes": 3}});
    let a = run("same-a", config.clone());
    let b = run("same-b", config.clone());
    assert_eq!(a, b, "same seed, same evaluation");
    let mut other = config;
    other["seed"] = json!(10);
    assert_ne!(run("same-c", other), a, "the seed matters");
}

/// The convolutional torso (SSD's one layer of six 3 x 3 filters over the Coin Game's 5 x 5
/// egocentric planes, then the 64-64 MLP) learns to collect coins as well as the MLP's check asks.
#[test]
fn a_convolutional_torso_learns_the_coin_game() {
    let (random_return, _) = random_baseline("CoinGame-v1", "harm_other");
    let mut config = coin_game(json!({"mode": "none"}));
    config["ppo"]["torso"] = json!("cnn");
    let (cnn_return, _) = agent0(&run("cnn", config), "harm_other");
    assert!(cnn_return > random_return + 5.0, "CNN PPO {cnn_return} vs random {random_return}");
}

/// The recurrent policy (an LSTM of 32 units after the 64-64 MLP, CleanRL's `ppo_atari_lstm.py`
/// scheme: state carried through the rollout, zeroed at episode starts, whole sequences per
/// minibatch) learns the Prisoner's Dilemma's best response as the feed-forward check asks.
#[test]
fn a_recurrent_policy_learns_the_prisoners_dilemma() {
    let eval = run(
        "pd-lstm",
        json!({"env": "PrisonersDilemma-v0", "seed": 1, "total_steps": 30_000, "learners": [0],
               "ppo": {"learning_rate": 0.001, "lstm_size": 32}}),
    );
    let (lstm, betrayals) = agent0(&eval, "betrayal");
    let (random, _) = random_baseline("PrisonersDilemma-v0", "betrayal");
    assert!(lstm > random * 1.1, "LSTM PPO {lstm} vs random {random}");
    assert!(betrayals > 30.0, "the reward-only learner betrays: {betrayals}");
}
