//! Progress of long work on stderr (training updates, sweep points, report rows, random
//! baselines), with elapsed and estimated time left, unless the command is `--quiet`. On a
//! terminal one line is rewritten in place; in a pipe or a log a plain line is written at most
//! every [`PIPE_INTERVAL_S`] seconds, so a long run is never silent and a short one adds nothing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Seconds between two progress lines when stderr is not a terminal.
pub const PIPE_INTERVAL_S: f64 = 10.0;

/// A progress line for `total` steps of work.
pub struct Progress {
    shown: bool,
    terminal: bool,
    start: Instant,
    /// Milliseconds after `start` of the last line written to a pipe (ticks may come from
    /// several threads, as a sweep's points do).
    last_ms: AtomicU64,
    total: usize,
    what: String,
}

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 { format!("{}h{:02}m", s / 3600, s / 60 % 60) } else { format!("{}m{:02}s", s / 60, s % 60) }
}

impl Progress {
    /// A line for `what` (e.g. "sweep point"), hidden when `quiet`.
    pub fn new(what: &str, total: usize, quiet: bool) -> Self {
        Self {
            shown: !quiet,
            terminal: std::io::stderr().is_terminal(),
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            total,
            what: what.into(),
        }
    }

    /// Shows that `done` of the steps are done, with `detail` after the times.
    pub fn tick(&self, done: usize, detail: &str) {
        match self.line(done, detail) {
            Some(line) if self.terminal => eprint!("\r{line}\x1b[K"),
            Some(line) => eprintln!("{line}"),
            None => {}
        }
    }

    /// The line to write now, if one is due (always on a terminal; in a pipe, once every
    /// [`PIPE_INTERVAL_S`] seconds).
    fn line(&self, done: usize, detail: &str) -> Option<String> {
        if !self.shown {
            return None;
        }
        let elapsed = self.start.elapsed().as_secs_f64();
        let ms = (elapsed * 1000.0) as u64;
        if !self.terminal {
            let interval = (PIPE_INTERVAL_S * 1000.0) as u64;
            if ms.saturating_sub(self.last_ms.load(Ordering::Relaxed)) < interval {
                return None;
            }
            self.last_ms.store(ms, Ordering::Relaxed);
        }
        let left = if done > 0 { elapsed / done as f64 * self.total.saturating_sub(done) as f64 } else { 0.0 };
        Some(format!(
            "[{} {done}/{}] {} elapsed, ~{} left | {detail}",
            self.what,
            self.total,
            clock(elapsed),
            clock(left)
        ))
    }

    /// Ends the line.
    pub fn finish(&self) {
        if self.shown && self.terminal {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_gets_a_line_every_interval_and_quiet_gets_none() {
        let started = |ago: f64, terminal: bool, quiet: bool| Progress {
            shown: !quiet,
            terminal,
            start: Instant::now() - std::time::Duration::from_secs_f64(ago),
            last_ms: AtomicU64::new(0),
            total: 10,
            what: "update".into(),
        };
        let pipe = started(1.0, false, false);
        assert_eq!(pipe.line(1, "x"), None, "nothing in the first interval");
        let pipe = started(PIPE_INTERVAL_S + 1.0, false, false);
        let line = pipe.line(5, "detail").expect("due");
        assert!(line.starts_with("[update 5/10] 0m11s elapsed, ~0m11s left | detail"), "{line}");
        assert_eq!(pipe.line(6, "x"), None, "not again until the next interval");
        assert!(started(0.0, true, false).line(1, "x").is_some(), "a terminal sees every tick");
        assert_eq!(started(PIPE_INTERVAL_S + 1.0, false, true).line(1, "x"), None, "--quiet");
    }

    #[test]
    fn clock_reads_minutes_and_hours() {
        assert_eq!(clock(75.4), "1m15s");
        assert_eq!(clock(3_725.0), "1h02m");
        assert_eq!(clock(-3.0), "0m00s");
    }
}
