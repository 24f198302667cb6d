//! `GET /healthz` (process up) and `GET /readyz` (dependencies reachable):
//! docs/api.md, "Operations endpoints".

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::reply;
use super::state::AppState;

/// `200` of `/healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(pattern = "^ok$")]
    status: &'static str,
}

// Members in alphabetical order, as this body has always been serialized.
/// `/readyz`: `ok` or `unavailable`, per dependency. Why one is down is
/// logged, never shown: a driver's message may name hosts, users or
/// versions, and anyone may ask.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    database: &'static str,
    /// `ok` or `unavailable` (always `ok` with in-process pub/sub).
    #[schema(pattern = "^(ok|unavailable)$")]
    pubsub: &'static str,
    /// `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    status: &'static str,
}

/// `ok`, or `unavailable` with the reason logged.
fn show<E: std::fmt::Display>(dependency: &str, result: &Result<(), E>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(dependency, error = %e, "/readyz: a dependency is unavailable");
            "unavailable"
        }
    }
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up.", body = Health)))]
pub async fn healthz() -> Response {
    reply(StatusCode::OK, Health { status: "ok" })
}

/// The database (and Redis, when configured) answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 503, description = "A dependency is unreachable.", body = Readiness),
    ))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    let database = s.store.ping().await;
    let pubsub = s.pubsub.ping().await;
    let ok = database.is_ok() && pubsub.is_ok();
    let (status, word) = if ok {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let body = Readiness {
        database: show("database", &database),
        pubsub: show("pubsub", &pubsub),
        status: word,
    };
    reply(status, body)
}
