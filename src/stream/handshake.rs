//! The handshake (docs/stream-protocol.md, "Handshake"): `authorize`, then
//! the clock sync (`sync_request` → `sync_response`), then `auth_response`.

use std::time::{Duration, Instant};

use futures::{Sink, Stream, StreamExt};
use serde_json::json;

use super::StreamContext;
use super::clock::PromptClock;
use super::packets::{self, Authorize, ClientPacket, SyncResponse};
use super::socket::{Incoming, Outgoing, send};
use crate::domain::prompt::PromptRecord;
use crate::pubsub::Subscription;

/// How long each handshake packet may take to arrive.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a handshake failed.
pub enum Refusal {
    /// Send an error packet (code, type, message), then close.
    Error(u16, &'static str, String),
    /// The client went away or was too slow; just close.
    Gone,
}

fn unprocessable(message: impl Into<String>) -> Refusal {
    Refusal::Error(422, "unprocessable_entity", message.into())
}

/// An authorized viewer, subscribed to its prompt, with a synced clock.
pub struct Ready {
    /// The prompt watched.
    pub prompt: PromptRecord,
    /// The viewer's `authorize` options.
    pub opts: Authorize,
    /// The viewer's prompt clock.
    pub clock: PromptClock,
    /// Its prompt's published events, from before the clock started.
    pub subscription: Subscription,
}

async fn next_packet<S: Stream<Item = Incoming> + Unpin>(
    incoming: &mut S,
) -> Result<ClientPacket, Refusal> {
    let read = async {
        loop {
            match incoming.next().await {
                Some(Incoming::Text(text)) => return Ok(text),
                Some(Incoming::Binary(bytes)) => {
                    return String::from_utf8(bytes)
                        .map_err(|_| unprocessable("packets are UTF-8 JSON"));
                }
                Some(Incoming::Control) => continue,
                Some(Incoming::Closed) | None => return Err(Refusal::Gone),
            }
        }
    };
    let text = tokio::time::timeout(HANDSHAKE_TIMEOUT, read)
        .await
        .map_err(|_| Refusal::Gone)??;
    serde_json::from_str(&text).map_err(|e| unprocessable(format!("malformed packet: {e}")))
}

fn data_of<T: serde::de::DeserializeOwned>(
    packet: ClientPacket,
    expected: &str,
) -> Result<T, Refusal> {
    if packet.kind != expected {
        return Err(unprocessable(format!(
            "expected a {expected} packet, got {:?}",
            packet.kind
        )));
    }
    serde_json::from_value(packet.data)
        .map_err(|e| unprocessable(format!("malformed {expected} data: {e}")))
}

/// The prompt a valid `authorize` names, if it is live.
async fn authorized_prompt(ctx: &StreamContext, opts: &Authorize) -> Result<PromptRecord, Refusal> {
    opts.validate().map_err(unprocessable)?;
    ctx.auth
        .verify_prompt_for(&opts.jwt, &opts.interactive_prompt_uid)
        .map_err(|_| {
            Refusal::Error(
                403,
                "forbidden",
                "the token is invalid, expired or for another prompt".into(),
            )
        })?;
    match ctx.store.prompt(&opts.interactive_prompt_uid).await {
        Ok(Some(p)) if p.deleted_at.is_none() => Ok(p),
        Ok(_) => Err(Refusal::Error(
            404,
            "not_found",
            "interactive prompt not found".into(),
        )),
        Err(e) => {
            tracing::error!(error = %e, "stream: loading the prompt failed");
            Err(Refusal::Error(
                503,
                "service_unavailable",
                "try again later".into(),
            ))
        }
    }
}

/// Runs the handshake on a new connection.
pub async fn handshake<Si, St>(
    sink: &mut Si,
    incoming: &mut St,
    ctx: &StreamContext,
) -> Result<Ready, Refusal>
where
    Si: Sink<Outgoing> + Unpin,
    St: Stream<Item = Incoming> + Unpin,
{
    let opts: Authorize = data_of(next_packet(incoming).await?, "authorize")?;
    let prompt = authorized_prompt(ctx, &opts).await?;
    // Subscribe before the clock starts so nothing published from here on is missed.
    let subscription = ctx.hub.subscribe(&prompt.uid);
    send(sink, packets::server_packet("sync_request", json!({})))
        .await
        .map_err(|_| Refusal::Gone)?;
    let sync_sent = Instant::now();
    let sync: SyncResponse = data_of(next_packet(incoming).await?, "sync_response")?;
    let arrived = Instant::now();
    sync.validate().map_err(unprocessable)?;
    send(sink, packets::server_packet("auth_response", json!({})))
        .await
        .map_err(|_| Refusal::Gone)?;
    Ok(Ready {
        prompt,
        opts,
        clock: PromptClock::new(sync_sent, arrived, sync),
        subscription,
    })
}
