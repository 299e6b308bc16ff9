//! Speed of moralgym's Z-machine on one story file, for `scripts/zmachine_speed.py` (which runs
//! Jericho on the same file and the same commands in the same run):
//! `cargo run --release -p moralgym-zmachine --example speed -- STORY COMMANDS_FILE`.
//! Prints one JSON line: raw steps/s over the commands (episodes of 100 commands, restarting
//! early when the game quits), and, in microseconds: a new fork (`clone`, all of dynamic memory
//! copied) and putting it back with nothing played (`restore_from`); saving into a fork kept
//! from before a turn, and going back to it after another (`clone_from` either way, which copies
//! the pages the turns wrote); and fork + one step + restore.

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
    // Saving into a kept fork after a turn, and going back to it after another: `clone_from`
    // between a machine and its fork copies the pages either wrote since they were equal. Each
    // is timed alone (less the cost of reading the clock) on the machine that just played.
    let timed = |f: &mut dyn FnMut()| {
        let clock = Instant::now();
        f();
        clock.elapsed().as_secs_f64()
    };
    let rounds = 20_000;
    let clock_s = (0..rounds).map(|_| timed(&mut || {})).sum::<f64>();
    let (mut save_s, mut back_s) = (0.0, 0.0);
    let mut live = base.clone();
    let mut kept = live.clone();
    for i in 0..rounds {
        // A game that ended answers with an error; it is put back below.
        let _ = live.send(&commands[(2 * i) % commands.len()]);
        save_s += timed(&mut || kept.clone_from(&live));
        let _ = live.send(&commands[(2 * i + 1) % commands.len()]);
        back_s += timed(&mut || live.clone_from(&kept));
        if i % 50 == 49 || live.waiting() != Some(Stop::Line) {
            live.restore_from(&base);
        }
        live.clear_output();
    }
    let save_us = (save_s - clock_s).max(0.0) * 1e6 / rounds as f64;
    let back_us = (back_s - clock_s).max(0.0) * 1e6 / rounds as f64;
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
        "{{\"steps_per_s\": {steps_per_s:.0}, \"instructions_per_step\": {instructions_per_step:.0}, \"fork_us\": {fork_us:.3}, \"restore_us\": {restore_us:.3}, \"save_us\": {save_us:.3}, \"back_us\": {back_us:.3}, \
         \"fork_step_restore_us\": {fork_step_restore_us:.2}, \"dynamic_bytes\": {}, \"chars\": {chars}, \"keep\": {keep}}}",
        story.dynamic_len()
    );
    Ok(())
}
