//! The live stream (SPEC §6): `GET /api/2/interactive_prompts/live`.
//!
//! A viewer authorizes, syncs its clock, and then receives `event_batch`
//! packets: near-live events from pub/sub the moment they are published
//! (if their prompt time is within its window), and stored events replayed
//! one one-second bucket at a time, thinned to the bandwidth left over.
//! Each connection is a small state machine in [`connection`]; the pieces
//! it uses ([`clock`], [`pacing`], [`replay`], [`packets`]) are pure and
//! unit-tested.

pub mod clock;
pub mod connection;
pub mod pacing;
pub mod packets;
pub mod replay;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::http::AppState;
use crate::http::error::ApiError;

/// Largest client packet accepted, in bytes.
pub const MAX_PACKET_BYTES: usize = 16 * 1024;

/// Upgrades the request and serves the stream. A request that is not a
/// WebSocket upgrade gets a JSON error like every other route.
pub async fn live(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<AppState>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            let kind = match e.status() {
                StatusCode::UPGRADE_REQUIRED => "upgrade_required",
                _ => "bad_request",
            };
            return ApiError::new(e.status(), kind, e.body_text()).into_response();
        }
    };
    // Small buffers: clients send three small packets, and each server
    // packet is flushed as it is sent; 128 KiB defaults would cost a
    // premiere's thousands of viewers far more than their events do.
    ws.max_message_size(MAX_PACKET_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection::serve(socket, state))
}
