//! `moralgym story ...`: check, generate, convert, route and transcript story files and ChoiceScript games.

use super::*;

pub(crate) fn story(command: StoryCommand) -> Result<(), ConfigError> {
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
