//! Rate limits (docs/operations.md, "Limits"): token buckets keyed by who
//! is asking, never by what a request merely claims.
//!
//! * events: per user (the verified user token's `sub`), checked before
//!   the event is stored, so invented session uids cost their sender; and
//!   per session, charged only for events stored on it (which the event
//!   rules allow its owner alone), so nobody can spend another's allowance;
//! * `start_session`: per user;
//! * reads (stats, timeline, search, who is here): per user — the user a
//!   prompt token was minted for (its `usr`), so that the many tokens one
//!   user can get by starting sessions share one allowance; a token naming
//!   no user (the admin route's) has its own.
//!
//! Keys are kept as 64-bit keyed hashes (a long `sub` costs no more than a
//! short one), in a table of bounded size: when it is full, buckets that
//! have refilled are forgotten (a forgotten bucket is full again, exactly
//! like a new one), then, if it is still full, an arbitrary half — which
//! lets those keys burst again, but only after more keys than the table
//! holds were busy within one refill.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::StatusCode;

use super::error::{ApiError, kind};

/// Shards of a table, each under its own lock.
const SHARDS: usize = 16;
/// Most keys a table keeps (all shards together).
pub const MAX_KEYS: usize = 65_536;

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// Milliseconds since the table's start.
    at: u64,
}

/// Token buckets of `rate` per second, holding at most `burst`, by key.
pub struct Buckets {
    rate: f64,
    burst: f64,
    started: Instant,
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<HashMap<u64, Bucket>>>,
}

impl Buckets {
    /// Buckets refilling at `rate` tokens per second up to `burst`; a rate
    /// of 0 allows everything.
    pub fn new(rate: f64, burst: f64) -> Self {
        Buckets {
            rate,
            burst: burst.max(1.0),
            started: Instant::now(),
            hasher: Default::default(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// `per_second` tokens per second, burst as many (0 = unlimited).
    pub fn per_second(per_second: u32) -> Self {
        Self::new(per_second as f64, per_second as f64)
    }

    /// `per_minute` tokens per minute, burst as many (0 = unlimited).
    pub fn per_minute(per_minute: u32) -> Self {
        Self::new(per_minute as f64 / 60.0, per_minute as f64)
    }

    fn disabled(&self) -> bool {
        self.rate <= 0.0
    }

    /// Takes a token for `key`; when there is none, the whole seconds to
    /// wait for one.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        self.update(key, true, |b| {
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// Whether `key` has a token, taking none and remembering nothing new.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.update(key, false, |b| b.tokens >= 1.0)
    }

    /// Takes a token for `key` whether or not it has one: what was spent
    /// is owed (down to one burst), so concurrent requests that all passed
    /// [`Buckets::check`] still cannot exceed the rate for long.
    pub fn charge(&self, key: &str) {
        let burst = self.burst;
        let _ = self.update(key, true, |b| {
            b.tokens = (b.tokens - 1.0).max(-burst);
            true
        });
    }

    /// Refills `key`'s bucket (a new one is full), then lets `decide` use
    /// it; `Err` with the seconds until a token when it says no.
    fn update(
        &self,
        key: &str,
        insert: bool,
        decide: impl FnOnce(&mut Bucket) -> bool,
    ) -> Result<(), u64> {
        if self.disabled() {
            return Ok(());
        }
        let hash = self.hasher.hash_one(key);
        let now = self.started.elapsed().as_millis() as u64;
        let mut shard = self.shards[hash as usize % SHARDS]
            .lock()
            .expect("rate limiter lock");
        let mut bucket = match shard.get(&hash) {
            Some(b) => self.refilled(*b, now),
            None if insert => {
                if shard.len() >= MAX_KEYS / SHARDS {
                    self.make_room(&mut shard, now);
                }
                Bucket {
                    tokens: self.burst,
                    at: now,
                }
            }
            // A key never charged has a full bucket.
            None => return Ok(()),
        };
        let allowed = decide(&mut bucket);
        let wait = ((1.0 - bucket.tokens) / self.rate).ceil().max(1.0) as u64;
        shard.insert(hash, bucket);
        if allowed { Ok(()) } else { Err(wait) }
    }

    fn refilled(&self, b: Bucket, now: u64) -> Bucket {
        let seconds = now.saturating_sub(b.at) as f64 / 1000.0;
        Bucket {
            tokens: (b.tokens + seconds * self.rate).min(self.burst),
            at: now,
        }
    }

    /// Forgets full buckets, then half of the rest if still full.
    fn make_room(&self, shard: &mut HashMap<u64, Bucket>, now: u64) {
        shard.retain(|_, b| self.refilled(*b, now).tokens < self.burst);
        if shard.len() >= MAX_KEYS / SHARDS / 2 {
            let mut keep = false;
            shard.retain(|_, _| {
                keep = !keep;
                keep
            });
        }
    }

    /// Keys kept now, and the entries the tables have room for.
    pub fn size(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(n, cap), s| {
            let s = s.lock().expect("rate limiter lock");
            (n + s.len(), cap + s.capacity())
        })
    }
}

/// 429 `too_many_requests` with `Retry-After: wait`, saying which limit.
pub fn refused(what: &str, wait: u64) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        kind::TOO_MANY_REQUESTS,
        format!("too many {what}; slow down"),
    );
    e.retry_after = Some(wait);
    e
}

/// Every rate limit of the API, built from the configuration.
pub struct RateLimits {
    /// Events per user.
    pub user_events: Buckets,
    /// Events stored per session.
    pub session_events: Buckets,
    /// Sessions started per user.
    pub session_starts: Buckets,
    /// Reads per user (see [`RateLimits::take_read`]).
    pub reads: Buckets,
}

/// The rates of [`RateLimits`] (0 disables one).
#[derive(Debug, Clone, PartialEq)]
pub struct RateSettings {
    /// Events per second per session (burst as many).
    pub session_event_rate: u32,
    /// Events per second per user (burst as many).
    pub user_event_rate: u32,
    /// Sessions started per minute per user (burst as many).
    pub session_start_rate: u32,
    /// Stats, timeline, search and who-is-here requests per second per
    /// user (burst as many).
    pub read_rate: u32,
}

impl Default for RateSettings {
    fn default() -> Self {
        RateSettings {
            session_event_rate: 20,
            user_event_rate: 50,
            session_start_rate: 30,
            read_rate: 20,
        }
    }
}

impl RateLimits {
    /// Takes a read for the user `user` (a prompt token's `usr`, or the
    /// `sub` of a user token), or, when it names none, for the prompt
    /// token `token` itself: 429 when there is none left.
    pub fn take_read(&self, user: Option<&str>, token: &str) -> Result<(), ApiError> {
        let key = match user {
            Some(user) => format!("u:{user}"),
            None => format!("t:{token}"),
        };
        self.reads
            .take(&key)
            .map_err(|wait| refused("reads by this user", wait))
    }

    /// The limits `settings` ask for.
    pub fn new(settings: &RateSettings) -> Self {
        RateLimits {
            user_events: Buckets::per_second(settings.user_event_rate),
            session_events: Buckets::per_second(settings.session_event_rate),
            session_starts: Buckets::per_minute(settings.session_start_rate),
            reads: Buckets::per_second(settings.read_rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_beyond_the_rate_are_refused_per_key() {
        let l = Buckets::per_second(3);
        for _ in 0..3 {
            assert!(l.take("a").is_ok());
        }
        assert_eq!(l.take("a"), Err(1));
        assert!(l.take("b").is_ok());
        assert!(Buckets::per_second(0).take("a").is_ok());
        let m = Buckets::per_minute(2);
        assert!(m.take("a").is_ok() && m.take("a").is_ok());
        assert_eq!(m.take("a"), Err(30), "a token every 30 s");
    }

    #[test]
    fn checks_remember_nothing_and_charges_run_into_debt() {
        let l = Buckets::per_second(2);
        for i in 0..1000 {
            assert!(l.check(&format!("invented{i}")).is_ok());
        }
        assert_eq!(l.size().0, 0, "a check keeps no key");
        for _ in 0..5 {
            l.charge("s");
        }
        assert!(l.check("s").is_err());
        std::thread::sleep(std::time::Duration::from_millis(600));
        // Owed: -2 plus 1.2 refilled is still below one token.
        assert!(l.check("s").is_err());
    }

    #[test]
    fn memory_stays_bounded_under_a_hundred_thousand_keys_of_any_size() {
        let l = Buckets::per_second(5);
        let long = "x".repeat(60_000);
        for i in 0..100_000 {
            let key = if i % 1000 == 0 {
                format!("{long}{i}")
            } else {
                format!("k{i}")
            };
            assert!(l.take(&key).is_ok());
        }
        let (kept, room) = l.size();
        assert!(kept <= MAX_KEYS, "{kept}");
        // Each entry is a u64 key and a 16-byte bucket (plus hashbrown's
        // control byte): the table is about 2 MiB at most, whatever the keys.
        assert!(room <= 2 * MAX_KEYS, "{room}");
        // The busy keys of the last refill are still limited.
        for _ in 0..4 {
            let _ = l.take("k99999");
        }
        assert_eq!(l.take("k99999"), Err(1));
    }
}
