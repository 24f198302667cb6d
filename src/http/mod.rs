//! The HTTP API (docs/api.md): one file per resource, one error type, auth as
//! extractors.

pub mod dev;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod live;
pub mod observe;
pub mod openapi;
pub mod prompts;
pub mod rate_limit;
pub mod search;
pub mod state;
pub mod stats;
pub mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use state::AppState;

/// Largest request body (docs/api.md, "Limits and bad input").
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole API.
pub fn router(state: AppState) -> Router {
    let mut api = Router::new()
        .route("/api/1/interactive_prompts", post(prompts::create))
        .route(
            "/api/1/interactive_prompts/start_session",
            post(prompts::start_session),
        )
        .route(
            "/api/1/interactive_prompts/{uid}",
            get(prompts::read).delete(prompts::delete),
        )
        .route("/api/1/interactive_prompts/events/stats", get(stats::stats))
        .route(
            "/api/1/interactive_prompts/events/stats/timeline",
            get(stats::timeline),
        )
        .route(
            "/api/1/interactive_prompts/events/search",
            post(search::search),
        )
        .merge(events::routes())
        .route("/api/2/interactive_prompts/live", get(live::live))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(observe::render))
        .route("/openapi.json", get(openapi::serve));
    if state.dev {
        api = api
            .route("/api/1/dev/login", post(dev::login))
            .route("/api/1/dev/prompts", get(dev::prompts));
    }
    api = api.merge(web::routes());
    api.fallback(|| async { error::ApiError::not_found("not_found", "no such route") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(observe::track))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(observe::CountingRequestId::default()))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
                }))
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
        .with_state(state)
}
