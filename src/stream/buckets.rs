//! Replay buckets shared by the viewers of one prompt in this process.
//! They serve only the stream, so the stream keeps them ([`ReplayBuckets`]),
//! one [`BucketCache`] per prompt with viewers here.
//!
//! Viewers of a premiere replay the same one-second buckets at about the
//! same moment; each used to read and serialize its own copy. Now the
//! first viewer to need a bucket loads it and the others wait for that
//! load and share it. A loaded bucket is valid for a viewer only if the
//! viewer subscribed before it was read: events committed after the read
//! then reach the viewer through pub/sub, exactly as with its own load.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OnceCell;

use crate::domain::clock::now;
use crate::pubsub::LiveEvent;

/// Buckets kept per prompt (the most recently loaded).
const KEPT: usize = 24;

/// One loaded bucket: its events in `(prompt_time, uid)` order.
#[derive(Debug)]
pub struct LoadedBucket {
    /// Unix seconds just before the read.
    pub read_at: f64,
    /// The events.
    pub events: Vec<Arc<LiveEvent>>,
}

/// A bucket being loaded or loaded.
pub type Slot = Arc<OnceCell<Arc<LoadedBucket>>>;

/// The shared buckets of one prompt: `(bucket, created at, slot)`.
#[derive(Debug, Default)]
pub struct BucketCache {
    slots: Mutex<VecDeque<(i64, f64, Slot)>>,
}

impl BucketCache {
    /// The slot of `bucket` for a viewer subscribed since `subscribed_at`
    /// (unix seconds): an existing one if its read is certainly no earlier
    /// than that (it was created, or read, after it), else a new empty one
    /// that replaces it. A slot is always read after it was created.
    pub fn slot(&self, bucket: i64, subscribed_at: f64) -> Slot {
        let mut slots = self.slots.lock().expect("bucket cache");
        if let Some(i) = slots.iter().position(|(b, _, _)| *b == bucket) {
            let (_, created, slot) = &slots[i];
            if *created >= subscribed_at || slot.get().is_some_and(|l| l.read_at >= subscribed_at) {
                return slot.clone();
            }
            slots.remove(i);
        }
        let slot = Slot::default();
        if slots.len() >= KEPT {
            slots.pop_front();
        }
        slots.push_back((bucket, now(), slot.clone()));
        slot
    }
}

/// The bucket caches of the prompts with viewers in this process; cheap
/// to clone. A prompt's cache lives while one of its viewers holds it.
#[derive(Clone, Default)]
pub struct ReplayBuckets {
    by_prompt: Arc<Mutex<HashMap<String, Weak<BucketCache>>>>,
}

impl ReplayBuckets {
    /// The cache of `prompt_uid`'s buckets, shared with its other viewers.
    pub fn of(&self, prompt_uid: &str) -> Arc<BucketCache> {
        let mut by_prompt = self.by_prompt.lock().expect("replay buckets");
        if let Some(cache) = by_prompt.get(prompt_uid).and_then(Weak::upgrade) {
            return cache;
        }
        // A new prompt: forget the caches nobody holds any more.
        by_prompt.retain(|_, cache| cache.strong_count() > 0);
        let cache = Arc::new(BucketCache::default());
        by_prompt.insert(prompt_uid.to_owned(), Arc::downgrade(&cache));
        cache
    }
}

impl ReplayBuckets {
    /// Drops the buckets of `prompt_uid` loaded so far, so none is served
    /// again (after an erasure removed events of the prompt).
    pub fn forget(&self, prompt_uid: &str) {
        let cache = self
            .by_prompt
            .lock()
            .expect("replay buckets")
            .get(prompt_uid)
            .and_then(Weak::upgrade);
        if let Some(cache) = cache {
            cache.slots.lock().expect("bucket cache").clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_subscribed_before_a_slot_share_it_and_later_ones_do_not() {
        let cache = BucketCache::default();
        let early = now() - 10.0;
        let a = cache.slot(3, early);
        assert!(Arc::ptr_eq(&a, &cache.slot(3, early)));
        // Subscribed after the slot was created and it is still empty: a new one.
        let late = now() + 10.0;
        let b = cache.slot(3, late);
        assert!(!Arc::ptr_eq(&a, &b));
        // Read after `late`: shared with that viewer.
        b.set(Arc::new(LoadedBucket {
            read_at: late + 1.0,
            events: vec![],
        }))
        .unwrap();
        assert!(Arc::ptr_eq(&b, &cache.slot(3, late)));
        for k in 0..KEPT as i64 {
            cache.slot(100 + k, early);
        }
        assert!(!Arc::ptr_eq(&b, &cache.slot(3, early)));
    }

    #[test]
    fn a_prompts_cache_is_shared_while_held_and_then_dropped() {
        let buckets = ReplayBuckets::default();
        let a = buckets.of("ip_a");
        assert!(Arc::ptr_eq(&a, &buckets.of("ip_a")));
        assert!(!Arc::ptr_eq(&a, &buckets.of("ip_b")));
        let weak = Arc::downgrade(&a);
        drop(a);
        assert!(weak.upgrade().is_none());
        let _c = buckets.of("ip_c");
        assert_eq!(buckets.by_prompt.lock().unwrap().len(), 1);
    }
}
