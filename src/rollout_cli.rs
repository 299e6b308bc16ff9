//! `moralgym envs`, `rollout` and `bench`: what the environments are, how policies play them,
//! and how fast they step.

use super::*;

fn spec_of(id: &str, config: &Value) -> Result<EnvSpec, ConfigError> {
    Ok(moralgym::make(id, config)?.spec().clone())
}

pub(crate) fn envs(json: bool) -> Result<(), ConfigError> {
    let mut rows = Vec::new();
    for reg in registry() {
        let spec = spec_of(reg.id, &Value::Null)?;
        rows.push(json!({
            "id": reg.id,
            "family": reg.family,
            "summary": reg.summary,
            "agents": spec.num_agents,
            "observation_space": spec.observation_space,
            "action_space": spec.action_space,
            "max_episode_steps": spec.max_episode_steps,
            "has_action_mask": spec.has_action_mask,
            "costs": spec.cost_spec.components,
            "default_config": reg.default_config(),
        }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
        return Ok(());
    }
    println!("{:<24} {:>6}  {:<26} {:<12} costs", "id", "agents", "observation", "action");
    for reg in registry() {
        let spec = spec_of(reg.id, &Value::Null)?;
        println!(
            "{:<24} {:>6}  {:<26} {:<12} {}",
            reg.id,
            spec.num_agents,
            spec.observation_space.to_string(),
            spec.action_space.to_string(),
            spec.cost_spec.names().join(", ")
        );
    }
    Ok(())
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3}"))
}

pub(crate) fn run_rollout(
    args: &EnvArgs,
    policy: &str,
    options: &PolicyOptions,
    episodes: usize,
    seed: u64,
    json: bool,
    baseline_episodes: usize,
) -> Result<(), ConfigError> {
    use moralgym::training::machiavelli;
    let config = args.table()?;
    let reports = rollout_with(&args.id, &config, policy, episodes, seed, options)?;
    let summary = RolloutSummary::of(&reports);
    let is_text = moralgym::envs::registry::lookup(&args.id).is_ok_and(|r| r.family == "text");
    if args.id == "Machiavelli-v0" {
        // Its own scores, by its own coefficients.
        use machiavelli::own;
        let (coeffs, source) = own::coefficients_for(&config, baseline_episodes)?;
        let rows: Vec<_> = reports.iter().map(|r| own::row(r, &coeffs, false)).collect();
        let mean = own::mean(&rows);
        if json {
            let out = json!({"env": args.id, "policy": policy, "seed": seed, "episodes": reports, "summary": summary, "machiavelli": {"coefficients": source, "scores": mean}});
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            return Ok(());
        }
        let get = |k: &str| mean.get(k).map_or("-".to_string(), |v| format!("{v:.1}"));
        println!(
            "MACHIAVELLI's scores over {} episodes ({source}; random = 100): points {}% | game.score {} | power.Σ {} | utility.suffering {} | violations.Σ {}",
            reports.len(),
            get("points"),
            get("game.score"),
            get("power.Σ"),
            get("utility.suffering"),
            get("violations.Σ")
        );
    }
    let scores = if is_text && args.id != "Machiavelli-v0" {
        let baseline = machiavelli::cached_random_baseline(&args.id, &config, baseline_episodes, 0)?;
        Some(machiavelli::score(&reports, &baseline))
    } else {
        None
    };
    if json {
        let out = json!({"env": args.id, "policy": policy, "seed": seed, "episodes": reports, "summary": summary, "machiavelli": scores});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(());
    }
    if let Some(s) = &scores {
        println!(
            "MACHIAVELLI scores over {} episodes (random agent = 100): achievements {:.1}% | all violations {:.0} | all power {:.0} | disutility {:.0}",
            s.episodes, s.achievements_pct, s.all_violations, s.all_power, s.disutility
        );
        let counts: Vec<String> =
            s.counts.iter().filter(|(_, v)| **v > 0.0).map(|(k, v)| format!("{k} {v:.2}")).collect();
        println!("  mean counts per episode: {}", counts.join(", "));
    }
    println!("{} with the {policy} policy, {episodes} episodes, seed {seed}", args.id);
    for (k, r) in reports.iter().enumerate() {
        let returns: Vec<String> = r.returns.iter().map(|x| format!("{x:.1}")).collect();
        let costs: Vec<String> = r.costs.iter().map(|(n, v)| format!("{n}={v:.1}")).collect();
        println!(
            "  episode {k}: length {} | returns [{}] | costs {} | collective {:.1} equality {} sustainability {} peace {:.2}",
            r.length,
            returns.join(", "),
            costs.join(" "),
            r.social.collective_return,
            fmt_opt(r.social.equality),
            fmt_opt(r.social.sustainability),
            r.social.peace
        );
        if let Some(task) = &r.task_returns {
            let task: Vec<String> = task.iter().map(|x| format!("{x:.1}")).collect();
            println!("    task returns (reward without shaping) [{}]", task.join(", "));
        }
        if !r.env_metrics.is_empty() {
            println!("    {}", Value::Object(r.env_metrics.clone()));
        }
        if let Some(line) = llm_line(&r.policy_stats) {
            println!("    {line}");
        }
    }
    let costs: Vec<String> = summary.mean_costs.iter().map(|(n, v)| format!("{n}={v:.2}")).collect();
    println!(
        "mean: length {:.1}, collective return {:.2}, costs per agent per episode {}",
        summary.mean_length,
        summary.mean_collective_return,
        costs.join(" ")
    );
    Ok(())
}

/// One line of a language-model agent's episode statistics, if the episode has them.
fn llm_line(stats: &serde_json::Map<String, Value>) -> Option<String> {
    let n = |k: &str| stats.get(k).and_then(Value::as_u64).unwrap_or(0);
    stats.get("model").map(|model| {
        format!(
            "{} ({}): {} decisions, {} requests sent, {} answers from the cache, {} HTTP retries, {} unusable answers ({} illegal), {} fallbacks, {} prompt + {} completion tokens, {:.1} s waiting",
            model.as_str().unwrap_or("?"),
            stats.get("style").and_then(Value::as_str).unwrap_or("?"),
            n("decisions"),
            n("requests"),
            n("cached"),
            n("http_retries"),
            n("unparseable") + n("illegal"),
            n("illegal"),
            n("fallbacks"),
            n("prompt_tokens"),
            n("completion_tokens"),
            stats.get("seconds").and_then(Value::as_f64).unwrap_or(0.0)
        )
    })
}

pub(crate) fn run_bench(
    args: &EnvArgs,
    num_envs: usize,
    threads: usize,
    steps: usize,
    seed: u64,
    json: bool,
) -> Result<(), ConfigError> {
    let config = args.table()?;
    let t = measure(&args.id, &config, num_envs, threads, steps, seed)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&t).unwrap_or_default());
    } else {
        println!(
            "{}: {:.0} env-steps/s, {:.0} agent-steps/s ({} envs, {} threads, {} vector steps in {:.2} s)",
            t.env, t.env_steps_per_sec, t.agent_steps_per_sec, t.num_envs, t.threads, t.steps, t.seconds
        );
    }
    Ok(())
}
