//! The `moralgym` command line: list, roll out, and benchmark environments.

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
    /// --machiavelli, MACHIAVELLI's own games scored by its own coefficients.
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
        /// With --machiavelli: MACHIAVELLI's 30 test games.
        #[arg(long)]
        test_set: bool,
        /// With --machiavelli: z-scores against its random agent instead of % of its mean.
        #[arg(long)]
        zscores: bool,
        /// Env steps of each PPO agent.
        #[arg(long, default_value_t = 100_000)]
        steps: u64,
        /// Evaluation episodes of every agent.
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
        /// Policy that picks the actions: random (any env), harm_avoider (text games), hoarder or
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
    /// Language models: a shipped prompt set, `default` or `machiavelli` (MACHIAVELLI's agents'
    /// layouts and sampling; the default with `report --machiavelli`).
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
        Command::Demo { steps, out } => demo(steps, &out),
        Command::Envs { json } => envs(json),
        Command::Story { command } => story(command),
        Command::Report {
            games,
            machiavelli,
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
            let suite = machiavelli.map(|d| r::MachiavelliReport { data: DataFolder::from_config(Some(&d)), zscores });
            let games = match (games, &suite) {
                (Some(g), _) => g,
                (None, None) => {
                    ["heist", "campaign", "shipwreck", "startup", "frontier", "hospital", "icefall", "regent"]
                        .map(String::from)
                        .into()
                }
                (None, Some(_)) if test_set => r::MACHIAVELLI_TEST_GAMES.map(String::from).into(),
                (None, Some(s)) => game_ids(&s.data)
                    .map_err(|e| ConfigError::Usage { message: format!("--machiavelli: {e}") })?
                    .into_iter()
                    .filter(|g| !r::MACHIAVELLI_BUGGY_GAMES.contains(&g.as_str()))
                    .collect(),
            };
            let config = moralgym::training::report::ReportConfig {
                games,
                total_steps: steps,
                episodes,
                seed,
                baseline_episodes,
                out_dir: out,
                llm_agents,
                quiet,
            };
            match &suite {
                Some(s) => drop(r::report_machiavelli(&config, s, &options)?),
                None => drop(r::report_with(&config, &options)?),
            }
            print!("{}", std::fs::read_to_string(config.out_dir.join("report.md")).unwrap_or_default());
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
            run_rollout(&env, &policy, &options, episodes, seed, json, baseline_episodes)
        }
        Command::Play { game, .. } if zplay::is_story_file(&game) => zplay::play(std::path::Path::new(&game)),
        Command::Play { game, annotations, machiavelli } => play(&game, annotations, machiavelli.as_deref()),
        Command::Bench { env, num_envs, threads, steps, seed, json } => {
            run_bench(&env, num_envs, threads, steps, seed, json)
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
    let points = sweep::run_sweep(&config, i, n, quiet)?;
    match sweep::Front::read(&config.out_dir) {
        Ok(front) => println!(
            "{} points; {} on the front; hypervolume {}; outputs in {}",
            points.len(),
            front.points.len(),
            front.hypervolume,
            config.out_dir.display()
        ),
        // a shard's points are merged into a front later (`moralgym sweep merge`)
        Err(_) => println!("{} points; outputs in {}", points.len(), config.out_dir.display()),
    }
    Ok(())
}

fn story(command: StoryCommand) -> Result<(), ConfigError> {
    use moralgym::envs::text::{self, generator, routes};
    match command {
        StoryCommand::Check { file, annotations }
            if text::game::is_choicescript(std::path::Path::new(&file))
                || text::games::shipped_choicescript(&file).is_some() =>
        {
            check_choicescript(&file, annotations.as_deref())
        }
        StoryCommand::Transcript { game, route, max_decisions, seed } => {
            let game = std::sync::Arc::new(load_choicescript(&game, None)?);
            let t = text::choicescript::transcript(&game, &route, max_decisions, seed);
            for (narration, options) in &t.decisions {
                println!("{}", serde_json::json!({ "narration": narration, "options": options }));
            }
            println!("{}", serde_json::json!({ "end": t.end(), "narration": t.last, "error": t.error }));
            Ok(())
        }
        StoryCommand::Check { annotations: Some(_), .. } => Err(ConfigError::Usage {
            message: "--annotations is for ChoiceScript games; a TOML story holds its own annotations".into(),
        }),
        StoryCommand::Routes { files } => {
            for file in files {
                print!("{}", routes_markdown(&file, &read_story(&file)?));
            }
            Ok(())
        }
        StoryCommand::Convert { file, out } => {
            let story = read_story(&file)?;
            let files = text::convert::to_choicescript(&story).map_err(|message| ConfigError::Usage {
                message: format!("{file} cannot be written as ChoiceScript: {message}"),
            })?;
            if out.exists() {
                return Err(ConfigError::Usage {
                    message: format!("{} exists: give a new folder (nothing is overwritten)", out.display()),
                });
            }
            let write = |path: PathBuf, text: &str| {
                std::fs::write(&path, text)
                    .map_err(|e| ConfigError::Io { path: path.display().to_string(), message: e.to_string() })
            };
            std::fs::create_dir_all(&out)
                .map_err(|e| ConfigError::Io { path: out.display().to_string(), message: e.to_string() })?;
            for (name, text) in &files.scenes {
                write(out.join(format!("{name}.txt")), text)?;
            }
            write(out.join(text::choicescript::SIDECAR), &files.sidecar)?;
            println!(
                "wrote {} ({} scene file(s) and {})",
                out.display(),
                files.scenes.len(),
                text::choicescript::SIDECAR
            );
            Ok(())
        }
        StoryCommand::Check { file, .. } => {
            let s = read_story(&file)?;
            let best = routes::best_path(&s);
            let clean = routes::best_clean_path(&s);
            println!(
                "{file}: valid. \"{}\": {} scenes, {} achievements worth {} points.",
                s.title,
                s.scenes.len(),
                s.achievements.len(),
                s.max_points()
            );
            if s.scenes[s.start].ending {
                println!(
                    "  the start scene is an ending: an episode is over before any decision (one step, action 0, reports it)"
                );
            }
            println!("  most rewarding path: {} points, {} violations", best.points, best.violations);
            match clean {
                Some(c) => println!("  most rewarding path without violations: {} points", c.points),
                None => println!("  no path avoids every violation"),
            }
            Ok(())
        }
        StoryCommand::Generate { seed, scenes, tradeoff, out } => {
            let text = generator::generate(&generator::GenerateConfig { seed, scenes, tradeoff })
                .map_err(|message| ConfigError::Usage { message })?;
            match out {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| ConfigError::Io { path: path.display().to_string(), message: e.to_string() }),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
    }
}

/// One story's section of docs/routes.md: its size, best routes, and the trade-off at each ending.
/// A route count, which saturates at `u128::MAX`: said as a bound, never as an exact number.
fn route_count(n: u128) -> String {
    if n == u128::MAX { "more than 3.4 x 10^38".into() } else { n.to_string() }
}

fn routes_markdown(name: &str, story: &moralgym::envs::text::Story) -> String {
    use moralgym::envs::text::routes;
    let endings = routes::by_ending(story);
    let total = route_count(endings.iter().fold(0u128, |n, e| n.saturating_add(e.routes)));
    let best = routes::best_path(story);
    let mut out = format!(
        "\n## `{name}`: {}\n\n{} scenes, {} achievements worth {} points, {total} routes to {} endings. Most rewarding route: {} points with {} violations; ",
        story.title,
        story.scenes.len(),
        story.achievements.len(),
        story.max_points(),
        endings.len(),
        best.points,
        best.violations
    );
    match routes::best_clean_path(story) {
        Some(c) => out.push_str(&format!("most rewarding route without a violation: {} points.\n\n", c.points)),
        None => out.push_str("every route commits a violation.\n\n"),
    }
    out.push_str("| ending | routes | points | violations |\n|---|---|---|---|\n");
    for e in &endings {
        for (k, r) in e.front.iter().enumerate() {
            let (id, n) = if k == 0 {
                (format!("`{}`", e.ending), route_count(e.routes))
            } else {
                (String::new(), String::new())
            };
            out.push_str(&format!("| {id} | {n} | {} | {} |\n", r.points, r.violations));
        }
    }
    out
}

/// A TOML story by shipped name or file, parsed (problems printed to stderr).
fn read_story(file: &str) -> Result<moralgym::envs::text::Story, ConfigError> {
    use moralgym::envs::text::{Story, games};
    if games::shipped_choicescript(file).is_some() {
        return Err(ConfigError::Usage {
            message: format!("{file} is a ChoiceScript game: `story routes` and `story convert` take TOML stories"),
        });
    }
    let text = match games::shipped(file) {
        Some(t) => t.to_string(),
        None => moralgym::envs::text::files::read(std::path::Path::new(file), None)
            .map_err(|e| ConfigError::Io { path: file.to_string(), message: e.to_string() })?,
    };
    Story::parse(&text).map_err(|e| {
        for p in &e.problems {
            eprintln!("{file}:{p}");
        }
        ConfigError::Story { file: file.to_string(), problems: e.problems.len() }
    })
}

/// A ChoiceScript game by folder or shipped name, compiled (problems printed to stderr).
fn load_choicescript(
    dir: &str,
    annotations: Option<&std::path::Path>,
) -> Result<moralgym::envs::text::choicescript::Game, ConfigError> {
    use moralgym::envs::text::choicescript::Game;
    let loaded = match moralgym::envs::text::games::shipped_choicescript(dir) {
        Some(g) => {
            let sidecar = g.sidecar_or(annotations).map_err(|e| ConfigError::Io {
                path: annotations.map_or_else(String::new, |p| p.display().to_string()),
                message: e.to_string(),
            })?;
            Game::from_files(&g.files(), Some(&sidecar))
        }
        None => Game::load(std::path::Path::new(dir), annotations),
    };
    loaded.map_err(|e| {
        for p in &e.problems {
            eprintln!("{dir}: {p}");
        }
        ConfigError::Story { file: dir.to_string(), problems: e.problems.len() }
    })
}

/// `story check` on a ChoiceScript game: the static check, then random play for errors that
/// only running finds (a reachable *bug, a choice with nothing to choose).
fn check_choicescript(dir: &str, annotations: Option<&std::path::Path>) -> Result<(), ConfigError> {
    use moralgym::envs::text::choicescript::explore;
    let game = load_choicescript(dir, annotations)?;
    for w in &game.warnings {
        eprintln!("{dir}: warning: {w}");
    }
    let lines: u32 = game.scenes.iter().map(|s| s.line_count).sum();
    println!(
        "{dir}: valid. \"{}\": {} scene files ({lines} lines, {} labels, {} words), {} choices with {} options, {} achievements worth {} points, {} annotations.",
        game.title,
        game.scenes.len(),
        game.num_labels(),
        game.words(),
        game.num_choices(),
        game.options.len(),
        game.achievements.len(),
        game.max_points(),
        game.annotations.len()
    );
    let game = std::sync::Arc::new(game);
    let found = explore(&game, 200, 0, 10_000);
    if found.mean_decisions == 0.0 {
        println!(
            "  no playthrough reaches a decision: an episode is over at its first step (one step, action 0, reports it)"
        );
    }
    println!(
        "  200 random playthroughs: {} endings reached, {:.1} decisions on average, {} cut off after 10,000 decisions",
        found.endings.len(),
        found.mean_decisions,
        found.cut_off
    );
    if found.errors.is_empty() {
        return Ok(());
    }
    for (e, n) in &found.errors {
        // An error at the place of a warning is that warning, hit in play.
        let warned = game
            .warnings
            .iter()
            .any(|w| w.file.as_deref().is_some_and(|f| e.starts_with(&format!("{f} line {}: ", w.line))));
        let what = if warned { "a warning above, hit" } else { "hit" };
        eprintln!("{dir}: {e} ({what} in {n} of 200 random playthroughs)");
    }
    Err(ConfigError::Story { file: dir.to_string(), problems: found.errors.len() })
}

fn play(game: &str, annotations: bool, machiavelli: Option<&str>) -> Result<(), ConfigError> {
    use std::io::{BufRead, Write};
    let usage = |e: serde_json::Error| ConfigError::Usage { message: e.to_string() };
    // An achievement's notice names its title, as the game shows it to a player.
    let (mut env, titles): (_, std::collections::HashMap<String, String>) = match machiavelli {
        Some(data) => {
            let config = json!({"data": data, "game": game, "features": false});
            let env = moralgym::make("Machiavelli-v0", &config)?;
            let c: moralgym::envs::text::machiavelli::MachiavelliConfig =
                serde_json::from_value(config).map_err(usage)?;
            let loaded = moralgym::envs::text::machiavelli::env::load(&c, "Machiavelli-v0")?;
            let titles = loaded
                .achievements
                .iter()
                .map(|(id, _, desc)| (id.clone(), desc.split(": ").next().unwrap_or(desc).to_string()))
                .collect();
            (env, titles)
        }
        None => {
            let config = moralgym::envs::text::games::config_of(game);
            let env = moralgym::make("TextGame-v0", &config)?;
            let titles = serde_json::from_value::<moralgym::envs::text::TextGameConfig>(config)
                .map_err(usage)?
                .script("TextGame-v0")?
                .achievements()
                .iter()
                .map(|a| (a.id.clone(), a.title.clone()))
                .collect();
            (env, titles)
        }
    };
    let names = env.spec().cost_spec.names().iter().map(|s| s.to_string()).collect::<Vec<_>>();
    env.reset(None);
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let (mut points, mut totals) = (0.0, vec![0.0f32; names.len()]);
    loop {
        let view = env.text(0).ok_or_else(|| ConfigError::Usage { message: "the game shows no text".into() })?;
        println!("\n{}\n", view.narration);
        for (k, c) in view.choices.iter().enumerate() {
            println!("  {}. {c}", k + 1);
        }
        // A game over before its first decision: its one step reports what it passed.
        let choice = if view.choices.is_empty() {
            println!("(The game is over before its first decision.)");
            0
        } else {
            loop {
                print!("> ");
                let _ = std::io::stdout().flush();
                let Some(Ok(line)) = lines.next() else {
                    println!("\n(no more input: quitting)");
                    return Ok(());
                };
                match line.trim().parse::<usize>() {
                    Ok(k) if (1..=view.choices.len()).contains(&k) => break k - 1,
                    _ if line.trim() == "q" => return Ok(()),
                    _ => println!("Type a number from 1 to {}, or q to quit.", view.choices.len()),
                }
            }
        };
        let step = env.step(&[choice as u32])?;
        points += step.rewards[0];
        for (t, c) in totals.iter_mut().zip(&step.costs) {
            *t += c;
        }
        if let Some(achieved) =
            step.info.get("achievements").or_else(|| step.info.get("new_achievements")).and_then(Value::as_array)
            && !achieved.is_empty()
        {
            println!(
                "\n*** Achievement unlocked: {} (+{} points) ***",
                achieved
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|id| titles.get(id).map_or(id, String::as_str))
                    .collect::<Vec<_>>()
                    .join(", "),
                step.rewards[0]
            );
        }
        if annotations {
            let fired: Vec<&str> =
                names.iter().zip(&step.costs).filter(|(_, c)| **c > 0.0).map(|(n, _)| n.as_str()).collect();
            let annotation: moralgym::envs::text::Annotation =
                step.info.get("annotation").cloned().and_then(|a| serde_json::from_value(a).ok()).unwrap_or_default();
            let counted = if fired.is_empty() {
                "No violation counted".into()
            } else {
                format!("Counts as {}", fired.join(", "))
            };
            let said = annotation.describe();
            let line = if said.is_empty() { format!("[{counted}.]") } else { format!("[{counted}: {said}.]") };
            println!("{}", textwrap::fill(&line, textwrap::termwidth().clamp(40, 100)));
        }
        if step.terminated[0] || step.truncated[0] {
            let mut metrics = serde_json::Map::new();
            env.episode_metrics(&mut metrics);
            println!("\n{}", env.text(0).map(|v| v.narration).unwrap_or_default());
            if let Some(error) = metrics.get("error").and_then(Value::as_str) {
                println!("\nThe game stopped on an error in its script: {error}");
            }
            println!(
                "\nScore: {points} points ({:.0}% of the game's achievements).",
                metrics.get("achievements_pct").and_then(Value::as_f64).unwrap_or(0.0)
            );
            let fired: Vec<String> =
                names.iter().zip(&totals).filter(|(_, t)| **t > 0.0).map(|(n, t)| format!("{n} x{t}")).collect();
            println!("Your conduct: {}", if fired.is_empty() { "no violations".to_string() } else { fired.join(", ") });
            return Ok(());
        }
    }
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

fn spec_of(id: &str, config: &Value) -> Result<EnvSpec, ConfigError> {
    Ok(moralgym::make(id, config)?.spec().clone())
}

fn envs(json: bool) -> Result<(), ConfigError> {
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

fn run_rollout(
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

fn run_bench(
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

fn demo(steps: u64, out: &std::path::Path) -> Result<(), ConfigError> {
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
