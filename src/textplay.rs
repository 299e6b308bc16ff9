//! `moralgym play GAME`: a text game (a shipped game, a story file, a ChoiceScript folder, or
//! MACHIAVELLI's data) in the terminal, with its annotations and score.

use super::*;

pub(crate) fn play(game: &str, annotations: bool, machiavelli: Option<&str>) -> Result<(), ConfigError> {
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
                .compile("TextGame-v0")?
                .achievements
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
