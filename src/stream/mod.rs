//! The live stream (docs/stream-protocol.md): what a viewer's WebSocket
//! carries, independent of HTTP. `crate::http` upgrades the request and
//! hands the socket's two halves to [`serve`].
//!
//! A viewer authorizes, syncs its clock, and then receives `event_batch`
//! packets: near-live events from pub/sub the moment they are published
//! (if their prompt time is within its window), and stored events replayed
//! one one-second bucket at a time, thinned to the bandwidth left over.
//!
//! # Layout
//! * [`handshake`] — `authorize`, `sync_request`/`sync_response`, `auth_response`.
//! * [`viewer`] — one authorized viewer's state machine: routing published
//!   events, gathering each tick's batch within the bandwidth.
//! * [`connection`] — the loop of one connection: ticks, replay loads,
//!   sends, the endings; generic over the socket ([`socket`]).
//! * [`clock`], [`pacing`], [`replay`], [`packets`] — the pure pieces.
//! * [`buckets`] — replay buckets loaded once and shared by a prompt's viewers.
//! * [`admission`] — the slots: pending sockets, streams, each user's streams.

pub mod admission;
pub mod buckets;
pub mod clock;
pub mod connection;
pub mod handshake;
pub mod pacing;
pub mod packets;
pub mod replay;
pub mod socket;
pub mod viewer;

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::Auth;
use crate::pubsub::Hub;
use crate::storage::Store;

pub use admission::StreamSettings;
pub use connection::serve;
pub use socket::{Incoming, Outgoing};

/// Largest client packet accepted, in bytes.
pub const MAX_PACKET_BYTES: usize = 16 * 1024;

/// What a stream needs of the server; cheap to clone.
#[derive(Clone)]
pub struct StreamContext {
    /// Prompts and replayed events.
    pub store: Store,
    /// This process's fan-out of published events.
    pub hub: Hub,
    /// Verifies the prompt token of `authorize`.
    pub auth: Arc<Auth>,
    /// The slots of pending sockets and of streams.
    pub admission: Arc<admission::Admission>,
    /// Becomes `true` when the server starts draining (streams close with 1001).
    pub shutdown: watch::Receiver<bool>,
    /// Replay buckets shared by the viewers of each prompt.
    pub buckets: buckets::ReplayBuckets,
}

impl StreamContext {
    /// A context serving streams within the limits of `settings`.
    pub fn new(
        store: Store,
        hub: Hub,
        auth: Arc<Auth>,
        settings: StreamSettings,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        StreamContext {
            store,
            hub,
            auth,
            admission: Arc::new(admission::Admission::new(settings)),
            shutdown,
            buckets: buckets::ReplayBuckets::default(),
        }
    }
}

#[cfg(test)]
mod tests;
