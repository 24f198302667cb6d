//! `GET /api/2/interactive_prompts/live`: the route of the live stream
//! (docs/stream-protocol.md), served by [`crate::stream::live`].

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::response::Response;

use super::error_responses::{NotAnUpgrade, UpgradeRequired};
use super::state::AppState;

/// The live stream: a WebSocket upgrade; the packets are described in
/// docs/stream-protocol.md.
#[utoipa::path(get, path = "/api/2/interactive_prompts/live", tag = "stream",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol. The client then sends `authorize` (with the prompt token) and `sync_response` packets."),
        (status = 400, response = NotAnUpgrade),
        (status = 426, response = UpgradeRequired),
    ))]
pub async fn live(State(state): State<AppState>, request: Request) -> Response {
    crate::stream::live.call(request, state).await
}
