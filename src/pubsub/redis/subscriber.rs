//! The subscribing side: one connection per process, subscribed to the
//! channels of the prompts with viewers here.
//!
//! Its health is checked with a PING every [`HEALTH_EVERY`]: Redis answers
//! on the same connection after every message published before it, so a
//! PONG proves that nothing sent before the PING was lost. A PING (or a
//! (un)subscription) left unanswered for [`ANSWER_TIMEOUT`] means the
//! connection is dead even if the socket does not know it yet (a
//! half-open connection); the subscriber then reconnects with backoff.
//! The gap runs from the last message received — or the last PING
//! answered — until the subscription is back; then the events stored
//! meanwhile are recovered from the database ([`super::recovery`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot};

use super::Command;
use super::recovery::Recovery;
use crate::domain::clock::now;
use crate::metrics as m;
use crate::pubsub::channel;
use crate::pubsub::hub::Hub;
use crate::pubsub::message::LiveEvent;

/// How often the subscriber's connection is checked.
pub const HEALTH_EVERY: Duration = Duration::from_millis(500);
/// Longest wait for Redis to answer the subscriber.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);
/// Shortest and longest reconnection backoff.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the subscriber task owns.
pub struct Subscriber {
    /// Where Redis is.
    pub client: redis::Client,
    /// The viewers of this process.
    pub hub: Hub,
    /// Prompts gaining their first or losing their last viewer.
    pub commands: mpsc::UnboundedReceiver<Command>,
    /// Whether the subscription is up (for `/readyz`).
    pub subscribed: Arc<AtomicBool>,
    /// Told once, on the first connection.
    pub connected: Option<oneshot::Sender<()>>,
    /// Reads back what a gap missed.
    pub recovery: Recovery,
}

/// Runs the subscriber for the life of the process.
pub async fn run(mut s: Subscriber) {
    // Viewers who arrive before the first connection miss what is
    // published meanwhile: the first connection recovers from start-up on.
    let mut gap_from = now();
    let mut backoff = MIN_BACKOFF;
    let mut first = true;
    loop {
        match connect(&s.client, &s.hub).await {
            Ok((sink, stream)) => {
                s.subscribed.store(true, Ordering::Relaxed);
                if let Some(connected) = s.connected.take() {
                    let _ = connected.send(());
                }
                if !first {
                    metrics::counter!(m::PUBSUB_GAPS).increment(1);
                }
                tracing::info!(gap_from, "redis subscriber connected");
                s.recovery.spawn(s.hub.prompts(), gap_from);
                first = false;
                backoff = MIN_BACKOFF;
                let Some(last_heard) = listen(&mut s, sink, stream).await else {
                    return;
                };
                gap_from = last_heard;
                s.subscribed.store(false, Ordering::Relaxed);
            }
            Err(e) => tracing::debug!(error = %e, "redis subscriber cannot connect"),
        }
        tracing::warn!(retry_in = ?backoff, "redis subscriber disconnected; reconnecting");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Within [`ANSWER_TIMEOUT`], or an error.
async fn answered<T>(f: impl Future<Output = redis::RedisResult<T>>) -> Result<T, String> {
    match tokio::time::timeout(ANSWER_TIMEOUT, f).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {ANSWER_TIMEOUT:?}")),
    }
}

/// A new connection subscribed to every prompt with viewers here.
async fn connect(client: &redis::Client, hub: &Hub) -> Result<(PubSubSink, PubSubStream), String> {
    let pubsub = answered(client.get_async_pubsub()).await?;
    let (mut sink, stream) = pubsub.split();
    let channels: Vec<String> = hub.prompts().iter().map(|p| channel(p)).collect();
    if !channels.is_empty() {
        answered(sink.subscribe(&channels)).await?;
    }
    Ok((sink, stream))
}

/// Delivers messages until the connection fails; returns when the last
/// message was received (unix seconds), or `None` when the process is
/// shutting down.
async fn listen(s: &mut Subscriber, mut sink: PubSubSink, mut stream: PubSubStream) -> Option<f64> {
    // Subscribed just now: nothing published before was ours to receive.
    let mut last_heard = now();
    let mut health = tokio::time::interval(HEALTH_EVERY);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(msg) => {
                    last_heard = now();
                    deliver(&s.hub, msg);
                }
                None => return Some(last_heard),
            },
            cmd = s.commands.recv() => {
                let result = match cmd {
                    Some(Command::Subscribe(p)) => answered(sink.subscribe(channel(&p))).await,
                    Some(Command::Unsubscribe(p)) => answered(sink.unsubscribe(channel(&p))).await,
                    None => return None,
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "redis subscriber: a subscription change failed");
                    return Some(last_heard);
                }
            }
            _ = health.tick() => {
                let sent = now();
                match answered(sink.ping::<redis::Value>()).await {
                    Ok(_) => last_heard = last_heard.max(sent),
                    Err(e) => {
                        tracing::warn!(error = %e, "redis subscriber failed its health check");
                        return Some(last_heard);
                    }
                }
            }
        }
    }
}

/// The prompt uid of a channel name.
pub fn prompt_of(channel_name: &str) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip() {
        assert_eq!(prompt_of(&channel("ip_abc")), Some("ip_abc"));
        assert_eq!(prompt_of("other"), None);
    }
}
