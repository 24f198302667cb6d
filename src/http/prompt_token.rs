//! A prompt token for the admin (docs/api.md, "Prompt tokens"): the admin
//! console watches a prompt — stats, timeline, search and the live stream
//! all take a prompt token — without starting a session, which would count
//! the admin among the people taking it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, kind};
use super::error_responses::*;
use super::extract::{Admin, Drained};
use super::reply;
use super::state::AppState;

/// `200` of `POST /api/1/interactive_prompts/{uid}/prompt_token`.
#[derive(Serialize, ToSchema)]
pub struct PromptToken<'a> {
    /// Seconds the token stays valid (from now).
    expires_in: u64,
    /// The prompt token: `Authorization` of stats, timeline and search, and
    /// the `jwt` of the stream's `authorize`.
    jwt: &'a str,
    /// The prompt's uid.
    uid: &'a str,
}

/// Mints a prompt token for a prompt, deleted or not (its reads still
/// work), without starting a session.
#[utoipa::path(post, path = "/api/1/interactive_prompts/{uid}/prompt_token", tag = "prompts",
    security(("admin_token" = [])),
    params(("uid" = String, Path, description = "The prompt's uid (`ip_…`).")),
    responses(
        (status = 200, description = "A prompt token for reading the prompt.", body = PromptToken),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 503, response = Unavailable),
    ))]
pub async fn mint(
    _: Admin,
    State(s): State<AppState>,
    uid: Result<Path<String>, PathRejection>,
    _: Drained,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(kind::NOT_FOUND, "interactive prompt not found");
    let uid = uid.map(|Path(uid)| uid).map_err(|_| not_found())?;
    let record = s.store.prompt(&uid).await?.ok_or_else(not_found)?;
    let jwt = s.auth.mint_prompt_token(&record.uid);
    let body = PromptToken {
        expires_in: s.auth.prompt_token_seconds(),
        jwt: &jwt,
        uid: &record.uid,
    };
    Ok(reply(StatusCode::OK, body))
}
