//! Keeping each viewer within its bandwidth.

use std::time::Instant;

/// A token bucket: `rate` tokens a second, holding at most `rate` (a
/// one-second burst), so delivered ≤ rate × seconds + rate.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, now: Instant) -> Self {
        TokenBucket {
            rate: rate as f64,
            tokens: rate as f64,
            updated: now,
        }
    }

    /// Whole tokens available at `now`.
    pub fn available(&mut self, now: Instant) -> usize {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.updated = now;
        self.tokens.floor() as usize
    }

    /// Spends `n` tokens (at most what [`Self::available`] returned).
    pub fn spend(&mut self, n: usize) {
        self.tokens -= n as f64;
    }
}

/// Near-live deliveries per second, as an exponentially weighted rate, so
/// replay thinning can leave room for them.
#[derive(Debug, Clone)]
pub struct RateMeter {
    rate: f64,
    updated: Instant,
}

impl RateMeter {
    /// A meter at zero.
    pub fn new(now: Instant) -> Self {
        RateMeter {
            rate: 0.0,
            updated: now,
        }
    }

    /// Records `n` events at `now`.
    pub fn record(&mut self, n: usize, now: Instant) {
        self.decay(now);
        self.rate += n as f64;
    }

    /// The rate (events per second) at `now`.
    pub fn rate(&mut self, now: Instant) -> f64 {
        self.decay(now);
        self.rate
    }

    fn decay(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.updated).as_secs_f64();
        self.rate *= (-dt).exp();
        self.updated = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bucket_allows_a_one_second_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, t0);
        assert_eq!(b.available(t0), 10);
        b.spend(10);
        assert_eq!(b.available(t0), 0);
        assert_eq!(b.available(t0 + Duration::from_millis(500)), 5);
        assert_eq!(b.available(t0 + Duration::from_secs(100)), 10);
    }

    #[test]
    fn the_meter_tracks_a_steady_rate() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        for i in 0..100 {
            m.record(5, t0 + Duration::from_millis(100 * i));
        }
        let r = m.rate(t0 + Duration::from_millis(9_900));
        assert!((40.0..60.0).contains(&r), "{r}");
    }
}
