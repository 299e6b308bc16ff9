//! Validating a game: parsing and checking a generated TOML story, and compiling its ChoiceScript
//! conversion, at 1,000, 10,000 and 100,000 scenes. Criterion reports scenes per second, so a
//! linear check shows the same rate at every size.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moralgym::envs::text::Story;
use moralgym::envs::text::choicescript::Game;
use moralgym::envs::text::convert::to_choicescript;
use moralgym::envs::text::generator::{GenerateConfig, generate};

fn check(c: &mut Criterion) {
    let mut group = c.benchmark_group("story_check");
    group.sample_size(10);
    for scenes in [1_000, 10_000, 100_000] {
        let text = generate(&GenerateConfig { seed: 0, scenes, tradeoff: 0.5 }).expect("generates");
        let story = Story::parse(&text).expect("valid");
        let cs = to_choicescript(&story).expect("converts");
        group.throughput(Throughput::Elements(scenes as u64));
        group.bench_function(format!("toml_{scenes}_scenes"), |b| b.iter(|| Story::parse(&text).expect("valid")));
        group.bench_function(format!("choicescript_{scenes}_scenes"), |b| {
            b.iter(|| Game::from_files(&cs.scenes, Some(&cs.sidecar)).expect("valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
