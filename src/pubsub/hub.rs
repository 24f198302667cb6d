//! Fan-out of published events to this process's viewers.

use std::collections::{HashMap, VecDeque, vec_deque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use super::message::LiveEvent;
use crate::domain::clock::now;

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

/// Events kept per prompt before a lagging viewer misses some (it is then
/// told how many it missed and carries on).
pub const TOPIC_CAPACITY: usize = 4096;

/// The recent events of one prompt in this process, oldest first, shared
/// by its viewers: each reads, at its own pace, what was published since
/// its last read. Unlike a broadcast channel, a read clones nothing and
/// touches no per-event counter, so a viewer pays only for the events it
/// keeps (a premiere offers each viewer ten times its bandwidth).
#[derive(Default)]
struct Feed {
    events: RwLock<FeedEvents>,
}

#[derive(Default)]
struct FeedEvents {
    /// Sequence number of `recent[0]`.
    first: u64,
    recent: VecDeque<Published>,
}

impl FeedEvents {
    /// Sequence number of the next event to be published.
    fn end(&self) -> u64 {
        self.first + self.recent.len() as u64
    }
}

impl Feed {
    fn push(&self, published: Published) {
        let mut events = self.events.write().expect("feed lock");
        events.recent.push_back(published);
        if events.recent.len() > TOPIC_CAPACITY {
            events.recent.pop_front();
            events.first += 1;
        }
    }

    fn end(&self) -> u64 {
        self.events.read().expect("feed lock").end()
    }
}

/// A viewer's place in its prompt's [`Feed`].
pub struct FeedReader {
    feed: Arc<Feed>,
    next: u64,
}

impl FeedReader {
    /// Hands `f` the events published since the last read, oldest first,
    /// and returns its result with how many events were missed because
    /// they left the feed before this read. Publishing waits while `f`
    /// runs: keep it short.
    pub fn read<R>(&mut self, f: impl FnOnce(vec_deque::Iter<'_, Published>) -> R) -> (R, u64) {
        let events = self.feed.events.read().expect("feed lock");
        let missed = events.first.saturating_sub(self.next);
        let from = self.next.max(events.first) - events.first;
        self.next = events.end();
        (f(events.recent.range(from as usize..)), missed)
    }
}

/// Receives subscription changes, so a backend can (un)subscribe upstream.
pub trait Upstream: Send + Sync + 'static {
    /// The first viewer of `prompt_uid` in this process arrived.
    fn subscribe(&self, prompt_uid: &str);
    /// The last viewer of `prompt_uid` in this process left.
    fn unsubscribe(&self, prompt_uid: &str);
}

struct Topic {
    feed: Arc<Feed>,
    viewers: usize,
}

/// Per-prompt feeds with viewer counts; cheap to clone.
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
        // The hub lock is not held while the feed waits for its readers.
        let feed = {
            let topics = self.topics.lock().expect("hub lock");
            topics.get(prompt_uid).map(|topic| topic.feed.clone())
        };
        if let Some(feed) = feed {
            feed.push(Published {
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
                feed: Arc::default(),
                viewers: 0,
            });
        topic.viewers += 1;
        let feed = FeedReader {
            next: topic.feed.end(),
            feed: topic.feed.clone(),
        };
        if first && let Some(up) = &self.upstream {
            up.subscribe(prompt_uid);
        }
        Subscription {
            feed,
            subscribed_at: now(),
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
    /// The events published since it started.
    pub feed: FeedReader,
    /// Unix seconds when it started receiving.
    pub subscribed_at: f64,
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

    fn event(uid: &str) -> Arc<LiveEvent> {
        Arc::new(LiveEvent {
            uid: uid.into(),
            prompt_time: 1.0,
            created_at: 0.0,
            json: "{}".into(),
        })
    }

    fn read(s: &mut Subscription) -> (Vec<String>, u64) {
        s.feed
            .read(|events| events.map(|p| p.event.uid.to_string()).collect())
    }

    #[test]
    fn delivered_events_reach_every_viewer_of_the_prompt() {
        let hub = Hub::default();
        let mut a = hub.subscribe("ip_a");
        hub.deliver("ip_a", event("ipe_1"));
        let mut b = hub.subscribe("ip_a");
        hub.deliver("ip_a", event("ipe_2"));
        hub.deliver("ip_b", event("ipe_3"));
        assert_eq!(read(&mut a), (vec!["ipe_1".into(), "ipe_2".into()], 0));
        // A viewer sees what was published after it subscribed, once.
        assert_eq!(read(&mut b), (vec!["ipe_2".into()], 0));
        assert_eq!(read(&mut a), (vec![], 0));
        hub.deliver("ip_a", event("ipe_4"));
        assert_eq!(read(&mut a), (vec!["ipe_4".into()], 0));
    }

    #[test]
    fn a_viewer_that_falls_behind_the_feed_is_told_how_many_it_missed() {
        let hub = Hub::default();
        let mut a = hub.subscribe("ip_a");
        for i in 0..TOPIC_CAPACITY + 5 {
            hub.deliver("ip_a", event(&format!("ipe_{i}")));
        }
        let (uids, missed) = read(&mut a);
        assert_eq!(missed, 5);
        assert_eq!(uids.len(), TOPIC_CAPACITY);
        assert_eq!(uids[0], "ipe_5");
        assert_eq!(read(&mut a), (vec![], 0));
    }
}
