//! The timeline's answers, kept as the bytes sent (docs/operations.md,
//! "Limits"): a prompt's timeline is the same until its figures change,
//! so each answer is kept with the version of the figures it was built
//! from ([`crate::storage::Store::figures_version`]) and sent again while
//! that version holds. A request between two changes then costs a lookup
//! instead of building and serializing every bin (9 MB for a day-long
//! numeric prompt).
//!
//! Bounded in memory: at most the configured bytes of bodies (and
//! [`MAX_PROMPTS`] prompts) per process; past that the body served least
//! recently is dropped first. A body larger than the whole bound is sent
//! and not kept.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

/// Most prompts whose answer is kept.
pub const MAX_PROMPTS: usize = 4096;
/// The bound on kept bodies by default, in MiB (`timeline_cache_mib`).
pub const DEFAULT_MIB: u64 = 64;

struct Entry {
    version: u64,
    body: Bytes,
    /// When it was last served, on the cache's own clock.
    used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<i64, Entry>,
    bytes: usize,
    clock: u64,
}

/// Timeline bodies by prompt id, each with its figures' version.
pub struct TimelineCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

impl TimelineCache {
    /// A cache keeping at most `max_bytes` of bodies (0 keeps none).
    pub fn new(max_bytes: usize) -> Self {
        TimelineCache {
            max_bytes,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("timeline cache lock")
    }

    /// The body kept for `prompt_id` if it was built from figures of
    /// `version`.
    pub fn get(&self, prompt_id: i64, version: u64) -> Option<Bytes> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(&prompt_id)?;
        if entry.version != version {
            return None;
        }
        entry.used = now;
        Some(entry.body.clone())
    }

    /// Keeps `body`, built from figures of `version`, for `prompt_id`
    /// (unless a body of a later version is kept already), dropping the
    /// bodies served least recently to make room.
    pub fn put(&self, prompt_id: i64, version: u64, body: Bytes) {
        if body.len() > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.entries.get(&prompt_id) {
            if old.version >= version {
                return;
            }
            let freed = old.body.len();
            inner.bytes -= freed;
            inner.entries.remove(&prompt_id);
        }
        while inner.bytes + body.len() > self.max_bytes || inner.entries.len() >= MAX_PROMPTS {
            let Some((&oldest, _)) = inner.entries.iter().min_by_key(|(_, e)| e.used) else {
                break;
            };
            let dropped = inner.entries.remove(&oldest).expect("present");
            inner.bytes -= dropped.body.len();
        }
        inner.clock += 1;
        inner.bytes += body.len();
        let used = inner.clock;
        inner.entries.insert(
            prompt_id,
            Entry {
                version,
                body,
                used,
            },
        );
        metrics::gauge!(crate::metrics::TIMELINE_CACHE_BYTES).set(inner.bytes as f64);
    }

    /// Bodies kept and their bytes.
    pub fn size(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn a_body_is_served_for_its_version_only() {
        let c = TimelineCache::new(1000);
        c.put(1, 5, body(10));
        assert_eq!(c.get(1, 5).map(|b| b.len()), Some(10));
        assert!(c.get(1, 6).is_none());
        assert!(c.get(2, 5).is_none());
        // An older build arriving late does not replace a newer one.
        c.put(1, 4, body(20));
        assert_eq!(c.get(1, 5).map(|b| b.len()), Some(10));
        c.put(1, 7, body(30));
        assert!(c.get(1, 5).is_none());
        assert_eq!(c.size(), (1, 30));
    }

    #[test]
    fn the_bound_drops_the_least_recently_served_first() {
        let c = TimelineCache::new(100);
        c.put(1, 1, body(40));
        c.put(2, 2, body(40));
        assert!(c.get(1, 1).is_some());
        c.put(3, 3, body(40));
        assert!(
            c.get(2, 2).is_none(),
            "the least recently served is dropped"
        );
        assert!(c.get(1, 1).is_some() && c.get(3, 3).is_some());
        assert_eq!(c.size(), (2, 80));
        c.put(4, 4, body(101));
        assert!(c.get(4, 4).is_none(), "larger than the bound: not kept");
        assert_eq!(c.size(), (2, 80));
        let none = TimelineCache::new(0);
        none.put(1, 1, body(1));
        assert_eq!(none.size(), (0, 0));
    }

    #[test]
    fn at_most_max_prompts_are_kept() {
        let c = TimelineCache::new(usize::MAX);
        for id in 0..(MAX_PROMPTS as i64 + 10) {
            c.put(id, id as u64 + 1, body(1));
        }
        assert_eq!(c.size(), (MAX_PROMPTS, MAX_PROMPTS));
        assert!(
            c.get(0, 1).is_none()
                && c.get(MAX_PROMPTS as i64 + 9, MAX_PROMPTS as u64 + 10)
                    .is_some()
        );
    }
}
