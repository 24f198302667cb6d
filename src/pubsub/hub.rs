//! Fan-out of published events to this process's viewers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::broadcast;

use super::buckets::BucketCache;
use super::message::LiveEvent;

/// An event as a viewer receives it: with the instant it was handed to
/// this process's viewers (so a viewer that reads its queue later still
/// judges it at the moment it was published).
#[derive(Debug, Clone)]
pub struct Published {
    /// When it was delivered to the hub.
    pub at: Instant,
    /// The event.
    pub event: Arc<LiveEvent>,
}

/// Messages buffered per prompt before a lagging viewer misses some (it
/// is then told how many it missed and carries on).
const TOPIC_CAPACITY: usize = 4096;

/// Receives subscription changes, so a backend can (un)subscribe upstream.
pub trait Upstream: Send + Sync + 'static {
    /// The first viewer of `prompt_uid` in this process arrived.
    fn subscribe(&self, prompt_uid: &str);
    /// The last viewer of `prompt_uid` in this process left.
    fn unsubscribe(&self, prompt_uid: &str);
}

struct Topic {
    sender: broadcast::Sender<Published>,
    viewers: usize,
    buckets: Arc<BucketCache>,
}

/// Per-prompt broadcast channels with viewer counts; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    topics: Arc<Mutex<HashMap<String, Topic>>>,
    upstream: Option<Arc<dyn Upstream>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Hub {
    /// A hub; `upstream` hears when a prompt gains its first or loses its
    /// last viewer.
    pub fn new(upstream: Option<Arc<dyn Upstream>>) -> Self {
        Hub {
            topics: Arc::default(),
            upstream,
        }
    }

    /// Delivers an event to this process's viewers of `prompt_uid`.
    pub fn deliver(&self, prompt_uid: &str, event: Arc<LiveEvent>) {
        let topics = self.topics.lock().expect("hub lock");
        if let Some(topic) = topics.get(prompt_uid) {
            let _ = topic.sender.send(Published {
                at: Instant::now(),
                event,
            });
        }
    }

    /// Whether any viewer of `prompt_uid` is connected here.
    pub fn has_viewers(&self, prompt_uid: &str) -> bool {
        self.topics
            .lock()
            .expect("hub lock")
            .contains_key(prompt_uid)
    }

    /// Prompts with viewers here.
    pub fn prompts(&self) -> Vec<String> {
        self.topics
            .lock()
            .expect("hub lock")
            .keys()
            .cloned()
            .collect()
    }

    /// Starts receiving the events of `prompt_uid`.
    pub fn subscribe(&self, prompt_uid: &str) -> Subscription {
        let mut topics = self.topics.lock().expect("hub lock");
        let first = !topics.contains_key(prompt_uid);
        let topic = topics
            .entry(prompt_uid.to_owned())
            .or_insert_with(|| Topic {
                sender: broadcast::channel(TOPIC_CAPACITY).0,
                viewers: 0,
                buckets: Arc::default(),
            });
        topic.viewers += 1;
        let receiver = topic.sender.subscribe();
        let buckets = topic.buckets.clone();
        if first && let Some(up) = &self.upstream {
            up.subscribe(prompt_uid);
        }
        Subscription {
            receiver,
            subscribed_at: crate::storage::now(),
            buckets,
            prompt_uid: prompt_uid.to_owned(),
            hub: self.clone(),
        }
    }

    fn leave(&self, prompt_uid: &str) {
        let mut topics = self.topics.lock().expect("hub lock");
        let Some(topic) = topics.get_mut(prompt_uid) else {
            return;
        };
        topic.viewers -= 1;
        if topic.viewers == 0 {
            topics.remove(prompt_uid);
            if let Some(up) = &self.upstream {
                up.unsubscribe(prompt_uid);
            }
        }
    }
}

/// One viewer's subscription; leaving is automatic on drop.
pub struct Subscription {
    /// The events.
    pub receiver: broadcast::Receiver<Published>,
    /// Unix seconds when it started receiving.
    pub subscribed_at: f64,
    /// Replay buckets shared with the prompt's other viewers here.
    pub buckets: Arc<BucketCache>,
    prompt_uid: String,
    hub: Hub,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.leave(&self.prompt_uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Upstream for Recorder {
        fn subscribe(&self, p: &str) {
            self.0.lock().unwrap().push(format!("+{p}"));
        }
        fn unsubscribe(&self, p: &str) {
            self.0.lock().unwrap().push(format!("-{p}"));
        }
    }

    #[test]
    fn one_upstream_subscription_per_prompt() {
        let rec = Arc::new(Recorder::default());
        let hub = Hub::new(Some(rec.clone()));
        let a = hub.subscribe("ip_a");
        let b = hub.subscribe("ip_a");
        let c = hub.subscribe("ip_b");
        drop(a);
        drop(b);
        drop(c);
        assert_eq!(
            *rec.0.lock().unwrap(),
            vec!["+ip_a", "+ip_b", "-ip_a", "-ip_b"]
        );
        assert!(!hub.has_viewers("ip_a"));
    }

    #[tokio::test]
    async fn delivered_events_reach_every_viewer_of_the_prompt() {
        let hub = Hub::default();
        let mut a = hub.subscribe("ip_a");
        let mut b = hub.subscribe("ip_a");
        let ev = Arc::new(LiveEvent {
            uid: "ipe_1".into(),
            prompt_time: 1.0,
            created_at: 0.0,
            json: "{}".into(),
        });
        hub.deliver("ip_a", ev.clone());
        hub.deliver("ip_b", ev.clone());
        assert_eq!(a.receiver.recv().await.unwrap().event.uid, ev.uid);
        assert_eq!(b.receiver.recv().await.unwrap().event.uid, ev.uid);
        assert!(a.receiver.try_recv().is_err());
    }
}
