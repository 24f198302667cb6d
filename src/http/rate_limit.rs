//! Per-session event rate limit (docs/api.md, "Limits and bad input"): a
//! token bucket per session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The table is swept of full buckets once it holds this many (or twice
/// what the last sweep left, if more).
const SWEEP_AT_LEAST: usize = 10_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

struct Buckets {
    by_session: HashMap<String, Bucket>,
    sweep_at: usize,
}

/// Token buckets of `rate` events per second (burst `rate`) per session.
pub struct SessionRateLimiter {
    rate: f64,
    buckets: Mutex<Buckets>,
}

impl SessionRateLimiter {
    /// A limiter allowing `rate` events per second per session (0 = unlimited).
    pub fn new(rate: u32) -> Self {
        SessionRateLimiter {
            rate: rate as f64,
            buckets: Mutex::new(Buckets {
                by_session: HashMap::new(),
                sweep_at: SWEEP_AT_LEAST,
            }),
        }
    }

    /// Takes one token for `session_uid`; on refusal, the whole seconds to wait.
    pub fn acquire(&self, session_uid: &str) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.by_session.len() >= buckets.sweep_at {
            // A bucket left alone for a second is full again, exactly like
            // a new one: forgetting it changes no answer. Sweeping only
            // when the table doubled keeps the cost per call constant.
            buckets
                .by_session
                .retain(|_, b| now.duration_since(b.updated) < Duration::from_secs(1));
            buckets.sweep_at = (buckets.by_session.len() * 2).max(SWEEP_AT_LEAST);
        }
        let b = buckets
            .by_session
            .entry(session_uid.to_owned())
            .or_insert(Bucket {
                tokens: self.rate,
                updated: now,
            });
        b.tokens =
            (b.tokens + now.duration_since(b.updated).as_secs_f64() * self.rate).min(self.rate);
        b.updated = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }

    /// Sessions whose buckets are kept now.
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.buckets
            .lock()
            .expect("rate limiter lock")
            .by_session
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_beyond_the_rate_are_refused_per_session() {
        let l = SessionRateLimiter::new(3);
        for _ in 0..3 {
            assert!(l.acquire("a").is_ok());
        }
        assert_eq!(l.acquire("a"), Err(1));
        assert!(l.acquire("b").is_ok());
        assert!(SessionRateLimiter::new(0).acquire("a").is_ok());
    }

    #[test]
    fn full_buckets_are_forgotten_and_busy_ones_kept() {
        let l = SessionRateLimiter::new(3);
        for _ in 0..3 {
            assert!(l.acquire("busy").is_ok());
        }
        for i in 0..SWEEP_AT_LEAST - 1 {
            assert!(l.acquire(&format!("s{i}")).is_ok());
        }
        // The table is full: the next call sweeps, but nothing is a second
        // old yet, so nothing is forgotten and "busy" stays empty.
        assert_eq!(l.acquire("busy"), Err(1));
        assert_eq!(l.kept(), SWEEP_AT_LEAST);
        std::thread::sleep(Duration::from_millis(1100));
        // Twice as many are needed before the next sweep; it forgets the
        // first ten thousand, which are full again.
        for i in 0..SWEEP_AT_LEAST {
            assert!(l.acquire(&format!("t{i}")).is_ok());
        }
        assert_eq!(l.kept(), 2 * SWEEP_AT_LEAST);
        assert!(l.acquire("u").is_ok());
        assert!(l.kept() <= SWEEP_AT_LEAST + 1, "the full buckets went");
    }
}
