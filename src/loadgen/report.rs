//! What every scenario prints: a progress bar while it runs, then a report
//! of `key: value` lines (stable keys, so scripts and tests can read them).

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Errors by type: an HTTP error `type` such as `session_not_found`, a
/// status, or a transport failure.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    by_type: BTreeMap<String, u64>,
}

impl Errors {
    /// Counts one error of `kind`.
    pub fn add(&mut self, kind: impl Into<String>) {
        *self.by_type.entry(kind.into()).or_default() += 1;
    }

    /// Counts `n` errors of `kind` (nothing when `n` is 0).
    pub fn by_count_add(&mut self, kind: &str, n: u64) {
        if n > 0 {
            *self.by_type.entry(kind.to_owned()).or_default() += n;
        }
    }

    /// Adds every error of `other`.
    pub fn merge(&mut self, other: &Errors) {
        for (k, n) in &other.by_type {
            *self.by_type.entry(k.clone()).or_default() += n;
        }
    }

    /// Total errors.
    pub fn total(&self) -> u64 {
        self.by_type.values().sum()
    }

    /// `type × n, …`, or `none`.
    pub fn summary(&self) -> String {
        if self.by_type.is_empty() {
            return "none".into();
        }
        self.by_type
            .iter()
            .map(|(k, n)| format!("{k} × {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The final report of a scenario.
#[derive(Debug, Default)]
pub struct Report {
    title: String,
    lines: Vec<(String, String)>,
}

impl Report {
    /// An empty report titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            title: title.into(),
            lines: Vec::new(),
        }
    }

    /// Adds a `key: value` line.
    pub fn line(&mut self, key: &str, value: impl std::fmt::Display) {
        self.lines.push((key.to_owned(), value.to_string()));
    }

    /// Adds `key: ours (ratio of ceiling)`, or just `ours` without a ceiling.
    pub fn ratio(&mut self, key: &str, ours: f64, ceiling: Option<f64>, unit: &str) {
        match ceiling {
            Some(c) if c > 0.0 => self.line(
                key,
                format!(
                    "{ours:.0} {unit} = {:.2} × ceiling ({c:.0} {unit})",
                    ours / c
                ),
            ),
            _ => self.line(key, format!("{ours:.0} {unit}")),
        }
    }

    /// Prints the report to stdout.
    pub fn print(&self) {
        let width = self.lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        println!("== {}", self.title);
        for (k, v) in &self.lines {
            println!("{k:<width$}: {v}");
        }
    }
}

/// A progress bar over `seconds` of running time, on stderr (hidden when
/// stderr is not a terminal).
pub fn progress(label: &str, seconds: f64) -> ProgressBar {
    let bar = ProgressBar::new((seconds * 10.0).ceil() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {elapsed:>4} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Moves `bar` along with the time since `start`, until aborted.
pub fn follow_clock(bar: &ProgressBar, start: std::time::Instant) -> tokio::task::JoinHandle<()> {
    let bar = bar.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            bar.set_position((start.elapsed().as_secs_f64() * 10.0) as u64);
        }
    })
}

/// Rate per second of `n` over `elapsed`.
pub fn per_second(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}
