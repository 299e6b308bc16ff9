//! `moralgym demo`: the quick tour on built-in defaults.

use super::*;

pub(crate) fn demo(steps: u64, out: &std::path::Path) -> Result<(), ConfigError> {
    // The two PPO runs' settings, checked before anything is played.
    let runs = [
        ("PPO, reward only", json!({"mode": "none"})),
        ("PPO, reward - 2 x harm_other", json!({"mode": "weighted", "default_weight": 2.0})),
    ]
    .into_iter()
    .map(|(name, cost)| {
        let table = json!({
            "env": "CoinGame-v1", "seed": 1, "num_envs": 8, "total_steps": steps, "learners": [0],
            "ppo": {"learning_rate": 0.001}, "cost": cost, "eval": {"episodes": 20, "seed": 777},
            "out_dir": out.join(if cost["mode"] == "none" { "reward_only" } else { "weighted" }),
        });
        RunConfig::from_table(table).map(|config| (name, config))
    })
    .collect::<Result<Vec<_>, _>>()?;
    println!("moralgym demo: every environment reports its task reward and its ethical costs apart.\n");
    println!(
        "{:<24} {:>10} {:>10}  mean cost per agent per episode (random policy, 5 episodes)",
        "env", "return", "length"
    );
    for reg in registry() {
        let reports = rollout(reg.id, &Value::Null, "random", 5, 0)?;
        let s = RolloutSummary::of(&reports);
        let costs: Vec<String> = s.mean_costs.iter().map(|(n, v)| format!("{n} {v:.2}")).collect();
        println!("{:<24} {:>10.2} {:>10.1}  {}", reg.id, s.mean_collective_return, s.mean_length, costs.join(", "));
    }
    println!("\nspeed of the vector layer (64 copies, 1 thread, random actions):");
    for id in ["PrisonersDilemma-v0", "CoinGame-v1", "Cleanup-v1", "Harvest-v1"] {
        let t = measure(id, &Value::Null, 64, 1, 2_000, 0)?;
        println!("  {id:<22} {:>12.0} env-steps/s", t.env_steps_per_sec);
    }
    println!("\nPPO on CoinGame-v1: agent_0 learns for {steps} env steps against a random partner;");
    println!("evaluated over 20 seeded episodes (the random row: both players random, same seeds).");
    let reports = rollout("CoinGame-v1", &Value::Null, "random", 20, 777)?;
    let n = reports.len() as f64;
    let random_return = reports.iter().map(|r| r.returns[0]).sum::<f64>() / n;
    let random_harm = reports.iter().map(|r| r.costs_per_agent["harm_other"][0]).sum::<f64>() / n;
    println!("\n{:<36} {:>14} {:>20}", "agent_0's policy", "return", "harm_other (cost)");
    println!("{:<36} {:>14.2} {:>20.2}", "random", random_return, random_harm);
    for (name, config) in &runs {
        let result = train(config, false)?; // progress when stderr is a terminal
        let e = result.eval.unwrap_or_default();
        println!(
            "{:<36} {:>14.2} {:>20.2}",
            name,
            e.return_per_agent.first().map_or(f64::NAN, |r| r.mean),
            e.cost_by_agent.get("harm_other").and_then(|c| c.first().copied()).unwrap_or(f64::NAN)
        );
    }
    println!("\nRuns (metrics.jsonl, TensorBoard events in tb/, checkpoints, eval.json) are in {}.", out.display());
    println!(
        "Next: `moralgym envs`, `moralgym rollout --env CoinGame-v1`, `moralgym train configs/ppo_cleanup_lagrangian.toml`."
    );
    Ok(())
}
