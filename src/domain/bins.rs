//! How a prompt's duration is cut into the bins its aggregates are kept in.

/// The binning of one prompt: `bins(d) = 1` if `d ≤ 1`, else
/// `2^ceil(log2 d) − 1`, each `d / bins` seconds wide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bins {
    duration_seconds: i64,
    count: u32,
}

impl Bins {
    /// The binning of a prompt lasting `duration_seconds` (≥ 1).
    pub fn new(duration_seconds: i64) -> Self {
        let count = if duration_seconds <= 1 {
            1
        } else {
            let pow = (duration_seconds as u64).next_power_of_two();
            (pow - 1) as u32
        };
        Self {
            duration_seconds,
            count,
        }
    }

    /// Number of bins.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Width of one bin in seconds of prompt time.
    pub fn width(&self) -> f64 {
        self.duration_seconds as f64 / self.count as f64
    }

    /// The bin an event at prompt time `t` (already validated to lie in
    /// `0..=duration`) falls in.
    pub fn bin_of(&self, t: f64) -> u32 {
        let raw = (t * self.count as f64 / self.duration_seconds as f64).floor();
        if raw <= 0.0 {
            0
        } else {
            (raw as u64).min(self.count as u64 - 1) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_counts_follow_the_formula() {
        let cases = [
            (1, 1),
            (2, 1),
            (3, 3),
            (4, 3),
            (5, 7),
            (8, 7),
            (9, 15),
            (600, 1023),
            (86_400, 131_071),
        ];
        for (d, bins) in cases {
            assert_eq!(Bins::new(d).count(), bins, "duration {d}");
        }
    }

    #[test]
    fn events_fall_in_the_expected_bin() {
        let b = Bins::new(10); // 15 bins of 2/3 s
        assert_eq!(b.bin_of(0.0), 0);
        assert_eq!(b.bin_of(0.66), 0);
        assert_eq!(b.bin_of(0.67), 1);
        assert_eq!(b.bin_of(10.0), 14);
        assert_eq!(Bins::new(1).bin_of(1.0), 0);
    }
}
