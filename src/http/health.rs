//! `GET /healthz` (process up) and `GET /readyz` (dependencies reachable).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::state::AppState;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The database (and Redis, when configured) answer.
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = s.store.ping().await.map_err(|e| e.to_string());
    let pubsub = s.pubsub.ping().await;
    let ok = database.is_ok() && pubsub.is_ok();
    let show = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => json!(e),
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(
            json!({"status": if ok { "ok" } else { "unavailable" }, "database": show(&database), "pubsub": show(&pubsub)}),
        ),
    )
}
