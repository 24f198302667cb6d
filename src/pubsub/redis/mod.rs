//! Redis pub/sub: events published by any server process reach the
//! viewers of every process (docs/stream-protocol.md, "Pub/sub";
//! docs/scaling.md, "Recovery from storage").
//!
//! * [`publisher`] — one task and connection per process sends the
//!   committed events' messages, pipelined; a request only queues its
//!   event, so a slow or absent Redis never holds a request up. A failed
//!   send is sent again on a fresh connection.
//! * [`subscriber`] — one connection per process subscribes to the channel
//!   of each prompt with viewers here (the [`Hub`] says when the first
//!   viewer arrives and the last leaves), checks its health with a PING
//!   every half second, and reconnects with backoff when it fails.
//! * [`recovery`] — after a gap in the subscription, the events stored
//!   since the last message received are read back from the database and
//!   handed to this process's viewers as if they had arrived live.

mod publisher;
mod recovery;
mod subscriber;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::hub::{Hub, Upstream};
use crate::storage::Store;

/// How start-up waits for the subscriber's first connection.
const FIRST_SUBSCRIBE_WAIT: Duration = Duration::from_secs(5);

/// A change of the prompts this process listens to.
enum Command {
    Subscribe(String),
    Unsubscribe(String),
}

struct Commands(mpsc::UnboundedSender<Command>);

impl Upstream for Commands {
    fn subscribe(&self, prompt_uid: &str) {
        let _ = self.0.send(Command::Subscribe(prompt_uid.to_owned()));
    }
    fn unsubscribe(&self, prompt_uid: &str) {
        let _ = self.0.send(Command::Unsubscribe(prompt_uid.to_owned()));
    }
}

/// Redis-backed pub/sub; cheap to clone.
#[derive(Clone)]
pub struct RedisPubSub {
    publisher: publisher::Publisher,
    hub: Hub,
    subscribed: Arc<AtomicBool>,
}

impl RedisPubSub {
    /// Connects to `url` (failing if Redis does not answer) and starts the
    /// publisher and subscriber tasks,
    /// waiting (up to [`FIRST_SUBSCRIBE_WAIT`]) for the subscriber's first
    /// connection, so a server that starts serving is ready at once.
    /// After a gap in its subscription, the events missed are read back
    /// from `store`.
    pub async fn connect(url: &str, store: Store) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        // An unreachable Redis at start-up is a configuration error; later
        // outages are ridden out.
        drop(client.get_multiplexed_async_connection().await?);
        let publisher = publisher::Publisher::start(client.clone());
        let (tx, rx) = mpsc::unbounded_channel();
        let hub = Hub::new(Some(Arc::new(Commands(tx))));
        let subscribed = Arc::new(AtomicBool::new(false));
        let (connected, first) = oneshot::channel();
        tokio::spawn(subscriber::run(subscriber::Subscriber {
            client,
            hub: hub.clone(),
            commands: rx,
            subscribed: subscribed.clone(),
            connected: Some(connected),
            recovery: recovery::Recovery::new(store, hub.clone()),
        }));
        if tokio::time::timeout(FIRST_SUBSCRIBE_WAIT, first)
            .await
            .is_err()
        {
            tracing::warn!(
                "the redis subscriber is not connected yet; /readyz says so until it is"
            );
        }
        Ok(RedisPubSub {
            publisher,
            hub,
            subscribed,
        })
    }

    /// The hub this process's viewers subscribe to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Queues an event's message (its JSON text) for its prompt's channel;
    /// never waits for Redis.
    pub fn publish(&self, prompt_uid: &str, payload: String) {
        self.publisher.send(super::channel(prompt_uid), payload);
    }

    /// Whether Redis answers the publisher and the subscriber is connected
    /// (its health is checked twice a second).
    pub async fn ping(&self) -> Result<(), String> {
        self.publisher.ping().await?;
        if self.subscribed.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err("redis subscriber reconnecting".into())
        }
    }
}
