//! Replay of stored events, one one-second bucket at a time, thinned to
//! the bandwidth, plus the bookkeeping that delivers each event at most
//! once per connection.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use rand::Rng;

use crate::pubsub::LiveEvent;

/// A compact key for an event uid (kept per delivered event). Uids are
/// random, so a fast multiply-rotate hash over 8-byte words spreads them
/// as well as SipHash does, at a fraction of the cost: a premiere viewer
/// checks every near-live event it is offered.
pub fn uid_key(uid: &str) -> u64 {
    let mix = |h: u64, word: u64| {
        (h ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(27)
    };
    let mut h: u64 = uid.len() as u64;
    // Whole words are read in place (a copy of a variable-length chunk
    // compiles to a `memmove` call, 2.4 % of a premiere's machine).
    let mut words = uid.as_bytes().chunks_exact(8);
    for word in &mut words {
        h = mix(h, u64::from_le_bytes(word.try_into().expect("8 bytes")));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(word));
    }
    // MurmurHash3's finalizer.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hashes a key that is already a hash: passes it through.
#[derive(Debug, Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Events delivered recently, so none is delivered twice. Only events no
/// older than the viewer's near-live window are kept.
#[derive(Debug, Default)]
pub struct Delivered {
    keys: HashMap<u64, f64, BuildHasherDefault<KeyHasher>>,
}

impl Delivered {
    /// Whether the event was delivered.
    pub fn contains(&self, uid: &str) -> bool {
        self.keys.contains_key(&uid_key(uid))
    }

    /// Records a delivery.
    pub fn insert(&mut self, uid: &str, prompt_time: f64) {
        self.keys.insert(uid_key(uid), prompt_time);
    }

    /// Forgets events before prompt time `t` (they can no longer arrive).
    pub fn forget_before(&mut self, t: f64) {
        self.keys.retain(|_, pt| *pt >= t);
    }

    /// Number of remembered events.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The replay cursor of one viewer.
#[derive(Debug)]
pub struct Replay {
    /// The next bucket to load.
    next_bucket: i64,
    /// Last bucket of the prompt.
    last_bucket: i64,
    /// Where replay starts: earlier events are not replayed.
    from: f64,
    /// When each loaded bucket (still of interest) was read, in unix seconds.
    loaded_at: VecDeque<(i64, f64)>,
    /// Kept events waiting to be due, in `(prompt_time, uid)` order.
    queue: VecDeque<Arc<LiveEvent>>,
}

impl Replay {
    /// A cursor for a prompt of `duration_seconds`.
    pub fn new(duration_seconds: i64) -> Self {
        Replay {
            next_bucket: 0,
            last_bucket: duration_seconds,
            from: f64::NEG_INFINITY,
            loaded_at: VecDeque::new(),
            queue: VecDeque::new(),
        }
    }

    /// The bucket to load now, if the viewer's horizon `p + lookahead`
    /// reached it.
    pub fn bucket_to_load(&self, horizon: f64) -> Option<i64> {
        (self.next_bucket <= self.last_bucket && horizon >= self.next_bucket as f64)
            .then_some(self.next_bucket)
    }

    /// Starts replay at prompt time `t`: a viewer joining late does not
    /// replay what it already passed.
    pub fn skip_before(&mut self, t: f64) {
        self.from = self.from.max(t);
        let first = t.floor() as i64;
        if first > self.next_bucket {
            self.next_bucket = first.min(self.last_bucket + 1);
        }
    }

    /// Adds a loaded bucket (possibly shared with other viewers), keeping
    /// each event from the replay's start on with probability `min(1,
    /// share / count)`; returns how many were thinned away.
    ///
    /// The kept events are drawn as a uniform sample of `share` events
    /// (its fractional part rounded up at random), so each event's chance
    /// is exactly `share / count` while every bucket yields the share
    /// itself. Independent coin flips would give the same chance, but
    /// buckets of ±√share events: against a token bucket refilled at the
    /// same rate, those swings pile up and push replayed events past
    /// their prompt time.
    pub fn add_bucket(
        &mut self,
        bucket: i64,
        events: &[Arc<LiveEvent>],
        share: f64,
        read_at: f64,
    ) -> usize {
        self.next_bucket = bucket + 1;
        self.loaded_at.push_back((bucket, read_at));
        // The part of the first bucket before the start is skipped; the
        // rest keeps each event's chance of `share / count`.
        let before = events.partition_point(|e| e.prompt_time < self.from);
        let share = share.max(0.0) * (events.len() - before) as f64 / events.len().max(1) as f64;
        let events = &events[before..];
        let count = events.len();
        if share >= count as f64 {
            self.queue.extend(events.iter().cloned());
            return 0;
        }
        let mut rng = rand::rng();
        let whole = share.floor();
        let kept = whole as usize + usize::from(rng.random_bool(share - whole));
        let mut picked = rand::seq::index::sample(&mut rng, count, kept.min(count)).into_vec();
        picked.sort_unstable();
        self.queue.extend(picked.iter().map(|&i| events[i].clone()));
        count - picked.len()
    }

    /// Whether a live-published event at prompt time `t`, created at
    /// `created_at`, missed the load of its bucket (so replay must take it
    /// from pub/sub instead). Buckets not loaded yet will include it.
    pub fn missed_by_load(&self, t: f64, created_at: f64) -> bool {
        let bucket = t.floor() as i64;
        self.loaded_at
            .iter()
            .any(|&(b, read_at)| b == bucket && created_at >= read_at)
    }

    /// Inserts a late event into the queue in order (unless queued already).
    pub fn insert(&mut self, event: Arc<LiveEvent>) {
        if self.queue.iter().any(|e| e.uid == event.uid) {
            return;
        }
        let at = self
            .queue
            .partition_point(|e| (e.prompt_time, &*e.uid) < (event.prompt_time, &*event.uid));
        self.queue.insert(at, event);
    }

    /// The next queued event, if due at prompt time `p` with `lookahead`.
    pub fn peek_due(&self, p: f64, lookahead: f64) -> Option<&Arc<LiveEvent>> {
        self.queue
            .front()
            .filter(|e| e.prompt_time - lookahead <= p)
    }

    /// Removes the front event.
    pub fn pop(&mut self) -> Option<Arc<LiveEvent>> {
        self.queue.pop_front()
    }

    /// Forgets load times of buckets before prompt time `t`.
    pub fn forget_before(&mut self, t: f64) {
        while self
            .loaded_at
            .front()
            .is_some_and(|&(b, _)| ((b + 1) as f64) < t)
        {
            self.loaded_at.pop_front();
        }
    }

    /// Whether every bucket was loaded and every kept event delivered.
    pub fn finished(&self) -> bool {
        self.next_bucket > self.last_bucket && self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(uid: &str, t: f64) -> Arc<LiveEvent> {
        Arc::new(LiveEvent {
            uid: uid.into(),
            prompt_time: t,
            created_at: 0.0,
            json: "{}".into(),
        })
    }

    #[test]
    fn buckets_load_when_the_horizon_reaches_them() {
        let mut r = Replay::new(3);
        assert_eq!(r.bucket_to_load(-0.5), None);
        assert_eq!(r.bucket_to_load(0.0), Some(0));
        r.add_bucket(0, &[ev("a", 0.2), ev("b", 0.7)], 10.0, 100.0);
        assert_eq!(r.bucket_to_load(0.9), None);
        assert_eq!(r.peek_due(0.1, 0.1).map(|e| &*e.uid), Some("a"));
        assert!(r.peek_due(0.05, 0.1).is_none());
        r.skip_before(2.5);
        assert_eq!(r.bucket_to_load(3.0), Some(2));
    }

    #[test]
    fn replay_skips_what_the_viewer_already_passed_at_the_same_odds() {
        let mut r = Replay::new(10);
        r.skip_before(2.75);
        assert_eq!(r.bucket_to_load(3.0), Some(2));
        let events: Vec<_> = (0..400)
            .map(|i| ev(&format!("e{i:03}"), 2.0 + i as f64 / 400.0))
            .collect();
        // A quarter of the bucket is ahead: a quarter of the share is kept.
        let thinned = r.add_bucket(2, &events, 40.0, 0.0);
        assert_eq!(thinned, 100 - 10);
        let kept: Vec<_> = std::iter::from_fn(|| r.pop()).collect();
        assert_eq!(kept.len(), 10);
        assert!(kept.iter().all(|e| e.prompt_time >= 2.75));
    }

    #[test]
    fn thinning_keeps_about_the_share() {
        let mut r = Replay::new(10);
        let events: Vec<_> = (0..10_000).map(|i| ev(&format!("e{i:05}"), 0.5)).collect();
        let thinned = r.add_bucket(0, &events, 1_000.0, 0.0);
        assert!((8_800..9_200).contains(&thinned), "{thinned}");
    }

    #[test]
    fn late_events_are_inserted_in_order_once() {
        let mut r = Replay::new(10);
        r.add_bucket(0, &[ev("a", 0.2), ev("c", 0.7)], 10.0, 100.0);
        assert!(r.missed_by_load(0.5, 101.0));
        assert!(!r.missed_by_load(0.5, 99.0));
        assert!(!r.missed_by_load(1.5, 101.0));
        r.insert(ev("b", 0.5));
        r.insert(ev("b", 0.5));
        let order: Vec<_> = std::iter::from_fn(|| r.pop())
            .map(|e| e.uid.to_string())
            .collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn uid_keys_differ_for_similar_uids() {
        let keys: std::collections::HashSet<u64> = (0..100_000)
            .map(|i| uid_key(&format!("ipe_{i:022}")))
            .collect();
        assert_eq!(keys.len(), 100_000);
    }

    #[test]
    fn delivered_events_are_forgotten_once_behind() {
        let mut d = Delivered::default();
        d.insert("a", 1.0);
        d.insert("b", 5.0);
        d.forget_before(2.0);
        assert!(!d.contains("a") && d.contains("b") && d.len() == 1);
    }
}
