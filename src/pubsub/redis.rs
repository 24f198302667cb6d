//! Redis pub/sub: events published by any server process reach the
//! viewers of every process.
//!
//! One subscriber connection per process subscribes to the channel of each
//! prompt that has viewers here (the [`Hub`] tells it when the first viewer
//! arrives and the last leaves). If Redis goes away, the subscriber
//! reconnects with exponential backoff and resubscribes; meanwhile events
//! are still accepted and stored (their publication fails and is logged),
//! and `/readyz` reports the outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use super::channel;
use super::hub::{Hub, Upstream};
use super::message::LiveEvent;

/// Longest a publish may take before it is given up (the event is stored either way).
const PUBLISH_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest reconnection backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long start-up waits for the subscriber's first connection.
const FIRST_SUBSCRIBE_WAIT: Duration = Duration::from_secs(5);

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
    publisher: ConnectionManager,
    hub: Hub,
    subscribed: Arc<AtomicBool>,
}

impl RedisPubSub {
    /// Connects to `url` and starts the subscriber task, waiting (up to
    /// [`FIRST_SUBSCRIBE_WAIT`]) for its first connection, so a server that
    /// starts serving is ready at once.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let publisher = ConnectionManager::new(client.clone()).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let hub = Hub::new(Some(Arc::new(Commands(tx))));
        let subscribed = Arc::new(AtomicBool::new(false));
        let (connected, first) = oneshot::channel();
        tokio::spawn(run_subscriber(
            client,
            hub.clone(),
            rx,
            subscribed.clone(),
            connected,
        ));
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

    /// Publishes an event's message (its JSON text) on its prompt's channel.
    pub async fn publish(&self, prompt_uid: &str, payload: String) {
        let mut conn = self.publisher.clone();
        let sent = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            conn.publish::<_, _, ()>(channel(prompt_uid), payload),
        )
        .await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, prompt_uid, "publishing to Redis failed; the event is stored")
            }
            Err(_) => tracing::warn!(
                prompt_uid,
                "publishing to Redis timed out; the event is stored"
            ),
        }
    }

    /// Whether Redis answers and the subscriber is connected. A connection
    /// broken by an outage reconnects on its first failed command, so one
    /// failed PING is retried once.
    pub async fn ping(&self) -> Result<(), String> {
        let mut result = self.ping_once().await;
        if result.is_err() {
            result = self.ping_once().await;
        }
        result?;
        if self.subscribed.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err("redis subscriber reconnecting".into())
        }
    }

    async fn ping_once(&self) -> Result<(), String> {
        let mut conn = self.publisher.clone();
        match tokio::time::timeout(
            Duration::from_secs(1),
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("redis: {e}")),
            Err(_) => Err("redis: no answer within 1 s".into()),
        }
    }
}

fn prompt_of(channel_name: &str) -> Option<&str> {
    channel_name
        .strip_prefix("ps:interactive_prompts:")?
        .strip_suffix(":events")
}

fn deliver(hub: &Hub, msg: redis::Msg) {
    let Some(prompt_uid) = prompt_of(msg.get_channel_name()) else {
        return;
    };
    match LiveEvent::from_message(msg.get_payload_bytes()) {
        Ok(event) => hub.deliver(prompt_uid, Arc::new(event)),
        Err(e) => tracing::warn!(error = %e, "ignoring a malformed pub/sub message"),
    }
}

async fn run_subscriber(
    client: redis::Client,
    hub: Hub,
    mut commands: mpsc::UnboundedReceiver<Command>,
    subscribed: Arc<AtomicBool>,
    connected: oneshot::Sender<()>,
) {
    let mut connected = Some(connected);
    let mut backoff = Duration::from_millis(100);
    loop {
        if let Ok(pubsub) = client.get_async_pubsub().await {
            let (mut sink, mut stream) = pubsub.split();
            let mut ok = true;
            for prompt in hub.prompts() {
                ok &= sink.subscribe(channel(&prompt)).await.is_ok();
            }
            if ok {
                subscribed.store(true, Ordering::Relaxed);
                if let Some(first) = connected.take() {
                    let _ = first.send(());
                }
                backoff = Duration::from_millis(100);
                tracing::info!("redis subscriber connected");
                loop {
                    tokio::select! {
                        msg = stream.next() => match msg {
                            Some(msg) => deliver(&hub, msg),
                            None => break,
                        },
                        cmd = commands.recv() => {
                            let result = match cmd {
                                Some(Command::Subscribe(p)) => sink.subscribe(channel(&p)).await,
                                Some(Command::Unsubscribe(p)) => sink.unsubscribe(channel(&p)).await,
                                None => return,
                            };
                            if result.is_err() {
                                break;
                            }
                        }
                    }
                }
            }
        }
        subscribed.store(false, Ordering::Relaxed);
        tracing::warn!(retry_in = ?backoff, "redis subscriber disconnected; reconnecting");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip() {
        assert_eq!(prompt_of(&channel("ip_abc")), Some("ip_abc"));
        assert_eq!(prompt_of("other"), None);
    }
}
