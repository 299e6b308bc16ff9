//! Criterion benches of moralgym's Z-machine on its own story files: one turn of the library
//! game (a command parsed and answered), a fork, a restore, and fork + turn + restore.
//! `cargo bench -p moralgym-zmachine`.

use criterion::{Criterion, criterion_group, criterion_main};
use moralgym_zmachine::{Machine, Options, Story};

fn lighthouse() -> Machine {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stories/lighthouse.z5");
    let story = Story::new(std::fs::read(path).expect("committed story")).expect("valid");
    let mut m = Machine::new(&story, Options::default());
    m.run().expect("first prompt");
    for c in ["north", "take key", "south", "east"] {
        m.send(c).expect("plays");
    }
    m.clear_output();
    m
}

fn benches(c: &mut Criterion) {
    let base = lighthouse();
    let commands = ["look", "examine chest", "inventory", "open chest", "west", "east", "take coin", "wait"];
    let mut m = base.clone();
    let mut i = 0;
    c.bench_function("turn (lighthouse.z5)", |b| {
        b.iter(|| {
            m.send(commands[i % commands.len()]).expect("plays");
            m.clear_output();
            i += 1;
            if i % 64 == 0 {
                m.restore_from(&base);
            }
        })
    });
    c.bench_function("fork (clone)", |b| b.iter(|| std::hint::black_box(base.clone())));
    let mut scratch = base.clone();
    c.bench_function("restore (restore_from)", |b| b.iter(|| scratch.restore_from(std::hint::black_box(&base))));
    c.bench_function("fork + turn + restore", |b| {
        b.iter(|| {
            scratch.restore_from(&base);
            scratch.send("open chest").expect("plays");
            scratch.clear_output();
        })
    });
}

criterion_group!(zmachine, benches);
criterion_main!(zmachine);
