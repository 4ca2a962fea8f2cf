//! A progress line on stderr: count, percent of the total, rate. On a terminal it redraws one
//! line in place a few times a second; elsewhere (a log file, CI) it prints a line every few
//! seconds, so the output stays readable.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Progress {
    label: String,
    started: Instant,
    terminal: bool,
    state: Mutex<State>,
}

struct State {
    total: Option<u64>,
    printed_at: Option<Instant>,
}

impl Progress {
    pub fn new(label: impl Into<String>, total: Option<u64>) -> Self {
        Self {
            label: label.into(),
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            state: Mutex::new(State {
                total,
                printed_at: None,
            }),
        }
    }

    /// The total can grow while a job runs (a log that keeps being appended to).
    pub fn set_total(&self, total: u64) {
        self.state.lock().expect("progress lock").total = Some(total);
    }

    /// Reports `done` units, unless a line was printed very recently.
    pub fn update(&self, done: u64) {
        let interval = if self.terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(2)
        };
        let mut state = self.state.lock().expect("progress lock");
        if state
            .printed_at
            .is_some_and(|printed| printed.elapsed() < interval)
        {
            return;
        }
        state.printed_at = Some(Instant::now());
        let line = self.line(done, state.total);
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(stderr, "\r\x1b[2K{line}")
        } else {
            writeln!(stderr, "{line}")
        };
    }

    /// Prints the label alone, for a step without a count ("building the indexes").
    pub fn announce(&self) {
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(stderr, "\r\x1b[2K{}", self.label)
        } else {
            writeln!(stderr, "{}", self.label)
        };
    }

    /// Ends an [`Progress::announce`]d step with how long it took.
    pub fn finish_phase(&self) {
        let line = format!(
            "{}: {:.2} s",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            writeln!(stderr, "\r\x1b[2K{line}")
        } else {
            writeln!(stderr, "{line}")
        };
    }

    /// Prints the final line.
    pub fn finish(&self, done: u64) {
        let state = self.state.lock().expect("progress lock");
        let line = self.line(done, state.total);
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            writeln!(stderr, "\r\x1b[2K{line}")
        } else {
            writeln!(stderr, "{line}")
        };
    }

    fn line(&self, done: u64, total: Option<u64>) -> String {
        let elapsed = self.started.elapsed();
        let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
        let share = match total {
            Some(total) if total > 0 => format!(
                " / {} ({:.1}%)",
                thousands(total),
                100.0 * done.min(total) as f64 / total as f64
            ),
            _ => String::new(),
        };
        format!(
            "{}: {}{share} events, {} events/s, {:.1} s",
            self.label,
            thousands(done),
            thousands(rate as u64),
            elapsed.as_secs_f64()
        )
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }
}
