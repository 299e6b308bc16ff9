//! Throughput of the vector layer: one vector step of 64 copies on one thread, random actions,
//! observations written, auto-reset on. Criterion reports elements (env steps) per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moralgym::envs::{Rng, VecEnv};
use serde_json::Value;

const NUM_ENVS: usize = 64;
const BATCHES: usize = 64;

fn vector_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("vector_step_64_envs_1_thread");
    group.throughput(Throughput::Elements(NUM_ENVS as u64));
    for id in [
        "PrisonersDilemma-v0",
        "CoinGame-v1",
        "Cleanup-v1",
        "Harvest-v1",
        "SequentialStagHunt-v1",
        "SequentialSnowdrift-v1",
    ] {
        let mut venv = VecEnv::make(id, &Value::Null, NUM_ENVS, 1).expect("registered env");
        let spec = venv.spec().clone();
        let per = NUM_ENVS * spec.num_agents;
        let mut rng = Rng::new(0);
        let actions: Vec<u32> = (0..BATCHES * per).map(|_| rng.below(spec.num_actions()) as u32).collect();
        venv.reset(0);
        let mut b = 0;
        group.bench_function(id, |bench| {
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
