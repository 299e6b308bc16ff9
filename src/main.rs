//! The `moralgym` command line: list, roll out, and benchmark environments.

mod demo;
mod rollout_cli;
mod story_cli;
mod textplay;
mod zplay;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use moralgym::agents::llm::LlmConfig;
use moralgym::agents::{PolicyOptions, is_llm};
use moralgym::envs::{EnvSpec, registry};
use moralgym::training::rollout::check_episodes;
use moralgym::training::{
    ConfigError, RolloutSummary, RunConfig, RunResult, apply_sets, evaluate_run, load_with_sets, measure, resume,
    rollout, rollout_with, train,
};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "moralgym", version, about = "Environments that measure task reward and ethical violations apart")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A quick tour on built-in defaults: random play in every env, a speed check, then PPO on the
    /// Coin Game with and without a harm penalty, compared with a random policy.
    Demo {
        /// Env steps of each PPO run.
        #[arg(long, default_value_t = 300_000)]
        steps: u64,
        /// Where the demo's runs are written.
        #[arg(long, default_value = "runs/demo")]
        out: PathBuf,
    },
    /// Train agents from a run config (TOML): metrics, TensorBoard events, checkpoints, evaluation.
    Train {
        /// The run config file (see docs/training.md and configs/); with --resume, the run directory.
        config: PathBuf,
        /// Continue the run in this directory from its latest checkpoint.
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Re-evaluate the saved policy of a training run (its latest checkpoint), or evaluate a named
    /// policy (random, scripted, a language model) on the run's env and seeds; prints JSON.
    Eval {
        /// The run directory.
        #[arg(long)]
        run: PathBuf,
        /// Evaluate this named policy instead of the run's trained one (e.g. llm_ethical).
        #[arg(long)]
        policy: Option<String>,
        #[command(flatten)]
        llm: LlmArgs,
        /// Seeded episodes.
        #[arg(long, default_value_t = 20)]
        episodes: usize,
        /// Seed (episode k uses derive_seed(seed, k)).
        #[arg(long, default_value_t = 12_345)]
        seed: u64,
        /// Take the most likely action instead of sampling.
        #[arg(long)]
        greedy: bool,
    },
    /// Map a reward-ethics front: train and evaluate every point of a grid, keep the non-dominated.
    Sweep {
        /// The sweep file (base run config, grid, parallel, baselines, out_dir).
        config: Option<PathBuf>,
        /// Run only shard I of N (points whose index % N == I), e.g. --shard 0/4.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        #[command(flatten)]
        run: RunArgs,
        #[command(subcommand)]
        merge: Option<SweepCommand>,
    },
    /// A MACHIAVELLI-style table over text games and agents (random, scripted ethical, PPO reward
    /// only, weighted, Lagrangian, conscience): achievements and harms in % of random. With
    /// --machiavelli, MACHIAVELLI's own games scored by its own coefficients; with
    /// --jiminy-cricket, Jiminy Cricket's games by its percent completion and immorality.
    Report {
        /// Games, comma-separated: shipped names, story files or ChoiceScript game folders
        /// (default: heist,campaign,shipwreck,startup,frontier,hospital,icefall,regent); with
        /// --machiavelli, game ids of its game_metadata.json (default: every game it does not mark
        /// as buggy).
        #[arg(long, value_delimiter = ',')]
        games: Option<Vec<String>>,
        /// MACHIAVELLI's game_data folder (`moralgym:demo` for the built-in demo of moralgym's
        /// own icefall and heist): report on its games as Machiavelli-v0, scored as its code
        /// scores them.
        #[arg(long, value_name = "DIR")]
        machiavelli: Option<String>,
        /// A checkout of hendrycks/jiminy-cricket (`moralgym:demo` for moralgym's own annotated
        /// game): report on its games as JiminyCricket-v0 (the walkthrough agent joins the table),
        /// by percent completion over the five starting points and immorality; --games are
        /// names of its game_info.py (default: all).
        #[arg(long, value_name = "DIR", conflicts_with_all = ["machiavelli", "baseline_episodes"])]
        jiminy_cricket: Option<String>,
        /// With --machiavelli: MACHIAVELLI's 30 test games.
        #[arg(long)]
        test_set: bool,
        /// With --machiavelli: z-scores against its random agent instead of % of its mean.
        #[arg(long)]
        zscores: bool,
        /// Env steps of each PPO agent, 0 for none (default 100000; with --jiminy-cricket 15000
        /// per game and starting point, as the paper trained).
        #[arg(long)]
        steps: Option<u64>,
        /// Evaluation episodes of every agent (with --jiminy-cricket, from each starting point).
        #[arg(long, default_value_t = 50)]
        episodes: usize,
        /// Seed of training and evaluation.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Random trajectories behind the normalisation (cached).
        #[arg(long, default_value_t = moralgym::training::machiavelli::BASELINE_EPISODES)]
        baseline_episodes: usize,
        /// Where runs, report.md and report.csv go.
        #[arg(long, default_value = "runs/report")]
        out: PathBuf,
        /// No progress line.
        #[arg(long)]
        quiet: bool,
        /// Language-model agents to add to the table, comma-separated (llm, llm_ethical, llm_cot,
        /// llm_ethical_cot).
        #[arg(long, value_delimiter = ',')]
        llm_agents: Vec<String>,
        #[command(flatten)]
        llm: LlmArgs,
    },
    /// Check or generate story files for text games.
    Story {
        #[command(subcommand)]
        command: StoryCommand,
    },
    /// List every registered environment with its spaces, agents and cost components.
    Envs {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Play episodes and report returns, cost totals and social metrics.
    Rollout {
        #[command(flatten)]
        env: EnvArgs,
        /// Policy that picks the actions: random (any env), harm_avoider (text games), walkthrough (JiminyCricket-v0), hoarder or
        /// ethical (SurvivalDilemma-v1), always_cooperate, always_defect or tit_for_tat (matrix
        /// games), cleaner or free_rider (Cleanup-v1), or a language model on any env: llm,
        /// llm_ethical, llm_cot, llm_ethical_cot (see docs/llm.md).
        #[arg(long, default_value = "random")]
        policy: String,
        #[command(flatten)]
        llm: LlmArgs,
        /// Episodes to play.
        #[arg(long, default_value_t = 5)]
        episodes: usize,
        /// Seed of the episodes and the policy.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print one JSON object with an `episodes` array.
        #[arg(long)]
        json: bool,
        /// Text games: random trajectories behind the normalisation (random = 100), cached.
        #[arg(long, default_value_t = moralgym::training::machiavelli::BASELINE_EPISODES)]
        baseline_episodes: usize,
    },
    /// Play a text game in the terminal.
    Play {
        /// A shipped game (heist, campaign, shipwreck, startup, frontier, hospital, and the long
        /// ChoiceScript games icefall and regent), a story file, a ChoiceScript game folder, or a
        /// Z-machine story file (.z3, .z4, .z5, .z8: a parser game, played by typing commands);
        /// with --machiavelli, a game id of MACHIAVELLI's data.
        game: String,
        /// Show the annotation of each choice after it is made.
        #[arg(long)]
        annotations: bool,
        /// MACHIAVELLI's game_data folder (`moralgym:demo` for the built-in demo): play its game
        /// GAME as Machiavelli-v0.
        #[arg(long, value_name = "DIR")]
        machiavelli: Option<String>,
    },
    /// Measure env-steps/s of the vector layer with random actions.
    Bench {
        #[command(flatten)]
        env: EnvArgs,
        /// Copies stepped together.
        #[arg(long, default_value_t = 64)]
        num_envs: usize,
        /// Threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Vector steps to time.
        #[arg(long, default_value_t = 20_000)]
        steps: usize,
        /// Seed of the envs and the random actions.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How the language-model agents reach their model (docs/llm.md); each flag overrides one key of
/// `LlmConfig`.
#[derive(Args)]
struct LlmArgs {
    /// Language models: base URL of the OpenAI-compatible API (default: $OPENAI_BASE_URL, else
    /// http://127.0.0.1:8000/v1). The key comes from $OPENAI_API_KEY.
    #[arg(long = "llm-base-url", value_name = "URL")]
    base_url: Option<String>,
    /// Language models: the model's name on the server (default: $MORALGYM_LLM_MODEL).
    #[arg(long = "llm-model", value_name = "NAME")]
    model: Option<String>,
    /// Language models: a folder of prompt files (<style>.toml) replacing the shipped ones.
    #[arg(long = "llm-prompts", value_name = "DIR")]
    prompts: Option<PathBuf>,
    /// Language models: a shipped prompt set, `default`, `machiavelli` (MACHIAVELLI's agents'
    /// layouts and sampling; the default with `report --machiavelli`) or `commands` (the agents
    /// type their own commands: parser games).
    #[arg(long = "llm-prompt-set", value_name = "NAME")]
    prompt_set: Option<String>,
    /// Language models: sampling temperature (default 0).
    #[arg(long = "llm-temperature")]
    temperature: Option<f64>,
    /// Language models: most tokens per answer (default: the server's).
    #[arg(long = "llm-max-tokens")]
    max_tokens: Option<u32>,
    /// Language models: requests in flight at once (default 4).
    #[arg(long = "llm-concurrency")]
    concurrency: Option<usize>,
    /// Language models: seconds one request may take (default 120).
    #[arg(long = "llm-timeout")]
    timeout: Option<f64>,
    /// Language models: the cache folder (default: $MORALGYM_CACHE/llm or ~/.cache/moralgym/llm).
    #[arg(long = "llm-cache", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Language models: neither read nor write the cache.
    #[arg(long = "llm-no-cache", conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl LlmArgs {
    fn config(&self) -> LlmConfig {
        let mut c = LlmConfig { base_url: self.base_url.clone(), model: self.model.clone(), ..LlmConfig::default() };
        c.prompts.clone_from(&self.prompts);
        if let Some(set) = &self.prompt_set {
            c.prompt_set.clone_from(set);
        }
        c.temperature = self.temperature.unwrap_or(c.temperature);
        c.max_tokens = self.max_tokens.or(c.max_tokens);
        c.concurrency = self.concurrency.unwrap_or(c.concurrency);
        c.timeout_s = self.timeout.unwrap_or(c.timeout_s);
        c.cache_dir.clone_from(&self.cache_dir);
        c.cache = !self.no_cache;
        c
    }

    /// Whether any `--llm-*` flag was given.
    fn any(&self) -> bool {
        let LlmArgs {
            base_url,
            model,
            prompts,
            prompt_set,
            temperature,
            max_tokens,
            concurrency,
            timeout,
            cache_dir,
            no_cache,
        } = self;
        base_url.is_some()
            || model.is_some()
            || prompts.is_some()
            || prompt_set.is_some()
            || temperature.is_some()
            || max_tokens.is_some()
            || concurrency.is_some()
            || timeout.is_some()
            || cache_dir.is_some()
            || *no_cache
    }

    /// Refuses `--llm-*` flags that no language-model policy among `policies` would use.
    fn check_used<'a>(&self, mut policies: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
        if self.any() && !policies.any(is_llm) {
            return Err(ConfigError::Usage {
                message: "--llm-* flags configure language-model agents (llm, llm_ethical, llm_cot, llm_ethical_cot), and none is played here".into(),
            });
        }
        Ok(())
    }

    /// Options with the model connected when any of `policies` is a language model.
    fn options<'a>(&self, mut policies: impl Iterator<Item = &'a str>) -> Result<PolicyOptions, ConfigError> {
        if policies.any(is_llm) { Ok(PolicyOptions::with_llm(&self.config())?) } else { Ok(PolicyOptions::default()) }
    }
}

/// Overrides and output options shared by `train` and `sweep`.
#[derive(Args)]
struct RunArgs {
    /// Override one key of the file (dotted for tables), e.g. --set cost.mode=lagrangian.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Output directory (replaces `out_dir`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Join the shard directories of one sweep into one set of outputs.
    Merge {
        /// Shard directories (each holds the sweep.json it was run with).
        dirs: Vec<PathBuf>,
        /// Where the merged outputs go.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum StoryCommand {
    /// Validate a game: a TOML story file, a ChoiceScript game folder (or its startup.txt), or a
    /// shipped game's name. Prints every problem with its file, line and scene.
    Check {
        /// Story file, ChoiceScript folder, or the name of a shipped game.
        file: String,
        /// The annotation sidecar of a ChoiceScript game (default: annotations.toml in its folder).
        #[arg(long)]
        annotations: Option<PathBuf>,
    },
    /// The points and violations of every route to each ending of TOML stories (or shipped games),
    /// as Markdown: docs/routes.md is this for the shipped games.
    Routes {
        /// Story files or shipped game names.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Write a TOML story (or a shipped game) as a ChoiceScript game folder that plays the same.
    Convert {
        /// Story file, or the name of a shipped game.
        file: String,
        /// The folder to create (it must not exist yet).
        #[arg(long)]
        out: PathBuf,
    },
    /// Play a ChoiceScript game along a scripted route and print what the player sees, one JSON
    /// line per decision ({"narration", "options"}) and a last one ({"end", "narration",
    /// "error"}): the format scripts/choicescript_diff.py compares with the reference interpreter.
    Transcript {
        /// ChoiceScript folder, or the name of a shipped ChoiceScript game.
        game: String,
        /// first, last, cycle, or picks:3,0,7 (option indices, each taken modulo the options
        /// offered).
        #[arg(long, default_value = "first")]
        route: moralgym::envs::text::choicescript::Route,
        /// Most decisions to play.
        #[arg(long, default_value_t = 200)]
        max_decisions: usize,
        /// Seed of the game's *rand.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Generate a valid, annotated story file.
    Generate {
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Scenes (3 to 100,000).
        #[arg(long, default_value_t = 40)]
        scenes: usize,
        /// 0 (reward and harm independent) to 1 (every best path harmful).
        #[arg(long, default_value_t = 0.5)]
        tradeoff: f64,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
struct EnvArgs {
    /// Environment id, e.g. CoinGame-v1 (see `moralgym envs`).
    #[arg(long = "env")]
    id: String,
    /// TOML file with the env's config keys.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override one config key (dotted for nested tables), e.g. --set zap.enabled=true.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

impl EnvArgs {
    fn table(&self) -> Result<Value, ConfigError> {
        match &self.config {
            Some(path) => load_with_sets(path, &self.sets),
            None => {
                let mut table = Value::Null;
                apply_sets(&mut table, &self.sets)?;
                Ok(table)
            }
        }
    }
}

fn main() -> ExitCode {
    // As Unix tools do, end quietly when the reader of our output goes away (`| head`): without
    // this, Rust ignores SIGPIPE and the next print panics on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Refuses a count flag of 0 (`--episodes 0` has nothing to average).
fn at_least_one(flag: &str, n: usize) -> Result<(), ConfigError> {
    if n == 0 { Err(ConfigError::Usage { message: format!("{flag} must be at least 1") }) } else { Ok(()) }
}

fn run(command: Command) -> Result<(), ConfigError> {
    match &command {
        Command::Eval { episodes, .. } => {
            at_least_one("--episodes", *episodes)?;
            check_episodes("--episodes", *episodes)?;
        }
        Command::Rollout { episodes, baseline_episodes, .. } => {
            at_least_one("--episodes", *episodes)?;
            check_episodes("--episodes", *episodes)?;
            check_episodes("--baseline-episodes", *baseline_episodes)?;
        }
        Command::Report { episodes, baseline_episodes, .. } => {
            at_least_one("--episodes", *episodes)?;
            at_least_one("--baseline-episodes", *baseline_episodes)?;
            check_episodes("--episodes", *episodes)?;
            check_episodes("--baseline-episodes", *baseline_episodes)?;
        }
        Command::Bench { steps, .. } => at_least_one("--steps", *steps)?,
        _ => {}
    }
    // Flags that would be silently ignored in a combination are refused.
    match &command {
        Command::Eval { policy, llm, greedy, .. } => {
            if *greedy && policy.is_some() {
                return Err(ConfigError::Usage {
                    message: "--greedy takes the trained policy's most likely action; a --policy plays its own way: give one of them".into(),
                });
            }
            llm.check_used(policy.iter().map(String::as_str))?;
        }
        Command::Rollout { policy, llm, .. } => llm.check_used(std::iter::once(policy.as_str()))?,
        Command::Report { games, llm_agents, llm, machiavelli, test_set, zscores, .. } => {
            let games = games.as_deref().unwrap_or_default();
            if let Some(twice) = games.iter().enumerate().find_map(|(k, g)| games[..k].contains(g).then_some(g)) {
                return Err(ConfigError::Usage { message: format!("--games names `{twice}` twice") });
            }
            if machiavelli.is_none() && (*test_set || *zscores) {
                return Err(ConfigError::Usage { message: "--test-set and --zscores belong to --machiavelli".into() });
            }
            if *test_set && !games.is_empty() {
                return Err(ConfigError::Usage { message: "--test-set names the games: give it or --games".into() });
            }
            llm.check_used(llm_agents.iter().map(String::as_str))?;
        }
        _ => {}
    }
    match command {
        Command::Demo { steps, out } => demo::demo(steps, &out),
        Command::Envs { json } => rollout_cli::envs(json),
        Command::Story { command } => story_cli::story(command),
        Command::Report {
            games,
            machiavelli,
            jiminy_cricket,
            test_set,
            zscores,
            steps,
            episodes,
            seed,
            baseline_episodes,
            out,
            quiet,
            llm_agents,
            mut llm,
        } => {
            // MACHIAVELLI's games are asked as its agents ask, unless prompts are chosen.
            if machiavelli.is_some() && llm.prompts.is_none() && llm.prompt_set.is_none() {
                llm.prompt_set = Some("machiavelli".into());
            }
            if let Some(bad) = llm_agents.iter().find(|a| !is_llm(a)) {
                return Err(ConfigError::Usage {
                    message: format!(
                        "--llm-agents: `{bad}` is not a language-model agent (llm, llm_ethical, llm_cot, llm_ethical_cot)"
                    ),
                });
            }
            let options = llm.options(llm_agents.iter().map(String::as_str))?;
            use moralgym::envs::text::machiavelli::data::{DataFolder, game_ids};
            use moralgym::training::report as r;
            let mut config = moralgym::training::report::ReportConfig {
                games: games.unwrap_or_default(),
                total_steps: steps.unwrap_or(if jiminy_cricket.is_some() { 15_000 } else { 100_000 }),
                episodes,
                seed,
                baseline_episodes,
                out_dir: out,
                llm_agents,
                quiet,
            };
            if let Some(root) = jiminy_cricket {
                let rows = moralgym::training::jiminy::report_jiminy(&config, &root, &options)?;
                print!("{}", moralgym::training::jiminy::markdown(&config, &root, &rows));
                return Ok(());
            }
            let suite = machiavelli.map(|d| r::MachiavelliReport { data: DataFolder::from_config(Some(&d)), zscores });
            if config.games.is_empty() {
                config.games = match &suite {
                    None => ["heist", "campaign", "shipwreck", "startup", "frontier", "hospital", "icefall", "regent"]
                        .map(String::from)
                        .into(),
                    Some(_) if test_set => r::MACHIAVELLI_TEST_GAMES.map(String::from).into(),
                    Some(s) => game_ids(&s.data)
                        .map_err(|e| ConfigError::Usage { message: format!("--machiavelli: {e}") })?
                        .into_iter()
                        .filter(|g| !r::MACHIAVELLI_BUGGY_GAMES.contains(&g.as_str()))
                        .collect(),
                };
            }
            let table = match &suite {
                Some(s) => r::machiavelli_markdown(&config, s, &r::report_machiavelli(&config, s, &options)?),
                None => r::markdown(&config, &r::report_with(&config, &options)?),
            };
            print!("{table}");
            Ok(())
        }
        Command::Sweep { merge: Some(SweepCommand::Merge { dirs, out }), .. } => {
            let first = dirs
                .first()
                .ok_or_else(|| ConfigError::Usage { message: "sweep merge needs shard directories".into() })?;
            let mut config = moralgym::training::sweep::config_of(first)?;
            config.out_dir = out;
            let points = moralgym::training::sweep::merge(&config, &dirs)?;
            println!("merged {} points into {}", points.len(), config.out_dir.display());
            Ok(())
        }
        Command::Sweep { config, shard, run, merge: None } => {
            let path =
                config.ok_or_else(|| ConfigError::Usage { message: "give a sweep file, or `sweep merge`".into() })?;
            run_sweep_cli(&path, shard.as_deref(), run)
        }
        Command::Train { config, resume: true, run } => {
            if let Some(out) = run.out {
                return Err(ConfigError::Usage {
                    message: format!(
                        "--out {} cannot be combined with --resume: a run resumes in its own directory ({})",
                        out.display(),
                        config.display()
                    ),
                });
            }
            report_run(resume(&config, &run.sets, run.quiet)?)
        }
        Command::Train { config, run, .. } => run_train(&config, run),
        Command::Eval { run, policy: Some(policy), llm, episodes, seed, .. } => {
            let options = llm.options(std::iter::once(policy.as_str()))?;
            let summary = moralgym::training::run::evaluate_policy_on_run(&run, &policy, episodes, seed, &options)?;
            print_json(&summary);
            Ok(())
        }
        Command::Eval { run, policy: None, episodes, seed, greedy, .. } => {
            print_json(&evaluate_run(&run, episodes, seed, greedy)?);
            Ok(())
        }
        Command::Rollout { env, policy, llm, episodes, seed, json, baseline_episodes } => {
            let options = llm.options(std::iter::once(policy.as_str()))?;
            rollout_cli::run_rollout(&env, &policy, &options, episodes, seed, json, baseline_episodes)
        }
        Command::Play { game, .. } if zplay::is_story_file(&game) => zplay::play(std::path::Path::new(&game)),
        Command::Play { game, annotations, machiavelli } => textplay::play(&game, annotations, machiavelli.as_deref()),
        Command::Bench { env, num_envs, threads, steps, seed, json } => {
            rollout_cli::run_bench(&env, num_envs, threads, steps, seed, json)
        }
    }
}

fn run_sweep_cli(path: &std::path::Path, shard: Option<&str>, run: RunArgs) -> Result<(), ConfigError> {
    use moralgym::training::sweep;
    let (table, out, quiet) = (load_with_sets(path, &run.sets)?, run.out, run.quiet);
    let mut config: sweep::SweepConfig = serde_json::from_value(table)
        .map_err(|e| ConfigError::Sweep { message: format!("{}: {e}", path.display()) })?;
    if let Some(out) = out {
        config.out_dir = out;
    }
    let (i, n) = match shard {
        None => (0, 1),
        Some(s) => {
            let parsed =
                s.split_once('/').and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
            parsed.ok_or_else(|| ConfigError::Usage { message: format!("--shard {s}: expected I/N, e.g. 0/4") })?
        }
    };
    let swept = sweep::run_sweep(&config, i, n, quiet)?;
    println!(
        "{} points; {} on the front; hypervolume {}; outputs in {}",
        swept.points.len(),
        swept.front.points.len(),
        swept.front.hypervolume,
        config.out_dir.display()
    );
    Ok(())
}

fn run_train(path: &std::path::Path, run: RunArgs) -> Result<(), ConfigError> {
    let mut config = RunConfig::from_table(load_with_sets(path, &run.sets)?)?;
    if let Some(out) = run.out {
        config.out_dir = out;
    }
    report_run(train(&config, run.quiet)?)
}

/// Prints a summary as pretty JSON with its keys sorted (as in the files moralgym writes).
fn print_json(value: &moralgym::training::EvalSummary) {
    let sorted = serde_json::to_value(value).unwrap_or_default();
    println!("{}", serde_json::to_string_pretty(&sorted).unwrap_or_default());
}

fn report_run(result: RunResult) -> Result<(), ConfigError> {
    println!(
        "trained for {} env steps ({} updates); outputs in {}",
        result.global_step,
        result.updates,
        result.out_dir.display()
    );
    if let Some(eval) = &result.eval {
        println!("evaluation: {}", serde_json::to_value(eval).unwrap_or_default());
    }
    Ok(())
}
