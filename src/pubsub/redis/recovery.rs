//! Recovery from storage after a gap in the subscription (docs/scaling.md,
//! "Recovery from storage"). Pub/sub is a delivery path, not the record:
//! once the subscription is back, every event stored since the gap began
//! is read from the database, per prompt with viewers here, and handed to
//! the hub as if it had just arrived live. Each viewer then judges it at
//! its own prompt time (near-live within its window, replay if ahead of an
//! already loaded bucket, nothing if behind its lookback), delivers it at
//! most once (it may also have arrived live), and within its bandwidth.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::event::StoredEvent;
use crate::metrics as m;
use crate::pubsub::hub::{Hub, TOPIC_CAPACITY};
use crate::pubsub::message::LiveEvent;
use crate::storage::{StorageError, Store};

/// How far before the last message received the read starts. An event is
/// stamped `created_at` by the process that accepted it, before its batch
/// commits and before it is published: this covers that delay and clock
/// differences between processes. Reading too far back only costs reads:
/// viewers skip what they already have.
pub const MARGIN_SECONDS: f64 = 2.0;
/// Attempts at reading a prompt's gap while the database is failing.
const ATTEMPTS: u32 = 3;

/// Reads the events a gap missed and hands them to the hub.
#[derive(Clone)]
pub struct Recovery {
    store: Store,
    hub: Hub,
}

impl Recovery {
    /// Recovery reading from `store` for the viewers of `hub`.
    pub fn new(store: Store, hub: Hub) -> Self {
        Recovery { store, hub }
    }

    /// Recovers, in the background, the events of `prompts` stored since
    /// `gap_from` (unix seconds).
    pub fn spawn(&self, prompts: Vec<String>, gap_from: f64) {
        if prompts.is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            for prompt_uid in prompts {
                this.recover(&prompt_uid, gap_from - MARGIN_SECONDS).await;
            }
        });
    }

    async fn recover(&self, prompt_uid: &str, since: f64) {
        for attempt in 1..=ATTEMPTS {
            match self.read(prompt_uid, since).await {
                Ok(events) => {
                    let n = events.len();
                    for e in &events {
                        self.hub
                            .deliver(prompt_uid, Arc::new(LiveEvent::from_stored(e)));
                    }
                    metrics::counter!(m::PUBSUB_RECOVERED).increment(n as u64);
                    tracing::info!(
                        prompt_uid,
                        events = n,
                        since,
                        "recovered a pub/sub gap from storage"
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, prompt_uid, attempt, "reading a pub/sub gap from storage failed");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
    }

    /// The prompt's events stored since `since`, oldest first; at most a
    /// feed's worth (the newest), as viewers could not read more at once.
    async fn read(&self, prompt_uid: &str, since: f64) -> Result<Vec<StoredEvent>, StorageError> {
        let Some(prompt) = self.store.prompt(prompt_uid).await? else {
            return Ok(Vec::new());
        };
        self.store
            .committed_since(&prompt, since, TOPIC_CAPACITY as i64)
            .await
    }
}
