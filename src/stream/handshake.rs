//! The handshake (docs/stream-protocol.md, "Handshake"): `authorize`, then
//! the clock sync (`sync_request` → `sync_response`), then `auth_response`.
//! The caller bounds the whole of it in time
//! ([`super::admission::StreamSettings::handshake_timeout`]); the stream
//! takes its slot ([`super::admission`]) once the token is verified.

use std::time::Instant;

use futures::{Sink, Stream, StreamExt};
use serde_json::json;

use super::StreamContext;
use super::admission::{Full, PendingSlot, StreamSlot};
use super::clock::PromptClock;
use super::packets::{self, Authorize, ClientPacket, SyncResponse};
use super::socket::{Incoming, Outgoing, send};
use crate::auth::PromptGrant;
use crate::domain::prompt::PromptRecord;
use crate::pubsub::Subscription;

/// Why a handshake failed.
pub enum Refusal {
    /// Send an error packet (code, type, message), then close.
    Error(u16, &'static str, String),
    /// The process is at its stream limit: `too_many_streams`, then close 1013.
    Busy,
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
    /// What its prompt token grants (the user, the expiry).
    pub grant: PromptGrant,
    /// Its place among the process's streams, held while it is open.
    pub slot: StreamSlot,
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
    let text = read.await?;
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

/// The prompt a valid `authorize` names, if it is live, and what its
/// token grants.
async fn authorized_prompt(
    ctx: &StreamContext,
    opts: &Authorize,
) -> Result<(PromptRecord, PromptGrant), Refusal> {
    opts.validate().map_err(unprocessable)?;
    let grant = ctx
        .auth
        .verify_prompt_grant_for(&opts.jwt, &opts.interactive_prompt_uid)
        .map_err(|_| {
            Refusal::Error(
                403,
                "forbidden",
                "the token is invalid, expired or for another prompt".into(),
            )
        })?;
    match ctx.store.prompt(&opts.interactive_prompt_uid).await {
        Ok(Some(p)) if p.deleted_at.is_none() => Ok((p, grant)),
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

/// A stream slot for an authorized viewer, in place of its pending one.
fn admit(
    ctx: &StreamContext,
    pending: PendingSlot,
    grant: &PromptGrant,
) -> Result<StreamSlot, Refusal> {
    ctx.admission
        .admit(pending, grant.user.as_deref())
        .map_err(|full| match full {
            Full::Server => Refusal::Busy,
            Full::User => Refusal::Error(
                429,
                "too_many_user_streams",
                format!(
                    "you already have {} streams open on this server; close one first",
                    ctx.admission.settings().max_per_user
                ),
            ),
        })
}

/// Runs the handshake on a new connection holding the `pending` slot.
pub async fn handshake<Si, St>(
    sink: &mut Si,
    incoming: &mut St,
    ctx: &StreamContext,
    pending: PendingSlot,
) -> Result<Ready, Refusal>
where
    Si: Sink<Outgoing> + Unpin,
    St: Stream<Item = Incoming> + Unpin,
{
    let opts: Authorize = data_of(next_packet(incoming).await?, "authorize")?;
    let (prompt, grant) = authorized_prompt(ctx, &opts).await?;
    let slot = admit(ctx, pending, &grant)?;
    // Subscribe before the clock starts so nothing published from here on is missed.
    let subscription = ctx.hub.subscribe(&prompt.uid);
    send(sink, packets::server_packet("sync_request", json!({})))
        .await
        .map_err(|_| Refusal::Gone)?;
    let sync_sent = Instant::now();
    let sync: SyncResponse = data_of(next_packet(incoming).await?, "sync_response")?;
    let arrived = Instant::now();
    let latest = prompt.duration_seconds as f64 + opts.lookback;
    sync.validate(latest).map_err(unprocessable)?;
    send(sink, packets::server_packet("auth_response", json!({})))
        .await
        .map_err(|_| Refusal::Gone)?;
    Ok(Ready {
        prompt,
        opts,
        clock: PromptClock::new(sync_sent, arrived, sync),
        subscription,
        grant,
        slot,
    })
}
