//! The scripted survival policies show the dilemma: under low resources the hoarder outlives the
//! ethical agent by tapping the grid; with enough resources the ethical agent loses nothing.

use moralgym_training::rollout;
use serde_json::{Value, json};

fn mean(reports: &[moralgym_envs::EpisodeReport], key: &str) -> f64 {
    reports.iter().map(|r| r.env_metrics[key].as_f64().expect("number")).sum::<f64>() / reports.len() as f64
}

#[test]
fn under_low_resources_the_hoarder_survives_more_and_taps_more_than_the_ethical_agent() {
    let config = json!({"scarcity": "low"});
    let hoarder = rollout("SurvivalDilemma-v1", &config, "hoarder", 20, 1).expect("runs");
    let ethical = rollout("SurvivalDilemma-v1", &config, "ethical", 20, 1).expect("runs");
    let random = rollout("SurvivalDilemma-v1", &config, "random", 20, 1).expect("runs");
    let (hs, es) = (mean(&hoarder, "survival_rate"), mean(&ethical, "survival_rate"));
    let (ht, et) = (mean(&hoarder, "transgressions"), mean(&ethical, "transgressions"));
    assert!(hs > es, "hoarder survival {hs} vs ethical {es}");
    assert!(ht > et, "hoarder taps {ht} vs ethical {et}");
    assert_eq!(et, 0.0, "the ethical agent never taps");
    assert!(es < 1.0, "without a tap not everyone can live through low resources");
    assert!(mean(&random, "transgressions") > 0.0, "random agents stumble onto the grid");
    // costs mirror the metrics: every tap is a forbidden_tap cost
    let tapped: f64 = hoarder.iter().map(|r| r.costs["forbidden_tap"]).sum();
    assert_eq!(tapped, hoarder.iter().map(|r| r.env_metrics["transgressions"].as_f64().unwrap_or(-1.0)).sum::<f64>());
}

#[test]
fn with_medium_resources_the_ethical_agent_keeps_everyone_alive_without_taps() {
    let ethical = rollout("SurvivalDilemma-v1", &json!({"scarcity": "medium"}), "ethical", 5, 2).expect("runs");
    assert_eq!(mean(&ethical, "survival_rate"), 1.0);
    assert_eq!(mean(&ethical, "transgressions"), 0.0);
    assert!(ethical.iter().all(|r| r.costs["greed"] == 0.0));
}

#[test]
fn scripted_policies_refuse_other_envs_and_unknown_names_are_errors() {
    let e = rollout("CoinGame-v1", &Value::Null, "hoarder", 1, 0).expect_err("wrong env");
    assert!(e.to_string().contains("plays only SurvivalDilemma-v1"), "{e}");
    let e = rollout("CoinGame-v1", &Value::Null, "saint", 1, 0).expect_err("unknown");
    assert!(e.to_string().contains("unknown policy `saint`"), "{e}");
}

#[test]
fn shaped_rewards_keep_the_task_return_for_evaluation() {
    let config = json!({"esrs": {"enabled": true, "guilt_weight": 0.5}});
    let reports = rollout("SurvivalDilemma-v1", &config, "hoarder", 2, 0).expect("runs");
    for r in &reports {
        let task = r.task_returns.as_ref().expect("task returns reported under shaping");
        assert_eq!(task, &vec![13.0; 4], "the hoarder lives through all 13 turns");
        assert!(r.returns.iter().zip(task).all(|(shaped, t)| shaped < t), "guilt lowers the shaped reward");
    }
}
