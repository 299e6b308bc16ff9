//! ChoiceScript games: the tour in tests/choicescript/tour exercises every supported command,
//! with the narration, variables, points and annotations of each route computed by hand; small
//! games written inline pin the rules one at a time; malformed games give every problem with its
//! file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use moralgym_envs::text::choicescript::expr::Value;
use moralgym_envs::text::choicescript::{Game, Run};
use moralgym_envs::text::passage::Passage;
use moralgym_envs::text::{TextGame, TextGameConfig};
use moralgym_envs::{ParallelEnv, Rng};

fn tour_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/choicescript/tour")
}

fn tour() -> Arc<Game> {
    Arc::new(Game::load(&tour_dir(), None).unwrap_or_else(|e| panic!("{e}")))
}

/// Plays `picks` (option texts) from the start; returns the passages (the opening first).
fn play(game: &Arc<Game>, seed: u64, picks: &[&str]) -> (Run, Vec<Passage>) {
    let (mut run, first) = Run::start(Arc::clone(game), Rng::new(seed));
    let mut passages = vec![first];
    for pick in picks {
        assert!(run.error().is_none(), "{:?}", run.error());
        let k = run
            .choice_texts()
            .iter()
            .position(|t| t == pick)
            .unwrap_or_else(|| panic!("`{pick}` is not offered; offered: {:?}", run.choice_texts()));
        passages.push(run.choose(k).expect("offered"));
    }
    assert!(run.error().is_none(), "{:?}", run.error());
    (run, passages)
}

fn violations(p: &Passage) -> Vec<&'static str> {
    let mut c = [0.0f32; 18];
    p.annotation.counters(&mut c);
    moralgym_envs::text::COST_NAMES.iter().zip(c).filter(|(_, v)| *v > 0.0).map(|(n, _)| *n).collect()
}

fn num(run: &Run, name: &str) -> f64 {
    match run.global(name) {
        Some(Value::Num(x)) => *x,
        other => panic!("{name} = {other:?}"),
    }
}

#[test]
fn the_tour_opens_with_interpolation_inputs_and_an_achievement() {
    let game = tour();
    assert_eq!(game.title, "The Lantern Tour");
    assert_eq!(game.max_points(), 40.0);
    let (run, p) = play(&game, 1, &[]);
    assert_eq!(
        p[0].narration,
        "Your name is Bea; the ledger spells it BEA. You carry 10 gold.\n\nThe road forks quietly.\nA lantern swings."
    );
    assert_eq!(p[0].points, 10.0, "*achieve lantern");
    assert_eq!(run.global("name"), Some(&Value::Str("Bea".into())), "*input_text takes the sidecar's input");
    assert_eq!(num(&run, "gold"), 10.0, "*input_number keeps a value in range when the sidecar gives none");
    // Swimming is shown disabled (brave is false): an agent is not offered it.
    assert_eq!(run.choice_texts(), ["Take the market road.", "Pay the ferryman.", "Look at the sky."]);
}

#[test]
fn the_market_route_runs_gosubs_arrays_setref_gotoref_and_fairmath() {
    let game = tour();
    let (run, p) =
        play(&game, 1, &["Take the market road.", "Buy bread.", "Haggle.", "Buy rope.", "Leave.", "Take the gold."]);
    assert_eq!(p[1].narration, "Stalls: bread, rope and oil.");
    assert_eq!(p[1].scenes, vec![1], "*finish leads to the next scene of the list");
    assert_eq!(p[2].narration, "You have bought 1 thing.");
    assert_eq!(p[3].narration, "You haggle; nothing changes. You have bought 1 thing.");
    assert_eq!(p[4].narration, "You have bought 2 things.");
    assert_eq!(
        p[5].narration, "Your honour stands at 60 of 100. The clerk nods. The vault opens.",
        "honour 50 %+20 = 60 passed to the ledger's *params; keys_3 = 7 + (2 + 1) = 10 > 8"
    );
    assert_eq!(violations(&p[5]), ["manipulation", "trespassing", "power_utility", "disutility"]);
    assert_eq!(
        p[6].narration,
        "The road ends at the river. You come from the market with 110 gold. You are rich, and honoured."
    );
    assert_eq!(violations(&p[6]), ["stealing"]);
    assert_eq!(p[6].points, 25.0, "the hidden achievement");
    assert_eq!(num(&run, "keys_1"), 3.0);
    assert_eq!(num(&run, "keys_2"), 7.0);
    assert_eq!(num(&run, "keys_3"), 10.0);
    assert_eq!(num(&run, "gold"), 110.0);
    assert!(run.ended());
    assert_eq!(run.ending(), Some("finale.txt line 11"));
}

#[test]
fn reuse_rules_hide_options_once_taken_and_allow_reuse_keeps_them() {
    let game = tour();
    let (run, _) = play(&game, 1, &["Take the market road.", "Buy bread."]);
    // *hide_reuse for the whole scene hides "Buy bread."; *allow_reuse keeps "Haggle."
    assert_eq!(run.choice_texts(), ["Buy rope.", "Haggle.", "Leave."]);
    let (run, _) = play(&game, 1, &["Take the market road.", "Haggle.", "Haggle."]);
    assert_eq!(run.choice_texts(), ["Buy bread.", "Buy rope.", "Haggle.", "Leave."]);
    // In startup, only "Look at the sky." is *hide_reuse; once seen, brave is true and swimming opens.
    let (run, p) = play(&game, 1, &["Look at the sky."]);
    assert_eq!(p[1].narration, "The sky is clear.");
    assert_eq!(run.choice_texts(), ["Take the market road.", "Pay the ferryman.", "Swim across."]);
}

#[test]
fn the_other_routes_end_where_the_text_says() {
    let game = tour();
    let (run, p) = play(&game, 1, &["Pay the ferryman."]);
    assert_eq!(p[1].narration, "You walk on.", "*goto_scene finale boat skips the finale's opening");
    assert_eq!(p[1].points, 5.0);
    assert_eq!(violations(&p[1]), Vec::<&str>::new(), "money level 1 ($500) is below the power threshold");
    assert_eq!(p[1].annotation.total_dollars(), 500.0);
    assert_eq!(num(&run, "gold"), 5.0);
    assert_eq!(run.ending(), Some("finale.txt line 14"));
    let (_, p) = play(&game, 1, &["Look at the sky.", "Swim across."]);
    assert_eq!(p[2].narration, "The road ends at the river. You walk on.");
    let (run, p) = play(&game, 1, &["Take the market road.", "Leave.", "Leave it."]);
    assert_eq!(num(&run, "honour"), 54.0, "60 %-10 = 54");
    assert_eq!(p[3].narration, "The road ends at the river. You come from the market with 10 gold. You walk on.");
}

#[test]
fn rand_is_seeded_per_run() {
    let game = tour();
    let roll = |seed| num(&play(&game, seed, &[]).0, "roll");
    let rolls: Vec<f64> = (0..60).map(roll).collect();
    assert!(rolls.iter().all(|r| (1.0..=6.0).contains(r) && r.fract() == 0.0));
    for face in 1..=6 {
        assert!(rolls.contains(&(face as f64)), "face {face} never rolled in 60 runs");
    }
    assert_eq!(roll(7), roll(7));
}

fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn game_of(startup: &str) -> Game {
    Game::from_files(&files(&[("startup", startup)]), None).unwrap_or_else(|e| panic!("{e}"))
}

/// The problems that refuse a game, or else the warnings it loads with.
fn problems(pairs: &[(&str, &str)], sidecar: Option<&str>) -> Vec<String> {
    match Game::from_files(&files(pairs), sidecar) {
        Ok(g) => g.warnings.iter().map(ToString::to_string).collect(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

fn has(problems: &[String], needle: &str) -> bool {
    problems.iter().any(|p| p.contains(needle))
}

#[test]
fn implicit_control_flow_lets_blocks_fall_through() {
    let game = Arc::new(game_of(
        "*create implicit_control_flow true\n*create x 1\n*if x = 1\n  One.\n*else\n  Other.\n*choice\n  #A\n    Picked A.\n  #B\nAfter.\n*ending\n",
    ));
    let (mut run, p) = Run::start(Arc::clone(&game), Rng::new(0));
    assert_eq!(p.narration, "One.");
    assert_eq!(run.choose(0).expect("offered").narration, "Picked A. After.");
    let (mut run2, _) = Run::start(game, Rng::new(0));
    assert_eq!(run2.choose(1).expect("offered").narration, "After.");
    assert!(run.ended() && run2.ended());
}

#[test]
fn disable_reuse_conditional_blocks_of_options_and_the_end_of_a_scene() {
    let game = Arc::new(
        Game::from_files(
            &files(&[
                (
                    "startup",
                    "*scene_list\n  startup\n  two\n*create n 0\n*label top\n*choice\n  *disable_reuse #Once.\n    *set n +1\n    *goto top\n  *if n = 0\n    #Before.\n      *goto top\n  *else\n    #After.\n      *finish\n",
                ),
                ("two", "*gosub_scene three\nBack in two.\n"),
                ("three", "In three.\n"),
            ]),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let (mut run, _) = Run::start(game, Rng::new(0));
    assert_eq!(run.choice_texts(), ["Once.", "Before."]);
    run.choose(0);
    assert_eq!(run.choice_texts(), ["After."], "disabled once taken; the *else block of options now");
    let p = run.choose(0).expect("offered");
    // gosub_scene without a label; the end of three's file finishes the game (three is in no
    // scene list) instead of returning to two, as in the reference.
    assert_eq!(p.narration, "In three.");
    assert!(run.ended() && run.error().is_none());
    assert_eq!(run.ending(), Some("three.txt line 1"));
}

#[test]
fn runtime_errors_stop_the_game_with_the_place_named() {
    let bug = Arc::new(game_of("*create x 2\n*if x > 1\n  *bug x is ${x}\nFine.\n*ending\n"));
    let (run, _) = Run::start(bug, Rng::new(0));
    assert!(run.ended());
    assert_eq!(run.error(), Some("startup.txt line 3: *bug reached: x is 2"));
    let stuck = Arc::new(game_of("*label a\n*goto a\n"));
    let (run, _) = Run::start(stuck, Rng::new(0));
    assert!(run.error().is_some_and(|e| e.contains("without reaching a choice")));
    let none = Arc::new(game_of("*create x 1\n*choice\n  *if (x > 5) #Rich.\n    *ending\n"));
    let (run, _) = Run::start(none, Rng::new(0));
    assert_eq!(run.error(), Some("startup.txt line 2: no option of this *choice can be chosen"));
    let fair = Arc::new(game_of("*create x 150\n*set x %+10\n*ending\n"));
    let (run, _) = Run::start(fair, Rng::new(0));
    assert!(run.error().is_some_and(|e| e.contains("fairmath")));
}

#[test]
fn a_choice_whose_last_option_has_no_body_stops_play_where_the_reference_stops() {
    let play = |text: &str| {
        let (run, p) = Run::start(Arc::new(game_of(text)), Rng::new(0));
        (run.error().map(str::to_string), run.choice_texts().len(), p.narration)
    };
    let (error, offered, _) = play("Start.\n*choice\n  #A\n    *ending\n  #B\nAfter.\n*ending\n");
    assert!(
        error.as_deref().is_some_and(|e| e.contains("line 2") && e.contains("no body")) && offered == 0,
        "{error:?}"
    );
    // a *fake_choice may fall through, and an empty option before the last is offered
    for text in [
        "Start.\n*fake_choice\n  #A\n    Picked A.\n  #B\nAfter.\n*ending\n",
        "Start.\n*choice\n  #A\n  #B\n    *ending\nAfter.\n*ending\n",
    ] {
        assert_eq!(play(text), (None, 2, "Start.".to_string()), "{text}");
    }
}

#[test]
fn a_goto_scene_forgets_the_callers_of_gosub_scene_as_the_reference_does() {
    let pairs = [
        ("startup", "*gosub_scene a\nBack in startup.\n*ending\n"),
        ("a", "In a.\n*goto_scene b\n"),
        ("b", "In b.\n*return\n"),
    ];
    let game = Arc::new(Game::from_files(&files(&pairs), None).expect("loads"));
    let (run, _) = Run::start(game, Rng::new(0));
    assert!(run.error().is_some_and(|e| e.contains("b.txt line 2") && e.contains("*return")), "{:?}", run.error());
    // without the jump, the callee returns
    let pairs = [("startup", "*gosub_scene a\nBack in startup.\n*ending\n"), ("a", "In a.\n*return\n")];
    let (run, p) = Run::start(Arc::new(Game::from_files(&files(&pairs), None).expect("loads")), Rng::new(0));
    assert_eq!((p.narration.as_str(), run.error()), ("In a. Back in startup.", None));
}

#[test]
fn scene_names_are_case_sensitive_and_a_file_differing_in_case_is_named() {
    let pairs = [("startup", "*goto_scene chapter\n"), ("Chapter", "In the chapter.\n*ending\n")];
    let ps = problems(&pairs, None);
    let want = "startup.txt:1: scene `chapter` has no file chapter.txt (Chapter.txt differs in case; scene names are case-sensitive)";
    assert!(has(&ps, want), "{ps:#?}");
    let game = Arc::new(Game::from_files(&files(&pairs), None).expect("reported in play, as the reference does"));
    let (run, _) = Run::start(game, Rng::new(0));
    assert!(run.error().is_some_and(|e| e.contains("has no file chapter.txt")), "{:?}", run.error());
    let right = [("startup", "*goto_scene Chapter\n"), ("Chapter", "In the chapter.\n*ending\n")];
    let (run, p) = Run::start(Arc::new(Game::from_files(&files(&right), None).expect("loads")), Rng::new(0));
    assert_eq!((p.narration.as_str(), run.error()), ("In the chapter.", None));
}

#[test]
fn a_malformed_game_loads_with_every_problem_named_and_play_stops_where_it_reaches_one() {
    let startup = "*scene_list\n  startup\n  gone\n*create x 1\n*achievement never visible 5 Never\n  Never got.\n  Got.\n*set y 2\n*frobnicate\n*goto nowhere\n*if x + 1 * 2\n  *goto end\n*choice\n  #Falls out.\n    Nothing after.\n  #Fine.\n    *goto end\n*label end\n*script alert(1)\n*goto_scene elsewhere missing_label\n";
    let pairs = [("startup", startup), ("elsewhere", "*label here\n*ending\n")];
    let game =
        Arc::new(Game::from_files(&files(&pairs), None).expect("the reference loads it: it reports these in play"));
    let ps = problems(&pairs, None);
    for needle in [
        "startup.txt:3: scene `gone` has no file gone.txt",
        "startup.txt:1: achievement `never` is declared but never achieved",
        "startup.txt:8: unknown variable `y`",
        "startup.txt:9: unknown command `*frobnicate`",
        "startup.txt:10: no `*label nowhere` in startup.txt",
        "startup.txt:11: more than one operator without parentheses",
        "startup.txt:14: play falls out of this #option's block into the next #option",
        "startup.txt:19: `*script` is not supported",
        "startup.txt:20: no `*label missing_label` in elsewhere.txt",
    ] {
        assert!(has(&ps, needle), "missing `{needle}` in {ps:#?}");
    }
    // Play reaches the first of them, the *set of an unknown variable, and stops there.
    let (run, _) = Run::start(game, Rng::new(0));
    assert_eq!(run.error(), Some("startup.txt line 8: unknown variable `y`"));
    let ps = problems(&[("startup", "*create x 1\n*if x = 1\n  One.\n*else\n  Two.\n*ending\n")], None);
    assert!(has(&ps, "startup.txt:2: play falls from this `*if` block into the `*else` on line 4"), "{ps:?}");
    let ps = problems(&[("startup", "Text.\n  \tIndented.\n*ending\n"), ("other", "*create z 1\n")], None);
    assert!(has(&ps, "startup.txt:2: indentation mixes tabs and spaces"), "{ps:?}");
    let ps = problems(
        &[("startup", "*scene_list\n  startup\n  other\nHi.\n"), ("other", "*create z 1\n*temp t\n*ending\n")],
        None,
    );
    assert!(has(&ps, "other.txt:1: `*create` is allowed only at the top of startup.txt"), "{ps:?}");
    assert!(problems(&[("other", "Hi.\n")], None).iter().any(|p| p.contains("needs a startup.txt")));
}

#[test]
fn sidecar_keys_must_name_a_label_or_a_line_that_runs() {
    let startup = "*comment a comment\n*label start\nHello.\n*choice\n  #Go.\n    *ending\n";
    let ok =
        "[annotations.\"startup:start\"]\nmorality = { deception = 1.0 }\n[annotations.\"startup:5\"]\nwatts = 5000\n";
    assert_eq!(problems(&[("startup", startup)], Some(ok)), Vec::<String>::new());
    let bad = "[annotations.\"startup:nolabel\"]\nwatts = 1\n[annotations.\"startup:1\"]\nwatts = 1\n[annotations.\"startup:99\"]\nwatts = 1\n[annotations.\"nowhere:1\"]\nwatts = 1\n[annotations.\"startup:3\"]\nmorality = { deception = 1.5 }\n[annotations.\"nocolon\"]\nwatts = 1\n";
    let ps = problems(&[("startup", startup)], Some(bad));
    for needle in [
        "annotations.toml:1: key `startup:nolabel`: startup.txt has no `*label nolabel`",
        "annotations.toml:3: key `startup:1`: line 1 of startup.txt runs nothing",
        "annotations.toml:5: key `startup:99`: startup.txt has lines 1 to 6",
        "annotations.toml:7: key `nowhere:1`: the game has no scene `nowhere`",
        "annotations.toml:9: `startup:3`: morality `deception` = 1.5 is outside [0, 1]",
        "annotations.toml:11: key `nocolon` must read",
    ] {
        assert!(has(&ps, needle), "missing `{needle}` in {ps:#?}");
    }
    let ps = problems(&[("startup", startup)], Some("[annotation.\"startup:3\"]\nwatts = 1\n"));
    assert!(has(&ps, "annotations.toml:1: unknown field `annotation`"), "{ps:?}");
}

#[test]
fn the_tour_plays_as_an_environment() {
    let config = TextGameConfig { path: Some(tour_dir().display().to_string()), ..TextGameConfig::default() };
    let mut env = TextGame::new("TextGame-v0", config).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.spec().num_actions(), 4, "the most options of any *choice");
    env.reset(Some(3));
    let mut mask = vec![false; 4];
    env.action_mask(0, &mut mask);
    assert_eq!(mask, [true, true, true, false]);
    let stealing = env.spec().cost_spec.index_of("stealing").expect("component");
    let mut total = 0.0;
    let mut stole = 0.0;
    for pick in ["Take the market road.", "Leave.", "Take the gold."] {
        let k = env.text(0).expect("text").choices.iter().position(|c| c == pick).expect("offered");
        assert_eq!(env.choice_annotations().len(), env.text(0).expect("text").choices.len());
        let s = env.step(&[k as u32]).expect("legal");
        total += s.rewards[0];
        stole += s.costs[stealing];
        assert_eq!(s.terminated[0], pick == "Take the gold.");
    }
    assert_eq!((total, stole), (35.0, 1.0), "the opening's 10 points come with the first step");
    let mut m = serde_json::Map::new();
    env.episode_metrics(&mut m);
    assert_eq!(m["points"], serde_json::json!(35.0));
    assert_eq!(m["achievements_pct"], serde_json::json!(87.5));
    assert_eq!(m["ending"], serde_json::json!("finale.txt line 11"));
    // The same seed plays the same *rand rolls; the text view is the narration and options.
    let startup = tour_dir().join("startup.txt");
    let by_file = TextGame::new(
        "TextGame-v0",
        TextGameConfig { path: Some(startup.display().to_string()), ..TextGameConfig::default() },
    );
    assert!(by_file.is_ok(), "the path of startup.txt names the game too");
}

/// Plays a TOML story as compiled and its ChoiceScript conversion (`moralgym story convert`, read
/// back as scene files) with the same random choices and checks that every step agrees:
/// narration, options, points, achievements and the summed annotation.
fn same_play(story: &moralgym_envs::text::Story, episodes: u64) {
    let files = moralgym_envs::text::convert::to_choicescript(story).unwrap_or_else(|e| panic!("{}: {e}", story.title));
    let game = Arc::new(Game::from_files(&files.scenes, Some(&files.sidecar)).unwrap_or_else(|e| panic!("{e}")));
    let compiled = Arc::new(Game::from_story(story));
    let mut pick = Rng::new(99);
    for episode in 0..episodes {
        let (mut toml, a) = Run::start(Arc::clone(&compiled), Rng::new(episode));
        let (mut cs, b) = Run::start(Arc::clone(&game), Rng::new(episode));
        let same = |a: &Passage, b: &Passage, at: &str| {
            assert_eq!(a.narration, b.narration, "{at}");
            assert_eq!(a.points, b.points, "{at}");
            assert_eq!(a.annotation, b.annotation, "{at}");
            assert_eq!(a.achievements, b.achievements, "{at}");
        };
        same(&a, &b, "the opening");
        while !toml.ended() {
            let texts = toml.choice_texts().to_vec();
            assert_eq!(texts, cs.choice_texts(), "{} episode {episode}", story.title);
            let k = pick.below(texts.len());
            let (a, b) = (toml.choose(k).expect("offered"), cs.choose(k).expect("offered"));
            same(&a, &b, &format!("{} episode {episode}, decision {}", story.title, toml.decisions()));
        }
        assert!(toml.error().is_none(), "{:?}", toml.error());
        assert!(cs.ended() && cs.error().is_none(), "{:?}", cs.error());
    }
}

#[test]
fn every_shipped_game_converts_to_choicescript_and_plays_the_same() {
    for (name, text) in moralgym_envs::text::games::GAMES {
        let story = moralgym_envs::text::Story::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        same_play(&story, 200);
    }
}

#[test]
fn generated_stories_convert_and_play_the_same() {
    use moralgym_envs::text::generator::{GenerateConfig, generate};
    for seed in 0..4 {
        let text = generate(&GenerateConfig { seed, scenes: 300, tradeoff: 0.5 }).expect("generates");
        same_play(&moralgym_envs::text::Story::parse(&text).expect("valid"), 50);
    }
}

#[test]
fn the_shipped_heist_port_is_the_conversion_and_scores_the_same_as_the_toml_heist() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../games/choicescript/heist");
    let story = moralgym_envs::text::Story::parse(moralgym_envs::text::games::shipped("heist").expect("shipped"))
        .expect("valid");
    let files = moralgym_envs::text::convert::to_choicescript(&story).expect("converts");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    assert_eq!(read("startup.txt"), files.scenes["startup"], "regenerate with `moralgym story convert heist`");
    assert_eq!(read("annotations.toml"), files.sidecar);
    let make = |config: TextGameConfig| TextGame::new("TextGame-v0", config).unwrap_or_else(|e| panic!("{e}"));
    let mut toml = make(TextGameConfig::default());
    let mut cs = make(TextGameConfig { path: Some(dir.display().to_string()), ..TextGameConfig::default() });
    assert_eq!(toml.spec().num_actions(), cs.spec().num_actions());
    let mut pick = Rng::new(5);
    for episode in 0..100 {
        toml.reset(Some(episode));
        cs.reset(Some(episode));
        loop {
            let n = toml.text(0).expect("text").choices.len();
            let a = [pick.below(n) as u32];
            let (x, y) = (toml.step(&a).expect("legal"), cs.step(&a).expect("legal"));
            assert_eq!((&x.obs, &x.rewards, &x.costs, &x.terminated), (&y.obs, &y.rewards, &y.costs, &y.terminated));
            if x.terminated[0] || x.truncated[0] {
                break;
            }
        }
        let (mut m, mut n) = (serde_json::Map::new(), serde_json::Map::new());
        toml.episode_metrics(&mut m);
        cs.episode_metrics(&mut n);
        for key in ["points", "max_points", "achievements_pct", "decisions"] {
            assert_eq!(m[key], n[key], "{key}");
        }
    }
}

/// Lines a mutation may insert: commands of every kind, some malformed.
const NOISE: &[&str] = &[
    "*goto fork",
    "*goto nowhere",
    "*label fork",
    "*set gold +(gold * 2)",
    "*set gold gold + 1 + 2",
    "*if (gold > 5)",
    "*else",
    "*elseif",
    "*choice",
    "  #An option.",
    "    *finish",
    "*fake_choice",
    "*gosub_scene ledger tally",
    "*gosub count_keys",
    "*return",
    "*temp t ((((((((1))))))))",
    "*rand roll 6 1",
    "*setref \"gold\" 3",
    "*gotoref \"fork\"",
    "${gold} @{gold a|b} $!{name} @{(gold > 1) x|y}",
    "*achieve lantern",
    "*bug oops",
    "*page_break",
    "\t*line_break",
    "*input_number gold 5 1",
    "*create late 1",
    "*params a b",
    "*ending",
    "*finish",
    "*hide_reuse",
    "  *selectable_if (brave) #Maybe.",
    "@{",
    "${",
    "*",
    "#",
];

fn mutate(text: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for &(kind, at, noise) in edits {
        let at = at % (lines.len() + 1);
        match kind % 4 {
            0 => lines.insert(at, NOISE[noise % NOISE.len()].to_string()),
            1 if at < lines.len() => {
                lines.remove(at);
            }
            2 if at < lines.len() => lines[at] = format!("  {}", lines[at]),
            _ if at < lines.len() => {
                let l = lines[at].clone();
                lines.insert(at, l);
            }
            _ => {}
        }
    }
    lines.join("\n")
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Whatever the files hold, loading gives a game or a list of problems, and a game plays at
    /// random to an ending, a cut-off or a named error; nothing panics.
    #[test]
    fn mutated_games_load_or_list_problems_and_never_panic(
        file in 0usize..4,
        edits in proptest::collection::vec((0usize..4, 0usize..200, 0usize..64), 1..8),
        raw in ".{0,200}",
    ) {
        let (mut files, sidecar) =
            moralgym_envs::text::choicescript::read_files(&tour_dir(), None).expect("reads");
        let name = ["startup", "market", "ledger", "finale"][file];
        let mutated = mutate(&files[name], &edits);
        files.insert(name.to_string(), mutated);
        for (files, sidecar) in [(files, sidecar.clone()), (BTreeMap::from([("startup".to_string(), raw.clone())]), Some(raw))] {
            match Game::from_files(&files, sidecar.as_deref()) {
                Ok(game) => {
                    let found = moralgym_envs::text::choicescript::explore(&Arc::new(game), 5, 0, 50);
                    proptest::prop_assert_eq!(found.endings.values().sum::<usize>() + found.errors.values().sum::<usize>() + found.cut_off, 5);
                }
                Err(e) => proptest::prop_assert!(!e.problems.is_empty()),
            }
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep_parens = format!("*create x 1\n*set x {}1{}\n*ending\n", "(".repeat(100_000), ")".repeat(100_000));
    assert!(has(&problems(&[("startup", &deep_parens)], None), "startup.txt:2: brackets nest deeper than 64 levels"));
    // a literal in startup's *create goes through the same parser
    let deep_literal = format!("*create x {}1{}\n*ending\n", "(".repeat(100_000), ")".repeat(100_000));
    assert!(has(
        &problems(&[("startup", &deep_literal)], None),
        "startup.txt:1: `*create x`: brackets nest deeper than 64 levels"
    ));
    let deep_interp = format!("*create x 1\n{}x{}\n*ending\n", "@{x ".repeat(50_000), "|y}".repeat(50_000));
    assert!(!problems(&[("startup", &deep_interp)], None).is_empty());
    let mut deep_blocks = String::from("*create x 1\n");
    for d in 0..5_000 {
        deep_blocks.push_str(&format!("{}*if x = 1\n", " ".repeat(d)));
    }
    assert!(has(&problems(&[("startup", &deep_blocks)], None), "blocks nest deeper than 64 levels"));
}

/// Whitespace collapsed and link markup dropped, as scripts/choicescript_diff.py compares.
fn normalised(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("[url=") {
        out.push_str(&rest[..at]);
        rest = rest[at..].split_once(']').map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out.replace("[/url]", "").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The test games under tests/choicescript/conformance each pin a group of constructs (nested
/// choices in first, middle and last options; the reference's leniencies; its narration rules;
/// fairmath; `*goto_scene startup` from another scene and from startup itself; a choice of
/// several groups and one of a named group; the end of a `*gosub_scene`'s file, a `*finish` under
/// a `*gosub_scene`, and `*rand` and `*goto_random_scene` drawing as the reference draws). Their `ROUTE.expected.jsonl` files are the reference interpreter's transcripts,
/// recorded with `scripts/choicescript_diff.py --record`: moralgym must print the same narration
/// and options at every decision and end the same way.
#[test]
fn the_conformance_games_play_as_the_reference_interpreter_printed_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/choicescript/conformance");
    let mut checked = 0;
    for game_dir in std::fs::read_dir(&root).expect("conformance games").map(|e| e.expect("entry").path()) {
        let game = Arc::new(Game::load(&game_dir, None).unwrap_or_else(|e| panic!("{}: {e}", game_dir.display())));
        for route in ["first", "last", "cycle"] {
            let expected = std::fs::read_to_string(game_dir.join(format!("{route}.expected.jsonl"))).expect("recorded");
            let expected: Vec<serde_json::Value> =
                expected.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
            let t = moralgym_envs::text::choicescript::transcript(&game, &route.parse().expect("a route"), 20, 0);
            let place = format!("{} {route}", game_dir.display());
            assert_eq!(t.decisions.len() + 1, expected.len(), "{place}: decisions");
            for (k, ((narration, options), want)) in t.decisions.iter().zip(&expected).enumerate() {
                assert_eq!(normalised(narration), normalised(want["narration"].as_str().unwrap_or("")), "{place} #{k}");
                let want_options: Vec<&str> =
                    want["options"].as_array().expect("options").iter().filter_map(|o| o.as_str()).collect();
                assert_eq!(options, &want_options, "{place} #{k}");
            }
            let last = expected.last().expect("an end record");
            assert_eq!(last["end"], t.end(), "{place}: {:?}", t.error);
            assert_eq!(normalised(&t.last), normalised(last["narration"].as_str().unwrap_or("")), "{place}: end");
            checked += 1;
        }
    }
    assert_eq!(checked, 21, "seven games, three routes each");
}

#[test]
fn a_nested_choice_in_a_non_last_option_keeps_the_outer_choice_whole() {
    // The bug the reference found: options A, B, C with A holding A1/A2 were offered as A, A1, A2.
    let game = Arc::new(game_of(
        "*choice\n  #A\n    *choice\n      #A1\n        One.\n        *ending\n      #A2\n        Two.\n        *ending\n  #B\n    Bee.\n    *ending\n  #C\n    Sea.\n    *ending\n",
    ));
    let (mut run, _) = Run::start(Arc::clone(&game), Rng::new(0));
    assert_eq!(run.choice_texts(), ["A", "B", "C"]);
    assert_eq!(run.choose(1).expect("offered").narration, "Bee.");
    let (mut run, _) = Run::start(game, Rng::new(0));
    run.choose(0);
    assert_eq!(run.choice_texts(), ["A1", "A2"]);
    assert_eq!(run.choose(1).expect("offered").narration, "Two.");
}

#[test]
fn goto_random_scene_picks_each_open_scene_once_from_the_episode_stream() {
    let startup = "*create rich false\n*label top\n*goto_random_scene\n  a\n  *if (rich) b\n  *allow_reuse c\n";
    let game = Arc::new(
        Game::from_files(
            &files(&[
                ("startup", startup),
                ("a", "In a.\n*choice\n  #On.\n    *goto_scene startup top\n"),
                ("b", "In b.\n*ending\n"),
                ("c", "In c.\n*choice\n  #On.\n    *goto_scene startup top\n"),
            ]),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let scenes = |seed: u64| {
        let (mut run, first) = Run::start(Arc::clone(&game), Rng::new(seed));
        let mut scenes = vec![first.narration];
        while !run.ended() && run.decisions() < 10 {
            scenes.push(run.choose(0).expect("offered").narration);
        }
        scenes
    };
    let mut firsts = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let seen = scenes(seed);
        // b is never open; a is picked at most once; c may come again and again.
        assert!(seen.iter().all(|s| s == "In a." || s == "In c."), "{seen:?}");
        assert_eq!(seen.iter().filter(|s| *s == "In a.").count(), 1, "a comes once in ten picks: {seen:?}");
        assert_eq!(seen, scenes(seed), "the same seed picks the same scenes");
        firsts.insert(seen[0].clone());
    }
    assert_eq!(firsts.len(), 2, "either scene can come first");
    let none =
        Arc::new(game_of("*goto_random_scene allow_no_selection\n  *if (false) nowhere\nStill here.\n*ending\n"));
    let (run, p) = Run::start(none, Rng::new(0));
    assert_eq!(p.narration, "Still here.");
    assert!(run.ended() && run.error().is_none());
    let stuck = Arc::new(game_of("*goto_random_scene\n  *if (false) nowhere\n*ending\n"));
    let (run, _) = Run::start(stuck, Rng::new(0));
    assert_eq!(run.error(), Some("startup.txt line 1: no scene of this *goto_random_scene can be picked"));
}

#[test]
fn a_temp_declared_without_a_value_is_an_error_to_read_until_set() {
    let read = Arc::new(game_of("*temp x\nValue ${x}.\n*ending\n"));
    let (run, _) = Run::start(read, Rng::new(0));
    assert_eq!(run.error(), Some("startup.txt line 2: temp `x` is read before it has a value (its *temp gave none)"));
    let set = Arc::new(game_of("*temp x\n*set x 4\nValue ${x}.\n*ending\n"));
    let (run, p) = Run::start(set, Rng::new(0));
    assert_eq!((p.narration.as_str(), run.error()), ("Value 4.", None));
}

#[test]
fn indentation_is_read_as_the_reference_reads_it_line_by_line() {
    // Stepping back to a depth between two blocks continues the block above.
    let game = Arc::new(game_of("*create x 1\n*if x = 1\n    Deep.\n  Between.\nAfter.\n*ending\n"));
    let (run, p) = Run::start(game, Rng::new(0));
    assert_eq!((p.narration.as_str(), run.error()), ("Deep. Between. After.", None));
    // Deeper than a line that opens no block: an error where play reaches it (a warning at load);
    // an indented *comment is let through, and the first lines of a file may be indented.
    let startup = "  Indented start.\nText.\n    *comment fine\n    Too deep.\n*ending\n";
    assert!(has(&problems(&[("startup", startup)], None), "startup.txt:4: increasing indent not allowed"));
    let (run, p) = Run::start(Arc::new(game_of(startup)), Rng::new(0));
    assert_eq!(p.narration, "Indented start. Text.");
    assert!(
        run.error().is_some_and(|e| e.starts_with("startup.txt line 4: increasing indent not allowed")),
        "{:?}",
        run.error()
    );
}

#[cfg(unix)]
#[test]
fn special_files_and_links_out_of_the_folder_are_refused_by_name_before_reading() {
    let root = std::env::temp_dir().join(format!("moralgym-special-{}", std::process::id()));
    let game = root.join("game");
    std::fs::create_dir_all(&game).expect("dir");
    let outside = root.join("secret.txt");
    std::fs::write(&outside, "*choice\n  #Read me.\n    *ending\n").expect("write");
    let refused = |why: &str| {
        let e = Game::load(&game, None).expect_err("refused").to_string();
        assert!(e.contains(why), "{e}");
    };
    // A startup.txt that links outside the folder.
    std::os::unix::fs::symlink(&outside, game.join("startup.txt")).expect("link");
    refused("startup.txt:1: cannot read: is a link to");
    std::fs::remove_file(game.join("startup.txt")).expect("rm");
    std::fs::write(game.join("startup.txt"), "Hello.\n*ending\n").expect("write");
    // A link inside the folder is fine.
    std::os::unix::fs::symlink(game.join("startup.txt"), game.join("alias.txt")).expect("link");
    assert!(Game::load(&game, None).is_ok());
    // A FIFO would block a read forever: refused before it is opened.
    assert!(std::process::Command::new("mkfifo").arg(game.join("pipe.txt")).status().expect("mkfifo").success());
    refused("pipe.txt:1: cannot read: is not a regular file");
    std::fs::remove_file(game.join("pipe.txt")).expect("rm");
    // A file over the limit (sparse: nothing is written) is refused without being read.
    let big = std::fs::File::create(game.join("big.txt")).expect("create");
    big.set_len(moralgym_envs::text::files::MAX_FILE_BYTES + 1).expect("sparse");
    refused("big.txt:1: cannot read: is 16777217 bytes long");
    std::fs::remove_file(game.join("big.txt")).expect("rm");
    // A TOML story path that is a device.
    let config = TextGameConfig { path: Some("/dev/zero".into()), ..TextGameConfig::default() };
    let e = TextGame::new("TextGame-v0", config).err().expect("refused").to_string();
    assert!(e.contains("/dev/zero: is not a regular file"), "{e}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn a_string_doubled_in_a_loop_stops_with_an_error_not_the_machines_memory() {
    let doubling = "*create s \"ab\"\n*label again\n*set s s & s\n*goto again\n";
    let (run, _) = Run::start(Arc::new(game_of(doubling)), Rng::new(0));
    let e = run.error().expect("stops");
    assert!(e.starts_with("startup.txt line 3: a string value grows to 2097152 bytes"), "{e}");
    let printing = "*create s \"ab\"\n*label grow\n*set s s & s\n*if length(s) < 1000000\n  *goto grow\n*label again\n${s}\n*goto again\n";
    let (run, _) = Run::start(Arc::new(game_of(printing)), Rng::new(0));
    let e = run.error().expect("stops");
    assert!(e.contains("a step's narration passes 67108864 bytes"), "{e}");
}
