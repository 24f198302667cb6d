//! Dev mode (docs/api.md, "Auth"): `POST /api/1/dev/login {"name"}` mints
//! a user token, `GET /api/1/dev/prompts` lists the prompts to take. Both
//! exist only with `--dev`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::error_responses::*;
use super::extract::JsonBody;
use super::prompt_body::PromptView;
use super::reply;
use super::state::AppState;

/// Body of the dev login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevLogin {
    /// The display name, 1–64 characters after trimming.
    #[schema(min_length = 1)]
    name: String,
}

/// `200` of the dev login.
#[derive(Serialize, ToSchema)]
pub struct DevToken<'a> {
    /// The new dev user's `sub`.
    sub: &'a str,
    /// A user token (HS256, one day).
    user_jwt: &'a str,
}

/// `200` of the dev prompt list.
#[derive(Serialize, ToSchema)]
pub struct PromptList<'a> {
    /// Oldest first.
    items: Vec<ListedPrompt<'a>>,
}

/// A prompt in the dev prompt list.
#[derive(Serialize, ToSchema)]
pub struct ListedPrompt<'a> {
    duration_seconds: i64,
    prompt: PromptView<'a>,
    /// `ip_…`
    uid: &'a str,
}

/// Dev mode only (`--dev`): mints a user token for a fresh dev user.
/// Absent from the document, and 404, otherwise.
#[utoipa::path(post, path = "/api/1/dev/login", tag = "dev", operation_id = "dev_login",
    request_body = DevLogin,
    responses(
        (status = 200, description = "A user token.", body = DevToken),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    ))]
pub async fn login(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<DevLogin>,
) -> Result<Response, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::unprocessable("name must be 1 to 64 characters"));
    }
    let sub = crate::domain::uid::generate("dev");
    let jwt = s.auth.mint_dev_user_token(&sub, name).ok_or_else(|| {
        ApiError::unprocessable("dev login needs HS256 user tokens (CHORUS_USER_JWT_SECRET)")
    })?;
    let body = DevToken {
        sub: &sub,
        user_jwt: &jwt,
    };
    Ok(reply(StatusCode::OK, body))
}

/// Dev mode only (`--dev`): the prompts that are not deleted, oldest
/// first, for the web client to list. Absent from the document, and 404,
/// otherwise.
#[utoipa::path(get, path = "/api/1/dev/prompts", tag = "dev", operation_id = "dev_prompts",
    responses(
        (status = 200, description = "The live prompts.", body = PromptList),
        (status = 503, response = Unavailable),
    ))]
pub async fn prompts(State(s): State<AppState>) -> Result<Response, ApiError> {
    let prompts = s.store.list_prompts().await?;
    let items = prompts.iter().map(|p| ListedPrompt {
        duration_seconds: p.duration_seconds,
        prompt: (&p.prompt).into(),
        uid: &p.uid,
    });
    let body = PromptList {
        items: items.collect(),
    };
    Ok(reply(StatusCode::OK, body))
}
