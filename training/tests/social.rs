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
    (serde_json::to_value(result.eval.expect("evaluated")).expect("a summary"), lines)
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

#[test]
fn a_lase_run_saves_and_resumes_its_networks() {
    let dir = std::env::temp_dir().join(format!("moralgym-social-{}-resume", std::process::id()));
    let config = json!({
        "env": "SequentialStagHunt-v1", "seed": 2, "num_envs": 2, "total_steps": 256, "ppo": {"num_steps": 64},
        "social": {"mode": "lase", "lase": {"updates": 2}}, "eval": {"episodes": 1}, "out_dir": dir,
    });
    let first = train(&RunConfig::from_table(config).expect("valid"), true).expect("trains");
    let final_dir = dir.join("checkpoints/final");
    // The stag hunt is partially observed: each agent has a perspective taker.
    let networks = || {
        let mut files = Vec::new();
        for i in 0..4 {
            for part in ["q", "pt", "selfish"] {
                let name = format!("agent_{i}.{part}.bpk");
                files.push(std::fs::read(final_dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}")));
            }
        }
        files
    };
    let saved = networks();
    // Resuming the finished run trains nothing and saves the networks it loaded: they come back
    // bit for bit and play the evaluation as they did, which a network left at its start would not.
    let again = moralgym_training::resume(&dir, &[], true).expect("resumes");
    assert_eq!(again.updates, first.updates);
    assert!(networks() == saved, "a network did not come back as it was saved");
    assert_eq!(again.eval, first.eval);
    let resumed = moralgym_training::resume(&dir, &["total_steps=512".into()], true).expect("resumes");
    assert_eq!(resumed.updates, 4);
    assert!(networks() != saved, "training went on from the loaded networks");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn social_settings_that_cannot_work_are_named() {
    let bad = |social: Value, extra: Value| {
        let mut config = json!({"env": "Cleanup-v1", "total_steps": 128, "social": social});
        for (k, v) in extra.as_object().expect("table") {
            config[k] = v.clone();
        }
        let config = RunConfig::from_table(config).expect("parses");
        train(&config, true).expect_err("refused").to_string()
    };
    let e = bad(json!({"mode": "lase"}), json!({"shared_policy": true}));
    assert!(e.contains("LASE agents learn on their own"), "{e}");
    let e = bad(json!({"agents": ["lase", "lase", "selfish", "selfish"]}), json!({"learners": [0]}));
    assert!(e.contains("agent 1 is a fixed partner"), "{e}");
    let e = bad(json!({"agents": ["lase"]}), json!({}));
    assert!(e.contains("one mode per agent (4), got 1"), "{e}");
    let e = bad(json!({"mode": "lase", "lase": {"batch_size": 0}}), json!({}));
    assert!(e.contains("batch_size"), "{e}");
    let unknown = RunConfig::from_table(json!({"env": "Cleanup-v1", "social": {"mode": "altruist"}}));
    assert!(unknown.expect_err("unknown mode").to_string().contains("altruist"));
}
