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

criterion_group!(benches, vector_step);
criterion_main!(benches);
