//! Replay buckets shared by the viewers of one prompt in this process.
//!
//! Viewers of a premiere replay the same one-second buckets at about the
//! same moment; each used to read and serialize its own copy. Now the
//! first viewer to need a bucket loads it and the others wait for that
//! load and share it. A loaded bucket is valid for a viewer only if the
//! viewer subscribed before it was read: events committed after the read
//! then reach the viewer through pub/sub, exactly as with its own load.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::message::LiveEvent;

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
        slots.push_back((bucket, crate::storage::now(), slot.clone()));
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_subscribed_before_a_slot_share_it_and_later_ones_do_not() {
        let cache = BucketCache::default();
        let early = crate::storage::now() - 10.0;
        let a = cache.slot(3, early);
        assert!(Arc::ptr_eq(&a, &cache.slot(3, early)));
        // Subscribed after the slot was created and it is still empty: a new one.
        let late = crate::storage::now() + 10.0;
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
}
