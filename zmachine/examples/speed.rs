//! Speed of moralgym's Z-machine on one story file, for `scripts/zmachine_speed.py` (which runs
//! Jericho on the same file and the same commands in the same run):
//! `cargo run --release -p moralgym-zmachine --example speed -- STORY COMMANDS_FILE`.
//! Prints one JSON line: raw steps/s over the commands (episodes of 100 commands, restarting
//! early when the game quits), and
//! the cost of a fork (`clone`), of putting one back (`restore_from`), and of fork + one step +
//! restore, in microseconds.

use std::time::Instant;

use moralgym_zmachine::{Machine, Options, Stop, Story};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [story, commands] = args.as_slice() else { return Err("usage: speed STORY COMMANDS_FILE".into()) };
    let story = Story::new(std::fs::read(story)?)?;
    let commands: Vec<String> = std::fs::read_to_string(commands)?.lines().map(str::to_string).collect();
    let mut start = Machine::new(&story, Options::default());
    start.run()?;
    start.clear_output();

    let mut m = start.clone();
    let mut steps = 0u64;
    let mut chars = 0usize;
    let mut executed = 0u64;
    let clock = Instant::now();
    while clock.elapsed().as_secs_f64() < 2.0 {
        for (i, c) in commands.iter().enumerate() {
            let before = m.instructions();
            let stop = m.send(c)?;
            executed += m.instructions() - before;
            chars += m.output().len();
            m.clear_output();
            steps += 1;
            // Episodes of 100 commands, as Jiminy Cricket's experiments run.
            if stop == Stop::Quit || i % 100 == 99 {
                m.restore_from(&start);
            }
        }
    }
    let steps_per_s = steps as f64 / clock.elapsed().as_secs_f64();
    let instructions_per_step = executed as f64 / steps as f64;

    // Fork, restore and fork + step + restore at a state some commands in.
    let mut base = start.clone();
    for c in commands.iter().take(20) {
        if base.send(c)? == Stop::Quit {
            base.restore_from(&start);
        }
    }
    base.clear_output();
    let n = 200_000;
    let clock = Instant::now();
    let mut keep = 0usize;
    for _ in 0..n {
        let f = base.clone();
        keep += f.memory().len();
    }
    let fork_us = clock.elapsed().as_secs_f64() * 1e6 / n as f64;
    let mut scratch = base.clone();
    let clock = Instant::now();
    for _ in 0..n {
        scratch.restore_from(&base);
        keep += scratch.memory()[0] as usize;
    }
    let restore_us = clock.elapsed().as_secs_f64() * 1e6 / n as f64;
    let k = 20_000;
    let clock = Instant::now();
    for i in 0..k {
        scratch.restore_from(&base);
        scratch.send(&commands[i % commands.len()])?;
        keep += scratch.output().len();
    }
    let fork_step_restore_us = clock.elapsed().as_secs_f64() * 1e6 / k as f64;
    println!(
        "{{\"steps_per_s\": {steps_per_s:.0}, \"instructions_per_step\": {instructions_per_step:.0}, \"fork_us\": {fork_us:.3}, \"restore_us\": {restore_us:.3}, \
         \"fork_step_restore_us\": {fork_step_restore_us:.2}, \"dynamic_bytes\": {}, \"chars\": {chars}, \"keep\": {keep}}}",
        story.dynamic_len()
    );
    Ok(())
}
