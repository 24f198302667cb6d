//! Per-session event rate limit (SPEC §12): a token bucket per session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Sessions idle this long are forgotten.
const IDLE_SECONDS: f64 = 60.0;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets of `rate` events per second (burst `rate`) per session.
pub struct SessionRateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl SessionRateLimiter {
    /// A limiter allowing `rate` events per second per session (0 = unlimited).
    pub fn new(rate: u32) -> Self {
        SessionRateLimiter {
            rate: rate as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `session_uid`; on refusal, the whole seconds to wait.
    pub fn acquire(&self, session_uid: &str) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > 100_000 {
            buckets.retain(|_, b| now.duration_since(b.updated).as_secs_f64() < IDLE_SECONDS);
        }
        let b = buckets.entry(session_uid.to_owned()).or_insert(Bucket {
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
}
