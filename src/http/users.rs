//! Users (admin): erasing one, for a privacy request (docs/api.md, "Data
//! ownership").

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, kind};
use super::error_responses::*;
use super::extract::Admin;
use super::reply;
use super::state::AppState;

/// `200` of `DELETE /api/1/users/{sub}`: what was removed.
#[derive(Serialize, ToSchema)]
pub struct UserErased<'a> {
    /// Events removed.
    events: i64,
    /// Sessions removed, with or without events.
    sessions: i64,
    /// The user's `sub`.
    sub: &'a str,
}

fn user_not_found() -> ApiError {
    ApiError::not_found(kind::USER_NOT_FOUND, "no user with this sub")
}

/// Erases a user: their events, sessions and user row, with every
/// aggregate they contributed to corrected in the same transaction.
#[utoipa::path(delete, path = "/api/1/users/{sub}", tag = "users",
    security(("admin_token" = [])),
    params(("sub" = String, Path, description = "The user's `sub`, percent-encoded.")),
    responses(
        (status = 200, description = "Erased; what was removed.", body = UserErased),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = UserNotFound),
        (status = 503, response = Unavailable),
    ))]
pub async fn erase(
    _: Admin,
    State(s): State<AppState>,
    sub: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    // A `sub` that is not UTF-8 names no user.
    let Path(sub) = sub.map_err(|_| user_not_found())?;
    let erased = s.store.erase_user(&sub).await?.ok_or_else(user_not_found)?;
    // Replay buckets this process loaded before the erasure are not served
    // again (viewers subscribed since never share them anyway).
    for prompt_uid in &erased.prompt_uids {
        s.stream.buckets.forget(prompt_uid);
    }
    tracing::info!(
        sessions = erased.sessions,
        events = erased.events,
        "erased a user"
    );
    let body = UserErased {
        events: erased.events,
        sessions: erased.sessions,
        sub: &erased.sub,
    };
    Ok(reply(StatusCode::OK, body))
}
