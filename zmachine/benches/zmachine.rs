//! Criterion benches of moralgym's Z-machine on its own story files: one turn of the library
//! game (a command parsed and answered), a fork, a restore, fork + turn + restore, and a
//! million instructions of a two-instruction loop (the cost of dispatch alone).
//! `cargo bench -p moralgym-zmachine`.

use criterion::{Criterion, criterion_group, criterion_main};
use moralgym_zmachine::{Fault, Machine, Options, Story};

fn story(name: &str) -> Story {
    let path = format!("{}/tests/stories/{name}", env!("CARGO_MANIFEST_DIR"));
    Story::new(std::fs::read(path).expect("committed story")).expect("valid")
}

fn lighthouse() -> Machine {
    let story = story("lighthouse.z5");
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

    let looping = story("loop.z5");
    c.bench_function("1,000,000 instructions (loop.z5)", |b| {
        b.iter(|| {
            let mut m = Machine::new(&looping, Options { budget: 1_000_000, ..Options::default() });
            assert_eq!(m.run().map_err(|e| e.fault), Err(Fault::Budget(1_000_000)));
        })
    });
}

criterion_group!(zmachine, benches);
criterion_main!(zmachine);
