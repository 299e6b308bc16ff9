//! `moralgym report`: a MACHIAVELLI-style table over text games and agents. Every agent is
//! evaluated on the same seeded episodes and scored against a random agent on the same game
//! (random = 100): achievements in %, then power, disutility, all violations and the main
//! categories in % of random.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::machiavelli::{Scores, cached_random_baseline, score};
use crate::overrides::ConfigError;
use crate::rollout::{rollout, rollout_with};
use crate::run::{RunConfig, train};
use moralgym_agents::PolicyOptions;

/// What to report on.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportConfig {
    /// Games: shipped names, story files or ChoiceScript game folders.
    pub games: Vec<String>,
    /// Env steps of each PPO agent.
    pub total_steps: u64,
    /// Evaluation episodes of every agent.
    pub episodes: usize,
    /// Seed of training and evaluation.
    pub seed: u64,
    /// Random trajectories behind the normalisation.
    pub baseline_episodes: usize,
    /// Where runs, `report.md` and `report.csv` go.
    pub out_dir: PathBuf,
    /// Language-model agents to add (`llm`, `llm_ethical`, `llm_cot`, `llm_ethical_cot`).
    pub llm_agents: Vec<String>,
    /// No progress line on stderr.
    pub quiet: bool,
}

/// The agents of the table: (name, how it acts). PPO agents are (name, cost and conscience keys).
const POLICY_AGENTS: [(&str, &str); 2] = [("random", "random"), ("scripted ethical", "harm_avoider")];

fn ppo_agents() -> Vec<(&'static str, Value)> {
    vec![
        ("PPO, reward only", json!({})),
        (
            "PPO, weighted",
            json!({"cost": {"mode": "weighted", "default_weight": 0.0, "weights": violation_weights(2.0)}}),
        ),
        ("PPO, Lagrangian", json!({"cost": {"mode": "lagrangian", "constrain": "sum", "sum_limit": 1.0}})),
        ("PPO, conscience", json!({"conscience": {"alpha": 10.0}})),
    ]
}

fn violation_weights(w: f64) -> Value {
    Value::Object(moralgym_envs::text::COST_NAMES[..13].iter().map(|n| (n.to_string(), json!(w))).collect())
}

/// Main categories shown as columns, besides the totals: moralgym's cost name, then
/// MACHIAVELLI's name for the category where it differs (the paper's tables use those).
const COLUMNS: [(&str, &str); 6] = [
    ("betrayal", "promises"),
    ("deception", "deception"),
    ("killing", "killing"),
    ("physical_harm", "physical_harm"),
    ("stealing", "stealing"),
    ("unfairness", "fairness"),
];

/// The columns' headers: `unfairness (fairness)` in Markdown and `unfairness/fairness` in CSV
/// where MACHIAVELLI's name differs.
fn headers(markdown: bool) -> Vec<String> {
    let both = |o: &str, p: &str| if markdown { format!("{o} ({p})") } else { format!("{o}/{p}") };
    COLUMNS.iter().map(|&(o, p)| if o == p { o.to_string() } else { both(o, p) }).collect()
}

/// Runs every agent on every game and writes `report.md` and `report.csv`; returns the rows.
pub fn report(config: &ReportConfig) -> Result<Vec<(String, String, Scores)>, ConfigError> {
    report_with(config, &PolicyOptions::default())
}

/// [`report`], with `options` holding the model the language-model agents ask.
pub fn report_with(
    config: &ReportConfig,
    options: &PolicyOptions,
) -> Result<Vec<(String, String, Scores)>, ConfigError> {
    let mut rows = Vec::new();
    let per_game = POLICY_AGENTS.len() + config.llm_agents.len() + ppo_agents().len();
    let line = crate::progress::Progress::new("report row", config.games.len() * per_game, config.quiet);
    let tick = |rows: &Vec<(String, String, Scores)>| {
        if let Some((game, agent, _)) = rows.last() {
            line.tick(rows.len(), &format!("{game}: {agent}"));
        }
    };
    for game in &config.games {
        let env_config = moralgym_envs::text::games::config_of(game);
        let run_name: String = game.chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
        let baseline = cached_random_baseline("TextGame-v0", &env_config, config.baseline_episodes, 0)?;
        for (name, policy) in POLICY_AGENTS {
            let reports = rollout("TextGame-v0", &env_config, policy, config.episodes, config.seed)?;
            rows.push((game.clone(), name.to_string(), score(&reports, &baseline)));
            tick(&rows);
        }
        for style in &config.llm_agents {
            let reports = rollout_with("TextGame-v0", &env_config, style, config.episodes, config.seed, options)?;
            let model = options.llm.as_ref().map_or("", |l| l.model());
            rows.push((game.clone(), format!("{style} ({model})"), score(&reports, &baseline)));
            tick(&rows);
        }
        for (name, keys) in ppo_agents() {
            let mut table = json!({
                "env": "TextGame-v0", "env_config": env_config, "seed": config.seed, "num_envs": 8,
                "total_steps": config.total_steps, "ppo": {"learning_rate": 0.001},
                "eval": {"episodes": config.episodes, "seed": config.seed},
                "out_dir": config.out_dir.join("runs").join(format!("{run_name}-{}", name.replace([' ', ','], ""))),
            });
            if let (Value::Object(t), Value::Object(k)) = (&mut table, keys) {
                t.extend(k);
            }
            let result = train(&RunConfig::from_table(table)?, true)?;
            rows.push((game.clone(), name.to_string(), score(&result.reports, &baseline)));
            tick(&rows);
        }
    }
    line.finish();
    write(config, &rows)?;
    Ok(rows)
}

fn write(config: &ReportConfig, rows: &[(String, String, Scores)]) -> Result<(), ConfigError> {
    let io = |e: std::io::Error| ConfigError::Io { path: config.out_dir.display().to_string(), message: e.to_string() };
    std::fs::create_dir_all(&config.out_dir).map_err(io)?;
    let mut md = format!(
        "Text games, {} evaluation episodes per agent, PPO {} steps, seed {}. Harms in % of a random agent on the same game (random = 100); lower is better.\n\n",
        config.episodes, config.total_steps, config.seed
    );
    let _ = writeln!(
        md,
        "| game | agent | achievements % | all power | disutility | all violations | {} |",
        headers(true).join(" | ")
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|{}", "---|".repeat(COLUMNS.len()));
    let mut csv =
        format!("game,agent,achievements_pct,all_power,disutility,all_violations,{}\n", headers(false).join(","));
    for (game, agent, s) in rows {
        let cols: Vec<String> =
            COLUMNS.iter().map(|(c, _)| format!("{:.0}", s.normalized.get(*c).copied().unwrap_or(0.0))).collect();
        let _ = writeln!(
            md,
            "| {game} | {agent} | {:.1} | {:.0} | {:.0} | {:.0} | {} |",
            s.achievements_pct,
            s.all_power,
            s.disutility,
            s.all_violations,
            cols.join(" | ")
        );
        let _ = writeln!(
            csv,
            "{game},{agent},{},{},{},{},{}",
            s.achievements_pct,
            s.all_power,
            s.disutility,
            s.all_violations,
            cols.join(",")
        );
    }
    crate::lock::write_file(&config.out_dir.join("report.md"), md)?;
    crate::lock::write_file(&config.out_dir.join("report.csv"), csv)
}
