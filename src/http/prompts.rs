//! Prompts (admin) and sessions (users): docs/api.md, "Prompts" and
//! "Sessions".

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, kind};
use super::error_responses::*;
use super::extract::{Admin, JsonBody, User};
use super::prompt_body::{PromptInput, PromptView};
use super::reply;
use super::state::AppState;
use crate::domain::prompt::{Prompt, PromptRecord, parse_duration};
use crate::storage::StartedSession;

/// Body of `POST /api/1/interactive_prompts`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrompt {
    prompt: PromptInput,
    /// Seconds, 1 … 86 400.
    #[schema(minimum = 1, maximum = 86_400)]
    duration_seconds: i64,
}

// The members of this module's bodies are in alphabetical order, as they
// have always been serialized.
/// `201` of `POST /api/1/interactive_prompts`.
#[derive(Serialize, ToSchema)]
pub struct PromptCreated<'a> {
    /// Unix seconds.
    created_at: f64,
    duration_seconds: i64,
    prompt: PromptView<'a>,
    /// `ip_…`
    uid: &'a str,
}

impl<'a> From<&'a PromptRecord> for PromptCreated<'a> {
    fn from(p: &'a PromptRecord) -> Self {
        PromptCreated {
            created_at: p.created_at,
            duration_seconds: p.duration_seconds,
            prompt: (&p.prompt).into(),
            uid: &p.uid,
        }
    }
}

/// A stored prompt, as admins read it.
#[derive(Serialize, ToSchema)]
#[schema(as = PromptRecord)]
pub struct StoredPrompt<'a> {
    /// Unix seconds.
    created_at: f64,
    /// Unix seconds when soft-deleted, else null.
    #[schema(required = true)]
    deleted_at: Option<f64>,
    duration_seconds: i64,
    prompt: PromptView<'a>,
    /// `ip_…`
    uid: &'a str,
}

impl<'a> From<&'a PromptRecord> for StoredPrompt<'a> {
    fn from(p: &'a PromptRecord) -> Self {
        StoredPrompt {
            created_at: p.created_at,
            deleted_at: p.deleted_at,
            duration_seconds: p.duration_seconds,
            prompt: (&p.prompt).into(),
            uid: &p.uid,
        }
    }
}

/// Creates a prompt.
#[utoipa::path(post, path = "/api/1/interactive_prompts", tag = "prompts",
    security(("admin_token" = [])),
    request_body = CreatePrompt,
    responses(
        (status = 201, description = "Created.", body = PromptCreated),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub async fn create(
    _: Admin,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<CreatePrompt>,
) -> Result<Response, ApiError> {
    let prompt =
        Prompt::parse(body.prompt.into()).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let duration = parse_duration(body.duration_seconds)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let record = s.store.create_prompt(prompt, duration).await?;
    Ok(reply(StatusCode::CREATED, PromptCreated::from(&record)))
}

/// The `{uid}` of a prompt route. One that is not UTF-8 names no prompt:
/// 404 like any other unknown uid (axum's own rejection is plain text).
fn uid_param(uid: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    uid.map(|Path(uid)| uid).map_err(|_| prompt_not_found())
}

fn prompt_not_found() -> ApiError {
    ApiError::not_found(kind::NOT_FOUND, "interactive prompt not found")
}

/// Reads a prompt, deleted or not.
#[utoipa::path(get, path = "/api/1/interactive_prompts/{uid}", tag = "prompts",
    security(("admin_token" = [])),
    params(("uid" = String, Path, description = "The prompt's uid (`ip_…`).")),
    responses(
        (status = 200, description = "The prompt.", body = StoredPrompt),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 503, response = Unavailable),
    ))]
pub async fn read(
    _: Admin,
    State(s): State<AppState>,
    uid: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let record = s
        .store
        .prompt(&uid_param(uid)?)
        .await?
        .ok_or_else(prompt_not_found)?;
    Ok(reply(StatusCode::OK, StoredPrompt::from(&record)))
}

/// Soft-deletes a prompt: new sessions and events are refused; reads work.
#[utoipa::path(delete, path = "/api/1/interactive_prompts/{uid}", tag = "prompts",
    security(("admin_token" = [])),
    params(("uid" = String, Path, description = "The prompt's uid (`ip_…`).")),
    responses(
        (status = 200, description = "The deleted prompt.", body = StoredPrompt),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 503, response = Unavailable),
    ))]
pub async fn delete(
    _: Admin,
    State(s): State<AppState>,
    uid: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let record = s
        .store
        .delete_prompt(&uid_param(uid)?)
        .await?
        .ok_or_else(prompt_not_found)?;
    Ok(reply(StatusCode::OK, StoredPrompt::from(&record)))
}

/// Body of `POST /api/1/interactive_prompts/start_session`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    interactive_prompt_uid: String,
}

/// `201` of `POST /api/1/interactive_prompts/start_session`.
#[derive(Serialize, ToSchema)]
pub struct SessionStarted<'a> {
    duration_seconds: i64,
    /// The prompt token (docs/api.md, "Auth"), valid for 30 minutes.
    jwt: &'a str,
    prompt: PromptView<'a>,
    /// `ips_…`
    session_uid: &'a str,
    /// The prompt's uid.
    uid: &'a str,
}

/// Starts a session for the user: returns its uid and a prompt token.
#[utoipa::path(post, path = "/api/1/interactive_prompts/start_session", tag = "prompts",
    security(("user_token" = [])),
    request_body = StartSession,
    responses(
        (status = 201, description = "Started.", body = SessionStarted),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ))]
pub async fn start_session(
    User(user): User,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<StartSession>,
) -> Result<Response, ApiError> {
    let sub = user.sub.clone();
    limit_session_starts(&s, &sub)?;
    let started = s
        .store
        .start_session(&body.interactive_prompt_uid, user)
        .await?
        .ok_or_else(prompt_not_found)?;
    Ok(session_started(&s, &started, &sub))
}

/// The per-user limit on sessions started (docs/operations.md, "Limits").
pub fn limit_session_starts(s: &AppState, sub: &str) -> Result<(), ApiError> {
    s.limits
        .session_starts
        .take(sub)
        .map_err(|wait| super::rate_limit::refused("sessions started by this user", wait))
}

/// The `201` of a started session, with a prompt token minted for its
/// prompt and the user `sub` (the stream counts each user's streams by it).
pub fn session_started(s: &AppState, started: &StartedSession, sub: &str) -> Response {
    let jwt = s.auth.mint_prompt_token_for(&started.prompt.uid, sub);
    let body = SessionStarted {
        duration_seconds: started.prompt.duration_seconds,
        jwt: &jwt,
        prompt: (&started.prompt.prompt).into(),
        session_uid: &started.session_uid,
        uid: &started.prompt.uid,
    };
    reply(StatusCode::CREATED, body)
}
