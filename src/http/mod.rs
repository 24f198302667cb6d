//! The HTTP API (docs/api.md): one file per resource, one error type, auth
//! as extractors, and wire types that are both what a handler serializes
//! and what `/openapi.json` describes.

mod asset;
pub mod connection;
pub mod console;
pub mod dev;
pub mod embed;
pub mod embed_page;
pub mod error;
pub mod error_responses;
pub mod event_json;
pub mod events;
pub mod export;
pub mod extract;
pub mod faces;
pub mod health;
pub mod listing;
pub mod live;
pub mod named;
pub mod observe;
pub mod openapi;
pub mod prompt_body;
pub mod prompt_token;
pub mod prompts;
pub mod rate_limit;
pub mod search;
pub mod search_request;
pub mod serve;
pub mod state;
pub mod stats;
pub mod timeline_cache;
pub mod users;
pub mod web;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::AppState;

/// Largest request body (docs/api.md, "Limits and bad input").
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON response, serialized now, so that `body` may borrow what the
/// handler owns.
pub fn reply<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, Json(body)).into_response()
}

/// Every route with its description: what [`router`] serves and what
/// `/openapi.json` says (with the dev-only routes when `dev`).
pub fn api(dev: bool) -> OpenApiRouter<AppState> {
    let mut api = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(prompts::create, listing::list))
        .routes(routes!(prompts::start_session))
        .routes(routes!(prompts::read, prompts::delete))
        .routes(routes!(named::start_public))
        .routes(routes!(named::list))
        .routes(routes!(named::put, named::read, named::delete))
        .routes(routes!(prompt_token::mint))
        .routes(routes!(export::export))
        .routes(routes!(stats::stats))
        .routes(routes!(stats::timeline))
        .routes(routes!(search::search))
        .routes(routes!(faces::profile_pictures))
        .routes(routes!(users::erase))
        .routes(routes!(live::live))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(observe::render))
        .routes(routes!(openapi::serve));
    for route in events::routes() {
        api = api.routes(route);
    }
    if dev {
        api = api
            .routes(routes!(dev::login))
            .routes(routes!(dev::prompts));
    }
    api.routes(routes!(embed::page))
        .merge(web::routes())
        .merge(console::routes())
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let (api, _) = api(state.dev).split_for_parts();
    api.fallback(|| async { error::ApiError::not_found(error::kind::NOT_FOUND, "no such route") })
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
