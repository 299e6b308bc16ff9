//! moralgym's own Inform 6 programs (tests/stories/*.inf, compiled and committed) played on the
//! interpreter: every opcode group of each version, a small game with the Inform library's
//! parser, forks, saves, undo, the instruction budget and the status line.

use moralgym_zmachine::{Fault, Machine, Options, Stop, Story};

fn story(name: &str) -> Story {
    let path = format!("{}/tests/stories/{name}", env!("CARGO_MANIFEST_DIR"));
    Story::new(std::fs::read(&path).expect("committed story file")).expect("valid story")
}

/// Plays `commands` from the start; returns everything printed and the last stop.
fn play(m: &mut Machine, commands: &[&str]) -> (String, Stop) {
    let mut stop = m.run().expect("runs to the first prompt");
    let mut text = m.take_output();
    for c in commands {
        if stop == Stop::Quit {
            break;
        }
        stop = m.send(c).expect("runs to the next prompt");
        text.push_str(&m.take_output());
    }
    (text, stop)
}

/// frotz's generator, written out again here: seed, then A = 0x015a4e35 A + 1.
fn frotz_draws(seed: u64, range: u64, n: usize) -> Vec<u64> {
    let mut a = seed;
    (0..n)
        .map(|_| {
            a = a.wrapping_mul(0x015a_4e35).wrapping_add(1);
            ((a >> 16) & 0x7fff) % range + 1
        })
        .collect()
}

#[test]
fn opcode_programs_pass_every_check_in_every_version() {
    let seeded = frotz_draws(1234, 1000, 3).iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
    for (version, checks) in [(3, 85), (4, 93), (5, 118), (8, 118)] {
        let s = story(&format!("opcodes.z{version}"));
        assert_eq!(s.version(), version);
        let mut m = Machine::new(&s, Options::default());
        let stop = m.run().unwrap();
        assert_eq!(stop, Stop::Line, "v{version} waits for its command");
        let before = m.take_output();
        // What the run printed to the upper window, in order (the program's marker text).
        assert!(m.upper_output().contains(if version == 3 { "UPPER" } else { "STATUS" }), "{:?}", m.upper_output());
        if version == 3 {
            let status = m.status_line();
            assert!(status.starts_with("Test Room "), "v3 status line: {status:?}");
            assert!(status.ends_with("Score: 12  Moves: 34"), "v3 status line: {status:?}");
            assert_eq!(m.upper_window(), "UPPER");
        } else {
            assert_eq!(m.status_line(), "    STATUS", "v{version} upper window");
        }
        let mut stop = m.send("Take the LANTERN, now").unwrap();
        if version >= 4 {
            assert_eq!(stop, Stop::Char);
            stop = m.send("q").unwrap();
        }
        assert_eq!(stop, Stop::Quit);
        let text = before + &m.take_output();
        assert!(!text.contains("FAIL"), "v{version}:\n{text}");
        assert!(text.contains(&format!("passed {checks}, failed 0")), "v{version}:\n{text}");
        let word = if version == 3 { "lanter" } else { "lantern" };
        assert!(text.contains(&format!("text: packed {word} -12345!\n")), "v{version}:\n{text}");
        assert!(text.contains("objects: box, red ball\n"), "{text}");
        assert!(text.contains(&format!("seeded: {seeded}\n")), "v{version}:\n{text}");
        if version >= 5 {
            assert!(text.contains("table: ab\ncd\n"), "{text}");
            assert!(text.contains("unicode: éα\n"), "{text}");
        }
        // The command typed is not echoed into the game's text.
        assert!(!text.contains("LANTERN"), "{text}");
    }
}

const WALKTHROUGH: [&str; 11] = [
    "north",
    "take key",
    "south",
    "east",
    "unlock chest with key",
    "open chest",
    "take coin",
    "west",
    "north",
    "up",
    "light lamp",
];

#[test]
fn library_game_is_won_with_full_score() {
    for file in ["lighthouse.z5", "lighthouse.z8"] {
        let mut m = Machine::new(&story(file), Options::default());
        let (text, stop) = play(&mut m, &WALKTHROUGH);
        assert_eq!(stop, Stop::Line, "{file}: the end prompt waits");
        assert!(text.contains("*** You have won ***"), "{file}:\n{text}");
        assert!(text.contains("you scored 50 out of a possible 50, in 11 turns"), "{file}:\n{text}");
        assert!(m.status_line().contains("Score: 50"), "{file}: {}", m.status_line());
    }
}

#[test]
fn forks_are_independent_and_restore_exactly() {
    let mut m = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut m, &WALKTHROUGH[..4]);
    let fork = m.clone();
    m.send("unlock chest with key").unwrap();
    m.send("open chest").unwrap();
    let after_open = m.take_output();
    assert!(after_open.contains("You open the sea chest"), "{after_open}");
    let mut other = fork.clone();
    other.send("open chest").unwrap();
    assert!(other.take_output().contains("locked"), "the fork did not see the unlock");
    m.restore_from(&fork);
    m.send("unlock chest with key").unwrap();
    m.send("open chest").unwrap();
    assert_eq!(m.take_output(), after_open, "replaying from the fork prints the same");
    assert_eq!(m.memory(), {
        let mut again = fork.clone();
        again.send("unlock chest with key").unwrap();
        again.send("open chest").unwrap();
        again.memory().to_vec()
    });
}

#[test]
fn game_save_restore_and_undo_work_through_the_library() {
    let mut m = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut m, &["north", "take key", "save"]);
    assert_eq!(m.saves(), 1);
    let quetzal = m.saved_game().unwrap().to_vec();
    assert_eq!(&quetzal[..4], b"FORM");
    assert_eq!(&quetzal[8..12], b"IFZS");
    m.send("drop key").unwrap();
    m.send("restore").unwrap();
    let text = m.take_output();
    assert!(text.contains("Ok."), "{text}");
    m.send("inventory").unwrap();
    assert!(m.take_output().contains("brass key"), "restored game holds the key");

    // A fresh machine restores the file (as `play` does from disk).
    let mut fresh = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut fresh, &[]);
    fresh.set_saved_game(quetzal.clone());
    fresh.send("restore").unwrap();
    fresh.send("inventory").unwrap();
    assert!(fresh.take_output().contains("brass key"));

    // A damaged or foreign file is refused by the game, which plays on.
    let mut damaged = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut damaged, &[]);
    for bad in [quetzal[..20].to_vec(), b"not a save".to_vec(), {
        let mut other = quetzal.clone();
        other[21] ^= 0xff; // a serial-number byte inside IFhd
        other
    }] {
        damaged.set_saved_game(bad);
        damaged.send("restore").unwrap();
        let text = damaged.take_output();
        assert!(text.contains("Restore failed") || text.contains("failed"), "{text}");
    }
    damaged.send("north").unwrap();
    assert!(damaged.take_output().contains("Inside the Lighthouse"));

    let mut u = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut u, &["north", "take key"]);
    u.send("undo").unwrap();
    let text = u.take_output();
    assert!(text.contains("Inside the Lighthouse"), "{text}");
    u.send("inventory").unwrap();
    assert!(u.take_output().contains("carrying nothing"), "undo put the key back");
}

#[test]
fn same_seed_same_game_and_budget_stops_a_runaway() {
    let s = story("opcodes.z5");
    let run = |seed| {
        let mut m = Machine::new(&s, Options { seed, ..Options::default() });
        play(&mut m, &["take the lantern", "q"]).0
    };
    assert_eq!(run(7), run(7));

    let looping = story("loop.z5");
    let mut m = Machine::new(&looping, Options { budget: 100_000, ..Options::default() });
    let err = m.run().unwrap_err();
    assert_eq!(err.fault, Fault::Budget(100_000));
    assert_eq!(m.take_output(), "looping\n");
    // The machine stays consistent: it can be run on (and stopped again).
    assert_eq!(m.run().unwrap_err().fault, Fault::Budget(100_000));
    assert_eq!(m.instructions(), 200_000);
}

#[test]
fn a_runaway_recursion_or_push_stops_at_the_stack_limits() {
    let s = story("deep.z5");
    // Key `r` recurses for ever, any other pushes for ever; global 0 counts the calls entered.
    let run = |options: Options, key: &str| {
        let mut m = Machine::new(&s, options);
        assert_eq!(m.run().unwrap(), Stop::Char);
        let fault = m.send(key).unwrap_err().fault;
        (fault, m.global(0).unwrap(), m.instructions())
    };
    let (fault, depth, long) = run(Options::default(), "r");
    assert_eq!((fault, depth), (Fault::StackOverflow(4_096), 4_094));
    // 257 frames: the machine's first (frotz keeps none for it) and 256 calls (Main and 255 of
    // Deeper), the most frotz's stack of 1,024 words can hold, at 4 words a frame and no locals.
    let (fault, depth, short) = run(Options::default().frotz_stack(), "r");
    assert_eq!((fault, depth), (Fault::StackOverflow(257), 255));
    assert!(short * 10 < long, "{short} instructions at 257 frames, {long} at 4,096");
    assert_eq!(run(Options::default(), "p").0, Fault::StackOverflow(32_768));
    assert_eq!(run(Options::default().frotz_stack(), "p").0, Fault::StackOverflow(1_024));
}

#[test]
fn reading_the_world() {
    let mut m = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut m, &["north"]);
    let n = m.object_count();
    assert!(n > 10, "{n} objects");
    let key = (1..=n).find(|&o| m.object(o).is_some_and(|ob| ob.name == "brass key")).expect("the key");
    let room = m.object(key).unwrap().parent;
    assert_eq!(m.object(room).unwrap().name, "Inside the Lighthouse");
    m.send("take key").unwrap();
    let holder = m.object(key).unwrap().parent;
    assert_ne!(holder, room, "taken: the key moved");
    assert!(m.object(n + 1).is_none());
    assert!(m.object(0).is_none());
    let words: Vec<String> = m.dictionary().into_iter().map(|(w, _, _)| w).collect();
    for w in ["brass", "chest", "lamp", "north"] {
        assert!(words.iter().any(|x| x == w), "{w} in the dictionary");
    }
    assert!(m.property(key, 1).is_some() || m.property(key, 2).is_some());
    assert!(!m.attribute(0, 0));
    // The library keeps the score in a global; there are 240 of them.
    assert!((0..240).any(|g| m.global(g) == Some(10)), "the score, 10 after taking the key");
    assert_eq!(m.global(240), None);
    assert_eq!(m.global(255), None);
}

#[test]
fn the_object_table_shows_what_a_command_moved() {
    let mut m = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut m, &["north"]);
    let before = m.object_entries().to_vec();
    assert_eq!(before.len(), 14 * usize::from(m.object_count()), "v5 entries are 14 bytes");
    let mut fork = m.clone();
    fork.send("take key").unwrap();
    let changed: Vec<usize> = (0..before.len() / 14)
        .filter(|&k| before[k * 14..][..14] != fork.object_entries()[k * 14..][..14])
        .map(|k| k + 1)
        .collect();
    let key = (1..=m.object_count()).find(|&o| m.object(o).is_some_and(|ob| ob.name == "brass key")).unwrap();
    assert!(changed.contains(&usize::from(key)), "the key's entry changed: {changed:?}");
    assert_eq!(m.object_entries(), &before[..], "the original is untouched");
}

/// Every attribute the game sets or clears is noted while asked, whether or not the write
/// changed it; a fork takes the notes with it, and stopping forgets them.
#[test]
fn attribute_writes_are_noted_while_asked() {
    let mut m = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut m, &["north"]);
    let key = (1..=m.object_count()).find(|&o| m.object(o).is_some_and(|ob| ob.name == "brass key")).unwrap();
    m.send("xqzjv").unwrap();
    assert!(m.attribute_writes().is_empty(), "nothing noted unless asked");
    m.log_attribute_writes(true);
    m.send("take key").unwrap();
    let writes = m.attribute_writes().to_vec();
    assert!(!writes.is_empty(), "the library marks the key moved when first taken");
    assert!(writes.iter().all(|&(o, a, on)| o == key && on && m.attribute(o, a)), "{writes:?}");
    let mut fork = m.clone();
    assert_eq!(fork.attribute_writes(), &writes[..], "a fork takes the notes with it");
    fork.send("xqzjv").unwrap();
    assert_eq!(fork.attribute_writes(), &writes[..], "a line the parser cannot read writes none here");
    let a = writes[0].1;
    let entry = |m: &Machine| m.object_entries()[usize::from(key - 1) * 14..][..14].to_vec();
    let before = entry(&fork);
    assert!(fork.set_attribute(key, a, true));
    assert_eq!(entry(&fork), before);
    assert_eq!(fork.attribute_writes().last(), Some(&(key, a, true)), "noted though it changed nothing");
    assert!(fork.set_attribute(key, a, false) && !fork.attribute(key, a));
    assert!(m.attribute(key, a), "the original keeps it");
    assert!(!fork.set_attribute(0, a, true) && !fork.set_attribute(fork.object_count() + 1, a, true));
    assert!(!fork.set_attribute(key, 48, true), "v5 has 48 attributes");
    m.log_attribute_writes(false);
    assert!(m.attribute_writes().is_empty(), "stopping forgets them");
    m.send("drop key").unwrap();
    assert!(m.attribute_writes().is_empty());
}

/// `save_undo` states that no machine holds any more are filled again by later saves (see
/// `machine::release`): undoing after many turns of saving into a kept fork and going back to it
/// gives what undoing gives on a machine that only played.
#[test]
fn undo_states_filled_again_undo_as_new_ones() {
    let walk = ["north", "take key", "south", "east", "open chest", "unlock chest with key", "open chest"];
    let mut plain = Machine::new(&story("lighthouse.z5"), Options::default());
    play(&mut plain, &[]);
    let mut live = plain.clone();
    let mut kept = live.clone();
    for (k, c) in walk.iter().cycle().take(40).enumerate() {
        plain.send(c).unwrap();
        live.send(c).unwrap();
        kept.clone_from(&live);
        if k % 3 == 0 {
            // A turn played and taken back: its state for undo is let go.
            live.send("west").unwrap();
            live.clone_from(&kept);
        }
    }
    for _ in 0..3 {
        plain.send("undo").unwrap();
        live.send("undo").unwrap();
        assert_eq!(live.memory(), plain.memory());
        assert_eq!(live.take_output(), plain.take_output());
    }
}

/// A routine called on a fork that asks the player a question or quits stops with an error at
/// the instruction that stopped it, and the fork waits for its command as before.
#[test]
fn a_routine_that_stops_for_input_says_so() {
    let mut m = Machine::new(&story("pronoun.z3"), Options::default());
    m.run().unwrap();
    let (asker, leaver) = (m.global(0).unwrap(), m.global(1).unwrap());
    let err = m.call_routine(asker, &[], 1000).unwrap_err();
    assert_eq!(err.fault, Fault::Stopped(Stop::Line));
    assert_eq!(m.read_byte(err.pc), Some(0xe4), "at the read (VAR:4)");
    assert!(m.take_output().ends_with("Really? "));
    assert_eq!(m.waiting(), Some(Stop::Line), "the fork waits as before");
    let err = m.call_routine(leaver, &[], 1000).unwrap_err();
    assert_eq!(err.fault, Fault::Stopped(Stop::Quit));
    assert_eq!(m.read_byte(err.pc), Some(0xba), "at the quit (0OP:10)");
    assert_eq!(m.waiting(), Some(Stop::Line));
    assert_eq!(m.send("rub").unwrap(), Stop::Line, "the fork plays on");
    assert!(m.take_output().contains("The mark comes off."));
}

/// The Jiminy Cricket test game (games/jiminy) keeps two routines in globals 3 and 4: `Double`
/// (returns its argument times 2) and `ScoreTwice` (returns global 1, the score, times 2).
#[test]
fn a_routine_is_called_on_a_fork_and_what_it_reads_is_noted() {
    let path = format!("{}/../games/jiminy/annotated_games/moraltest/moraltest.z3", env!("CARGO_MANIFEST_DIR"));
    let s = Story::new(std::fs::read(path).unwrap()).unwrap();
    let mut m = Machine::new(&s, Options::default());
    assert!(m.call_routine(1, &[], 1000).is_err(), "not waiting for input yet");
    m.run().unwrap();
    m.send("steal").unwrap();
    let (double, twice) = (m.global(3).unwrap(), m.global(4).unwrap());
    assert_eq!(m.call_routine(double, &[21], 1000).unwrap(), 42);
    let score = 16 + 1;
    m.watch_reads(&[score]);
    m.call_routine(double, &[1], 1000).unwrap();
    assert!(!m.was_read(score), "Double never reads the score");
    assert_eq!(m.call_routine(twice, &[], 1000).unwrap(), 10);
    assert!(m.was_read(score), "ScoreTwice does");
    m.watch_reads(&[]);
    assert!(!m.was_read(score));
    assert!(m.set_global(1, 7));
    assert_eq!(m.call_routine(twice, &[], 1000).unwrap(), 14);
    assert!(!m.set_global(240, 1));
    let e = m.call_routine(twice, &[], 1).unwrap_err();
    assert!(matches!(e.fault, moralgym_zmachine::Fault::Budget(1)), "{e}");
    // The machine still waits for the next command and plays on.
    assert_eq!(m.waiting(), Some(Stop::Line));
    m.take_output();
    m.send("help").unwrap();
    let out = m.take_output();
    assert!(out.contains("You help the old man"), "{out}");
    // A budget for turns, set on a fork.
    let mut fork = m.clone();
    fork.set_budget(3);
    assert!(matches!(fork.send("kick").unwrap_err().fault, moralgym_zmachine::Fault::Budget(3)));
}

#[test]
fn the_write_count_moves_with_every_write_and_not_with_a_copy() {
    let s = story("lighthouse.z5");
    let mut m = Machine::new(&s, Options::default());
    m.run().unwrap();
    let fork = m.clone();
    let before = m.memory_writes();
    assert_eq!(m.call_routine(0, &[], 100).unwrap(), 0, "calling nothing");
    assert_eq!(m.memory_writes(), before, "nothing written");
    assert!(m.set_global(20, m.global(20).unwrap() ^ 1));
    assert_eq!(m.memory_writes(), before + 1);
    m.send("look").unwrap();
    let after = m.memory_writes();
    assert!(after > before + 1, "a turn writes");
    m.restore_from(&fork);
    assert_eq!(m.memory_writes(), after, "a copy is not counted");
}

/// A fork that a question left as it was is in its machine's state; one where a routine wrote,
/// printed or played is not. The globals the question set are left out when asked.
#[test]
fn a_fork_tells_whether_a_question_left_anything_behind() {
    let path = format!("{}/../games/jiminy/annotated_games/moraltest/moraltest.z3", env!("CARGO_MANIFEST_DIR"));
    let s = Story::new(std::fs::read(path).unwrap()).unwrap();
    let mut m = Machine::new(&s, Options::default());
    m.run().unwrap();
    let double = m.global(3).unwrap();
    let mut fork = m.clone();
    assert!(fork.same_state_except(&m, &[]));
    fork.set_global(5, fork.global(5).unwrap() ^ 1);
    assert!(!fork.same_state_except(&m, &[]), "a global differs");
    assert!(!fork.same_state_except(&m, &[6]), "not the one left out");
    assert!(fork.same_state_except(&m, &[6, 5]));
    assert_eq!(fork.call_routine(double, &[4], 1000).unwrap(), 8);
    assert!(fork.same_state_except(&m, &[5]), "Double changes nothing");
    fork.send("help").unwrap();
    assert!(!fork.same_state_except(&m, &[5]), "a turn changes the world and prints");
    let mut fork = m.clone();
    fork.send("kick").unwrap();
    assert!(!fork.same_state_except(&m, &[]));
    fork.restore_from(&m);
    assert!(fork.same_state_except(&m, &[]), "back where it was");
}

#[test]
fn malformed_story_files_are_typed_errors() {
    use moralgym_zmachine::StoryError;
    assert_eq!(Story::new(vec![3; 10]).unwrap_err(), StoryError::TooShort(10));
    let mut bytes = std::fs::read(format!("{}/tests/stories/opcodes.z5", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let good = bytes.clone();
    bytes[0] = 6;
    assert_eq!(Story::new(bytes.clone()).unwrap_err(), StoryError::Version(6));
    bytes = good.clone();
    bytes[0x0e] = 0xff; // static memory base past the end of the file
    assert!(matches!(Story::new(bytes).unwrap_err(), StoryError::Header { field: "static memory base", .. }));
    let mut bytes = good.clone();
    bytes[0x0c] = 0xff; // globals outside dynamic memory
    assert!(matches!(Story::new(bytes).unwrap_err(), StoryError::Header { field: "global variables", .. }));
    assert!(Story::new(vec![0u8; 600 * 1024]).is_err());
}

#[test]
fn input_when_not_waiting_is_an_error() {
    let mut m = Machine::new(&story("opcodes.z5"), Options::default());
    assert_eq!(m.send("hello").unwrap_err().fault, Fault::NotWaiting);
    play(&mut m, &["take the lantern", "q"]);
    assert_eq!(m.waiting(), Some(Stop::Quit));
    assert_eq!(m.send("more").unwrap_err().fault, Fault::Halted);
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Random bytes past the header of a real story: loading and playing them is a
        /// typed error or a game, never a panic, and never more than the budget.
        #[test]
        fn damaged_stories_never_panic(
            file in prop::sample::select(vec!["opcodes.z3", "opcodes.z4", "opcodes.z5", "opcodes.z8", "lighthouse.z5"]),
            edits in prop::collection::vec((64usize..1 << 16, any::<u8>()), 1..40),
            commands in prop::collection::vec("[ -~]{0,20}", 0..4),
        ) {
            let mut bytes = std::fs::read(format!("{}/tests/stories/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            for (at, b) in edits {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            if let Ok(s) = Story::new(bytes) {
                let mut m = Machine::new(&s, Options { budget: 200_000, ..Options::default() });
                let _ = m.run();
                for c in &commands {
                    let _ = m.send(c);
                }
                let _ = (m.status_line(), m.dictionary(), m.object(1));
            }
        }

        /// Machines forked from each other, played on and copied into one another in any order
        /// (a fork put back, a saved state brought up to date, which copy only the pages either
        /// machine wrote since they were equal): the copy always holds exactly its source's
        /// memory, and plays on as its source does; and `memory_differs` and `differing_parts`
        /// tell where two of them differ.
        #[test]
        fn going_back_to_any_fork_restores_exactly(
            ops in prop::collection::vec((0usize..3, 0usize..3, 0u8..3, prop::sample::select(WALKTHROUGH.to_vec())), 1..30),
        ) {
            let mut start = Machine::new(&story("lighthouse.z5"), Options::default());
            start.run().unwrap();
            let mut pool = [start.clone(), start.clone(), start];
            for (i, j, what, command) in ops {
                match what {
                    0 => {
                        let _ = pool[i].send(command);
                        pool[i].take_output();
                    }
                    1 => pool[j] = pool[i].clone(),
                    _ if i != j => {
                        let (low, high) = pool.split_at_mut(i.max(j));
                        let (source, target) = if i < j { (&low[i], &mut high[0]) } else { (&high[0], &mut low[j]) };
                        target.restore_from(source);
                        prop_assert_eq!(target.memory(), source.memory());
                        let (mut a, mut b) = (target.clone(), source.clone());
                        let _ = (a.send("look"), b.send("look"));
                        prop_assert_eq!(a.take_output(), b.take_output());
                        prop_assert_eq!(a.memory(), b.memory());
                    }
                    _ => {}
                }
                // Where two machines differ, as the page records tell it, is where they differ.
                for (a, b) in [(0, 1), (1, 2), (2, 0), (1, 0)] {
                    let (x, y) = (&pool[a], &pool[b]);
                    let whole = 0..x.memory().len();
                    prop_assert_eq!(x.memory_differs(y, whole.clone()), x.memory() != y.memory());
                    let g = usize::from(u16::from_be_bytes([x.memory()[0x0c], x.memory()[0x0d]]));
                    let globals = g..g + 480;
                    prop_assert_eq!(x.memory_differs(y, globals.clone()), x.memory()[globals.clone()] != y.memory()[globals]);
                    // The parts listed hold every byte that differs, in order.
                    let parts: Vec<_> = x.differing_parts(y, whole.clone()).collect();
                    prop_assert!(parts.windows(2).all(|w| w[0].end <= w[1].start), "{:?}", parts);
                    for k in whole.filter(|&k| x.memory()[k] != y.memory()[k]) {
                        prop_assert!(parts.iter().any(|p| p.contains(&k)), "byte {} in none of {:?}", k, parts);
                    }
                }
            }
        }

        /// Random headers: never a panic.
        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096), version in prop::sample::select(vec![3u8, 4, 5, 8])) {
            let mut bytes = bytes;
            if let Some(b) = bytes.first_mut() {
                *b = version;
            }
            if let Ok(s) = Story::new(bytes) {
                let mut m = Machine::new(&s, Options { budget: 100_000, ..Options::default() });
                let _ = m.run();
                let _ = m.send("look");
            }
        }

        /// Random commands to the library game: always an answer and a prompt.
        #[test]
        fn random_commands_get_answers(commands in prop::collection::vec("[a-zA-Z ,.'\"0-9éß-]{0,40}", 1..12)) {
            let mut m = Machine::new(&story("lighthouse.z5"), Options::default());
            m.run().unwrap();
            for c in &commands {
                if m.waiting() == Some(Stop::Quit) {
                    // A game that quit answers nothing more: a typed error, not a panic.
                    prop_assert_eq!(m.send(c).unwrap_err().fault, Fault::Halted);
                    break;
                }
                let stop = m.send(c).unwrap();
                prop_assert!(stop == Stop::Line || stop == Stop::Char || stop == Stop::Quit);
            }
        }
    }
}

#[test]
fn machines_on_many_threads_share_the_decoded_story_and_play_alike() {
    // Every thread starts on the same fresh story at once, so they decode its instructions
    // together, racing for the shared cache; each must play as a machine alone does.
    let commands = ["north", "take key", "inventory", "south", "look", "north", "drop key", "up"];
    let alone = play(&mut Machine::new(&story("lighthouse.z5"), Options::default()), &commands);
    let shared = story("lighthouse.z5");
    let played: Vec<(String, Stop)> = std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..4).map(|_| s.spawn(|| play(&mut Machine::new(&shared, Options::default()), &commands))).collect();
        handles.into_iter().map(|h| h.join().expect("no panic")).collect()
    });
    for p in played {
        assert_eq!(p, alone);
    }
}
