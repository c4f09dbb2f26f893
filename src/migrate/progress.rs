//! Migration progress on stderr: a bar (or a counter when the total is not
//! known) on a terminal, one plain line per finished step otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    terminal: bool,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// One kind of record being copied; `total` when known beforehand.
    pub fn step(&self, what: &'static str, total: Option<u64>) -> Step {
        let bar = self.terminal.then(|| {
            let bar = match total {
                Some(n) => ProgressBar::new(n).with_style(
                    ProgressStyle::with_template("{prefix:>13} [{bar:30}] {pos}/{len} {per_sec}")
                        .expect("template")
                        .progress_chars("=> "),
                ),
                None => ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{prefix:>13} {spinner} {pos} {per_sec}")
                        .expect("template"),
                ),
            };
            bar.with_prefix(what)
        });
        Step {
            what,
            bar,
            done: std::cell::Cell::new(0),
            started: std::time::Instant::now(),
        }
    }
}

pub struct Step {
    what: &'static str,
    bar: Option<ProgressBar>,
    done: std::cell::Cell<u64>,
    started: std::time::Instant,
}

impl Step {
    pub fn inc(&self, n: u64) {
        self.done.set(self.done.get() + n);
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub fn finish(&self) {
        match &self.bar {
            Some(b) => b.finish(),
            None => eprintln!(
                "{}: {} read in {:.1} s",
                self.what,
                self.done.get(),
                self.started.elapsed().as_secs_f64()
            ),
        }
    }
}
