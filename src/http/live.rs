//! `GET /api/2/interactive_prompts/live`: the WebSocket upgrade of the live
//! stream. The protocol itself is [`crate::stream`], which knows nothing of
//! HTTP: this route turns the socket's messages into its frames.

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt, future};

use super::error::{ApiError, kind};
use super::error_responses::{NotAnUpgrade, UpgradeRequired};
use super::state::AppState;
use crate::stream::{self, Incoming, MAX_PACKET_BYTES, Outgoing, StreamContext};

/// Upgrades the request and serves the stream. A request that is not a
/// WebSocket upgrade gets a JSON error like every other route.
#[utoipa::path(get, path = "/api/2/interactive_prompts/live", tag = "stream",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol. The client then sends `authorize` (with the prompt token) and `sync_response` packets (docs/stream-protocol.md)."),
        (status = 400, response = NotAnUpgrade),
        (status = 426, response = UpgradeRequired),
    ))]
pub async fn live(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<AppState>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            let kind = match e.status() {
                StatusCode::UPGRADE_REQUIRED => kind::UPGRADE_REQUIRED,
                _ => kind::BAD_REQUEST,
            };
            return ApiError::new(e.status(), kind, e.body_text()).into_response();
        }
    };
    let ctx = state.stream.clone();
    // Small buffers: clients send three small packets, and each server
    // packet is flushed as it is sent; 128 KiB defaults would cost a
    // premiere's thousands of viewers far more than their events do. A
    // frame is refused by its header when larger than a packet may be, so
    // no socket, authorized or not, makes the server buffer more (the
    // default would reserve 16 MiB on a header's word).
    ws.max_message_size(MAX_PACKET_BYTES)
        .max_frame_size(MAX_PACKET_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| serve(socket, ctx))
}

/// Serves the stream on a WebSocket.
async fn serve(socket: WebSocket, ctx: StreamContext) {
    let (sink, messages) = socket.split();
    let sink = sink.with(|frame| future::ready(Ok::<_, axum::Error>(message_of(frame))));
    let incoming = messages.map(incoming_of);
    stream::serve(sink, incoming, ctx).await
}

fn message_of(frame: Outgoing) -> Message {
    match frame {
        Outgoing::Text(text) => Message::Text(text.into()),
        Outgoing::Close(code, reason) => Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })),
    }
}

fn incoming_of(message: Result<Message, axum::Error>) -> Incoming {
    match message {
        Ok(Message::Text(text)) => Incoming::Text(text.as_str().to_owned()),
        Ok(Message::Binary(bytes)) => Incoming::Binary(bytes.to_vec()),
        Ok(Message::Ping(_) | Message::Pong(_)) => Incoming::Control,
        Ok(Message::Close(_)) | Err(_) => Incoming::Closed,
    }
}
