//! The publishing side: one task per process sends the queued messages in
//! pipelines, one round trip per batch, on a connection of its own.
//!
//! A request hands its event's message to the queue and goes on, so a
//! Redis that is slow, down, or behind a connection that silently stopped
//! forwarding adds nothing to the request. A batch that fails or gets no
//! answer within [`SEND_TIMEOUT`] is kept and sent again on a fresh
//! connection: subscribers may then receive a message twice (viewers
//! deliver each event once) but a short outage loses nothing. While
//! Redis stays away the queue keeps the newest [`MAX_PENDING`] messages;
//! older ones are dropped (and counted), and the subscribers' recovery
//! from storage covers them (docs/scaling.md, "Recovery from storage").

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;

use crate::metrics as m;

/// Longest wait for a batch's answer before the connection is replaced.
const SEND_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest wait for a new connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Most messages in one pipeline.
const MAX_BATCH: usize = 512;
/// Most messages kept while Redis is unreachable.
const MAX_PENDING: usize = 65_536;
/// Pause between attempts while Redis is unreachable.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A message on its way to a channel.
struct Outgoing {
    channel: String,
    payload: String,
}

/// The connection the task last opened, for readiness checks.
type Shared = Arc<Mutex<Option<MultiplexedConnection>>>;

/// The queue of the publishing task; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    queue: mpsc::UnboundedSender<Outgoing>,
    client: redis::Client,
    connection: Shared,
}

impl Publisher {
    /// Starts the publishing task.
    pub fn start(client: redis::Client) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        let connection = Shared::default();
        tokio::spawn(run(client.clone(), rx, connection.clone()));
        Publisher {
            queue,
            client,
            connection,
        }
    }

    /// Queues `payload` for `channel`.
    pub fn send(&self, channel: String, payload: String) {
        let _ = self.queue.send(Outgoing { channel, payload });
    }

    /// Whether Redis answers a PING within a second.
    pub async fn ping(&self) -> Result<(), String> {
        let current = self.connection.lock().expect("publisher lock").clone();
        let mut conn = match current {
            Some(conn) => conn,
            None => connect(&self.client).await?,
        };
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

async fn connect(client: &redis::Client) -> Result<MultiplexedConnection, String> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(None);
    match tokio::time::timeout(
        CONNECT_TIMEOUT * 2,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(format!("redis: {e}")),
        Err(_) => Err("redis: no connection within 2 s".into()),
    }
}

/// Moves what is queued into `pending`, dropping the oldest past
/// [`MAX_PENDING`].
fn take_queued(rx: &mut mpsc::UnboundedReceiver<Outgoing>, pending: &mut VecDeque<Outgoing>) {
    while let Ok(message) = rx.try_recv() {
        pending.push_back(message);
    }
    let excess = pending.len().saturating_sub(MAX_PENDING);
    if excess > 0 {
        pending.drain(..excess);
        metrics::counter!(m::PUBSUB_PUBLISH_FAILURES, "outcome" => "dropped")
            .increment(excess as u64);
        tracing::warn!(
            dropped = excess,
            "redis unreachable: dropped the oldest queued messages"
        );
    }
}

async fn run(client: redis::Client, mut rx: mpsc::UnboundedReceiver<Outgoing>, shared: Shared) {
    let mut pending = VecDeque::new();
    let mut conn: Option<MultiplexedConnection> = None;
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(message) => pending.push_back(message),
                None => return,
            }
        }
        take_queued(&mut rx, &mut pending);
        let mut c = match conn.take() {
            Some(c) => c,
            None => match connect(&client).await {
                Ok(c) => {
                    *shared.lock().expect("publisher lock") = Some(c.clone());
                    c
                }
                Err(e) => {
                    tracing::warn!(error = %e, queued = pending.len(), "redis publisher cannot connect");
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            },
        };
        let n = pending.len().min(MAX_BATCH);
        let mut pipe = redis::pipe();
        for message in pending.range(..n) {
            pipe.publish(&message.channel, &message.payload).ignore();
        }
        match tokio::time::timeout(SEND_TIMEOUT, pipe.query_async::<()>(&mut c)).await {
            Ok(Ok(())) => {
                pending.drain(..n);
                conn = Some(c);
            }
            failed => {
                let error = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no answer within {SEND_TIMEOUT:?}"),
                };
                // The connection may be dead without knowing it: a fresh
                // one sends the batch again.
                shared.lock().expect("publisher lock").take();
                metrics::counter!(m::PUBSUB_PUBLISH_FAILURES, "outcome" => "retried")
                    .increment(n as u64);
                tracing::warn!(%error, batch = n, "publishing to redis failed; sending again on a new connection");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}
