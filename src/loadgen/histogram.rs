//! Latency recording: an HDR histogram in microseconds, cheap to record
//! into from one task and merged across tasks at the end.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency recorded exactly; longer ones are clamped to it.
const MAX_MICROS: u64 = 120_000_000;

/// Latencies of one kind of operation.
#[derive(Clone)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            hist: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds"),
        }
    }
}

impl Latency {
    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(1, MAX_MICROS);
        self.hist.record(us).expect("clamped into range");
    }

    /// Adds every latency of `other`.
    pub fn merge(&mut self, other: &Latency) {
        self.hist.add(&other.hist).expect("same bounds");
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The latency at quantile `q` (0 … 1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    /// The largest latency, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.hist.max() as f64 / 1000.0
    }

    /// `p50 … max` as one line, e.g. `p50 1.2 ms, p90 …`.
    pub fn summary(&self) -> String {
        if self.count() == 0 {
            return "no samples".into();
        }
        format!(
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
            self.quantile_ms(0.5),
            self.quantile_ms(0.9),
            self.quantile_ms(0.99),
            self.max_ms(),
            self.count()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_recorded_values() {
        let mut a = Latency::default();
        for ms in 1..=100 {
            a.record(Duration::from_millis(ms));
        }
        let mut b = Latency::default();
        b.record(Duration::from_secs(1));
        a.merge(&b);
        assert_eq!(a.count(), 101);
        assert!((a.quantile_ms(0.5) - 51.0).abs() < 0.1, "{}", a.summary());
        assert!((a.max_ms() - 1000.0).abs() < 1.0);
    }
}
