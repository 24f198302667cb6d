//! Pub/sub of accepted events (docs/stream-protocol.md, "Pub/sub").
//!
//! After an event commits, the server publishes it on the prompt's channel
//! `ps:interactive_prompts:{prompt_uid}:events`. [`Hub`] fans messages out
//! to the live viewers of this process, holding one subscription per
//! prompt with viewers (not one per viewer); the backend decides where
//! messages travel: within this process ([`local`]) or through Redis.

pub mod hub;
pub mod local;
pub mod message;
pub mod redis;

pub use hub::{Hub, Published, Subscription};
pub use message::LiveEvent;

/// The channel name of a prompt's events.
pub fn channel(prompt_uid: &str) -> String {
    format!("ps:interactive_prompts:{prompt_uid}:events")
}

use std::sync::Arc;

use crate::domain::event::StoredEvent;
use crate::storage::Store;

/// The pub/sub backend, chosen by configuration.
#[derive(Clone)]
pub enum PubSub {
    /// In-process (the default; one server process).
    Local(local::LocalPubSub),
    /// Redis, shared by several server processes.
    Redis(redis::RedisPubSub),
}

impl PubSub {
    /// The in-process default.
    pub fn local() -> Self {
        PubSub::Local(local::LocalPubSub::default())
    }

    /// Connects to Redis (`--redis`); after a gap in the subscription,
    /// missed events are read back from `store`.
    pub async fn redis(url: &str, store: Store) -> Result<Self, ::redis::RedisError> {
        Ok(PubSub::Redis(
            redis::RedisPubSub::connect(url, store).await?,
        ))
    }

    /// Publishes a committed event on its prompt's channel (with Redis,
    /// queues it: a request never waits for Redis).
    pub async fn publish(&self, event: &StoredEvent) {
        match self {
            // Nobody else can hear it: skip serializing it for viewers.
            PubSub::Local(l) if !l.hub().has_viewers(&event.interactive_prompt_uid) => {}
            PubSub::Local(l) => l.publish(
                &event.interactive_prompt_uid,
                Arc::new(LiveEvent::from_stored(event)),
            ),
            PubSub::Redis(r) => {
                let message = message::message_json(event);
                r.publish(&event.interactive_prompt_uid, message)
            }
        }
    }

    /// The hub this process's viewers subscribe to.
    pub fn hub(&self) -> &Hub {
        match self {
            PubSub::Local(l) => l.hub(),
            PubSub::Redis(r) => r.hub(),
        }
    }

    /// Whether the backend is reachable.
    pub async fn ping(&self) -> Result<(), String> {
        match self {
            PubSub::Local(_) => Ok(()),
            PubSub::Redis(r) => r.ping().await,
        }
    }
}
