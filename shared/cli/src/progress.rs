//! Progress on stderr: on a terminal, one bar redrawn in place (done/total, share, rate); anywhere
//! else (a pipe, a log, CI), one plain line per report, `wavault: <what> <done>/<total>`, which
//! scripts and the tests read. Progress never names a contact, an id or a key: counts only.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Width of the bar itself, in characters.
const BAR_WIDTH: usize = 30;

/// Where one command's progress goes.
pub struct ProgressBar {
    terminal: bool,
    started: Instant,
}

impl ProgressBar {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    /// Reports `done` of `total` for `what` (e.g. `replay`, `export media`).
    pub fn show(&self, what: &str, done: usize, total: usize) {
        let mut stderr = std::io::stderr().lock();
        // A failed write to stderr has nowhere to be reported; progress is best effort.
        let _ = if self.terminal {
            let seconds = self.started.elapsed().as_secs_f64();
            let line = render(what, done, total, seconds);
            if done >= total {
                writeln!(stderr, "\r{line}")
            } else {
                write!(stderr, "\r{line}").and_then(|()| stderr.flush())
            }
        } else {
            writeln!(stderr, "wavault: {what} {done}/{total}")
        };
    }
}

/// One bar line: `wavault: replay [#########.....] 64% 640/1000 12.5/s`.
fn render(what: &str, done: usize, total: usize, seconds: f64) -> String {
    let share = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    };
    let filled = (share * BAR_WIDTH as f64).round() as usize;
    let rate = if seconds > 0.0 {
        done as f64 / seconds
    } else {
        0.0
    };
    format!(
        "wavault: {what} [{}{}] {:>3.0}% {done}/{total} {rate:.1}/s",
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH - filled),
        share * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_share_done() {
        assert_eq!(
            render("replay", 0, 10, 0.0),
            format!("wavault: replay [{}]   0% 0/10 0.0/s", ".".repeat(30))
        );
        assert_eq!(
            render("replay", 5, 10, 2.0),
            format!(
                "wavault: replay [{}{}]  50% 5/10 2.5/s",
                "#".repeat(15),
                ".".repeat(15)
            )
        );
        assert_eq!(
            render("export media", 3, 3, 1.0),
            format!("wavault: export media [{}] 100% 3/3 3.0/s", "#".repeat(30))
        );
        // Nothing to do is done, not a division by zero.
        assert!(render("replay", 0, 0, 0.0).contains("100% 0/0"));
    }
}
