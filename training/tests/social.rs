//! Small fixed-seed checks of LASE's empathy gifting in the iterated Prisoner's Dilemma: two LASE
//! agents learn to cooperate where two selfish PPO agents learn to defect, and a LASE agent gifts
//! an unconditional cooperator more than an unconditional defector. The longer reproductions are
//! in docs/social.md.

use moralgym_training::{RunConfig, train};
use serde_json::{Value, json};

/// Trains on the iterated Prisoner's Dilemma with `extra` keys; returns the evaluation and the
/// logged iterations.
fn run(name: &str, extra: Value) -> (Value, Vec<Value>) {
    let dir = std::env::temp_dir().join(format!("moralgym-social-{}-{name}", std::process::id()));
    let mut config = json!({
        "env": "PrisonersDilemma-v0", "seed": 1, "num_envs": 8, "total_steps": 40_000,
        "ppo": {"learning_rate": 0.001}, "eval": {"episodes": 10, "seed": 777}, "out_dir": dir,
    });
    for (k, v) in extra.as_object().expect("table") {
        config[k] = v.clone();
    }
    let result = train(&RunConfig::from_table(config).expect("valid run config"), true).expect("trains");
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).expect("metrics");
    let lines = metrics.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    let _ = std::fs::remove_dir_all(&dir);
    (result.eval, lines)
}

fn cooperation(eval: &Value) -> f64 {
    eval["env_metrics"]["cooperation_rate"].as_f64().expect("cooperation rate")
}

#[test]
fn lase_cooperates_in_the_prisoners_dilemma_where_selfish_ppo_defects() {
    let (lase, lines) = run("lase", json!({"social": {"mode": "lase"}}));
    let (selfish, _) = run("selfish", json!({"social": {"mode": "selfish"}}));
    let (c_lase, c_selfish) = (cooperation(&lase), cooperation(&selfish));
    assert!(c_lase > 0.8 && c_selfish < 0.2, "LASE {c_lase} vs selfish {c_selfish}");
    assert!(c_lase > c_selfish + 0.5);
    // the gift weights are logged every iteration, for both directions
    let last = lines.last().expect("iterations");
    for key in ["agent_0->agent_1", "agent_1->agent_0"] {
        let g = last["gifts"][key].as_f64().expect("gift weight");
        assert!((0.0..=1.0).contains(&g), "{key}: {g}");
    }
    assert!(last["lase"]["agent_0"]["q_loss"].as_f64().is_some());
}

#[test]
fn lase_gifts_a_cooperator_more_than_a_defector() {
    let mean_gift = |partner: &str| {
        let extra =
            json!({"learners": [0], "partner_policy": partner, "total_steps": 20_000, "social": {"mode": "lase"}});
        let (_, lines) = run(partner, extra);
        let g: Vec<f64> = lines.iter().map(|l| l["gifts"]["agent_0->agent_1"].as_f64().expect("gift")).collect();
        g.iter().sum::<f64>() / g.len() as f64
    };
    let (to_cooperator, to_defector) = (mean_gift("always_cooperate"), mean_gift("always_defect"));
    assert!(to_cooperator > 0.2 && to_cooperator > 5.0 * to_defector, "{to_cooperator} vs {to_defector}");
}
