//! Progress of long work on stderr (training updates, sweep points, report rows, random
//! baselines): one line rewritten in place, with elapsed and estimated time left. Shown only when
//! stderr is a terminal and the command is not `--quiet`, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::time::Instant;

/// A progress line for `total` steps of work.
pub struct Progress {
    shown: bool,
    start: Instant,
    total: usize,
    what: String,
}

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 { format!("{}h{:02}m", s / 3600, s / 60 % 60) } else { format!("{}m{:02}s", s / 60, s % 60) }
}

impl Progress {
    /// A line for `what` (e.g. "sweep point"), hidden when `quiet` or stderr is no terminal.
    pub fn new(what: &str, total: usize, quiet: bool) -> Self {
        Self { shown: !quiet && std::io::stderr().is_terminal(), start: Instant::now(), total, what: what.into() }
    }

    /// Whether the line is shown.
    pub fn shown(&self) -> bool {
        self.shown
    }

    /// Shows that `done` of the steps are done, with `detail` after the times.
    pub fn tick(&self, done: usize, detail: &str) {
        if !self.shown {
            return;
        }
        let elapsed = self.start.elapsed().as_secs_f64();
        let left = if done > 0 { elapsed / done as f64 * self.total.saturating_sub(done) as f64 } else { 0.0 };
        eprint!(
            "\r[{} {done}/{}] {} elapsed, ~{} left | {detail}\x1b[K",
            self.what,
            self.total,
            clock(elapsed),
            clock(left)
        );
    }

    /// Ends the line.
    pub fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_minutes_and_hours() {
        assert_eq!(clock(75.4), "1m15s");
        assert_eq!(clock(3_725.0), "1h02m");
        assert_eq!(clock(-3.0), "0m00s");
    }
}
