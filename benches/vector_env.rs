//! Throughput of the vector layer: one vector step of 64 copies on one thread, random actions,
//! observations written, auto-reset on. Criterion reports elements (env steps) per second. The
//! text games run from the repository root (`cargo bench` does).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moralgym::agents::RandomPolicy;
use moralgym::envs::{Rng, VecEnv};
use serde_json::{Value, json};

const NUM_ENVS: usize = 64;
const BATCHES: usize = 64;

fn vector_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("vector_step_64_envs_1_thread");
    group.throughput(Throughput::Elements(NUM_ENVS as u64));
    let games = [
        ("PrisonersDilemma-v0", "PrisonersDilemma-v0", Value::Null),
        ("CoinGame-v1", "CoinGame-v1", Value::Null),
        ("Cleanup-v1", "Cleanup-v1", Value::Null),
        ("Harvest-v1", "Harvest-v1", Value::Null),
        ("SequentialStagHunt-v1", "SequentialStagHunt-v1", Value::Null),
        ("SequentialSnowdrift-v1", "SequentialSnowdrift-v1", Value::Null),
        ("TextGame-v0 heist", "TextGame-v0", json!({"game": "heist"})),
        ("TextGame-v0 generated 10000 scenes", "TextGame-v0", json!({"generate": {"seed": 0, "scenes": 10000}})),
        ("TextGame-v0 ChoiceScript heist", "TextGame-v0", json!({"path": "games/choicescript/heist"})),
        ("TextGame-v0 ChoiceScript icefall", "TextGame-v0", json!({"game": "icefall"})),
        ("Machiavelli-v0 icefall", "Machiavelli-v0", json!({"data": "envs/data/machiavelli", "game": "icefall"})),
        (
            "Machiavelli-v0 icefall, no features",
            "Machiavelli-v0",
            json!({"data": "envs/data/machiavelli", "game": "icefall", "features": false}),
        ),
    ];
    for (name, id, config) in games {
        let mut venv = VecEnv::make(id, &config, NUM_ENVS, 1).expect("registered env");
        let spec = venv.spec().clone();
        let per = NUM_ENVS * spec.num_agents;
        let mut rng = Rng::new(0);
        let actions: Vec<u32> = (0..BATCHES * per).map(|_| rng.below(spec.num_actions()) as u32).collect();
        venv.reset(0);
        let mut b = 0;
        if spec.has_action_mask {
            // Masked games (the text games): a random legal action per copy, as `moralgym bench`.
            let mut policy = RandomPolicy::new(0);
            let mut legal = vec![0u32; per];
            group.bench_function(name, |bench| {
                bench.iter(|| {
                    for (i, chunk) in legal.chunks_mut(spec.num_agents).enumerate() {
                        if let Some(env) = venv.env(i) {
                            policy.act(env, chunk);
                        }
                    }
                    venv.step(&legal).expect("legal actions");
                })
            });
            continue;
        }
        group.bench_function(name, |bench| {
            bench.iter(|| {
                b = (b + 1) % BATCHES;
                venv.step(&actions[b * per..(b + 1) * per]).expect("legal actions");
            })
        });
    }
    group.finish();
}

/// Loading a `game_data` folder of 134 games (MACHIAVELLI's count), each a copy of a demo game
/// under its own id: every file read, parsed and checked, every game prepared to play.
fn machiavelli_load(c: &mut Criterion) {
    use moralgym::envs::text::machiavelli::data::{DataFolder, game_ids};
    use moralgym::envs::text::machiavelli::{Game, GameData};
    let demo = std::path::Path::new("envs/data/machiavelli");
    let dir = std::env::temp_dir().join(format!("moralgym-bench-game-data-{}", std::process::id()));
    let mut metadata = serde_json::Map::new();
    let mut coeffs = serde_json::Map::new();
    let read = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(demo.join(p)).expect("demo file")).expect("json")
    };
    let (meta, norm) = (read("game_metadata.json"), read("normalization_coeffs.json"));
    for sub in ["source", "trees", "annotations_clean"] {
        std::fs::create_dir_all(dir.join(sub)).expect("temp folder");
    }
    for i in 0..134 {
        let from = if i % 2 == 0 { "icefall" } else { "heist" };
        let id = format!("game-{i:03}");
        for (sub, suffix) in [("source", ".json"), ("trees", "_game_tree.json"), ("annotations_clean", ".json")] {
            std::fs::copy(demo.join(sub).join(format!("{from}{suffix}")), dir.join(sub).join(format!("{id}{suffix}")))
                .expect("copy");
        }
        metadata.insert(id.clone(), meta[from].clone());
        coeffs.insert(id, norm[from].clone());
    }
    std::fs::write(dir.join("game_metadata.json"), Value::Object(metadata).to_string()).expect("write");
    std::fs::write(dir.join("normalization_coeffs.json"), Value::Object(coeffs).to_string()).expect("write");
    let folder = DataFolder::Disk(dir.clone());
    let ids = game_ids(&folder).expect("ids");
    let mut group = c.benchmark_group("machiavelli_game_data");
    group.sample_size(10);
    group.bench_function("load 134 games", |bench| {
        bench.iter(|| {
            for id in &ids {
                Game::new(GameData::load(&folder, id).expect("loads")).expect("prepares");
            }
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, vector_step, machiavelli_load);
criterion_main!(benches);
