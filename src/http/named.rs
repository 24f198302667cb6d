//! Named prompts (docs/api.md, "Named prompts"): definitions by identifier
//! (admin), and `start_public`, which starts a session on a definition's
//! current instance (users).

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
use super::prompts::session_started;
use super::reply;
use super::state::AppState;
use crate::domain::clock::now;
use crate::domain::named::{DefinitionSettings, NamedPrompt, parse_expires, parse_identifier};
use crate::domain::prompt::{Prompt, parse_duration};

/// Body of `PUT /api/1/interactive_prompts/public/{identifier}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutNamedPrompt {
    prompt: PromptInput,
    /// Seconds each instance lasts, 1 … 86 400.
    #[schema(minimum = 1, maximum = 86_400)]
    duration_seconds: i64,
    /// Seconds an instance stays current after it is made, ≥ 60.
    #[schema(minimum = 60)]
    expires_seconds: i64,
}

// Members in alphabetical order, like every body of the API.
/// A named prompt's definition.
#[derive(Serialize, ToSchema)]
pub struct NamedPromptBody<'a> {
    /// The current instance's uid (`ip_…`): the newest, of this version,
    /// made less than `expires_seconds` ago; null when there is none.
    #[schema(required = true)]
    current_uid: Option<&'a str>,
    duration_seconds: i64,
    expires_seconds: i64,
    /// 1–64 characters of `[a-z0-9-]`.
    identifier: &'a str,
    prompt: PromptView<'a>,
    /// Counts the changes of `prompt` or `duration_seconds`, from 1.
    version: i64,
}

impl<'a> NamedPromptBody<'a> {
    fn of(n: &'a NamedPrompt, now: f64) -> Self {
        let d = &n.definition;
        NamedPromptBody {
            current_uid: n.current(now).map(|i| i.prompt.uid.as_str()),
            duration_seconds: d.settings.duration_seconds,
            expires_seconds: d.settings.expires_seconds,
            identifier: &d.identifier,
            prompt: (&d.settings.prompt).into(),
            version: d.version,
        }
    }
}

/// `200` of `GET /api/1/interactive_prompts/public`.
#[derive(Serialize, ToSchema)]
pub struct NamedPromptList<'a> {
    /// Every definition not deleted, by identifier.
    items: Vec<NamedPromptBody<'a>>,
}

/// Body of `POST /api/1/interactive_prompts/start_public`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPublic {
    /// The named prompt's identifier.
    identifier: String,
}

fn unprocessable(e: impl ToString) -> ApiError {
    ApiError::unprocessable(e.to_string())
}

/// The `{identifier}` of a route, checked (422 when it cannot be one).
fn identifier_param(raw: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(raw) = raw.map_err(|_| unprocessable("identifier: must be UTF-8"))?;
    parse_identifier(&raw).map_err(unprocessable)
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(
        kind::PUBLIC_PROMPT_NOT_FOUND,
        format!("no named prompt {identifier:?}"),
    )
}

/// A definition found and not deleted.
async fn live(s: &AppState, identifier: &str) -> Result<NamedPrompt, ApiError> {
    let found = s.store.named_prompt(identifier).await?;
    found
        .filter(|n| n.definition.deleted_at.is_none())
        .ok_or_else(|| not_found(identifier))
}

/// Creates or updates a named prompt's definition.
#[utoipa::path(put, path = "/api/1/interactive_prompts/public/{identifier}", tag = "prompts",
    security(("admin_token" = [])),
    params(("identifier" = String, Path, description = "1–64 characters of `[a-z0-9-]`.")),
    request_body = PutNamedPrompt,
    responses(
        (status = 200, description = "The definition.", body = NamedPromptBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub async fn put(
    _: Admin,
    State(s): State<AppState>,
    identifier: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<PutNamedPrompt>,
) -> Result<Response, ApiError> {
    let identifier = identifier_param(identifier)?;
    let settings = DefinitionSettings {
        prompt: Prompt::parse(body.prompt.into()).map_err(unprocessable)?,
        duration_seconds: parse_duration(body.duration_seconds).map_err(unprocessable)?,
        expires_seconds: parse_expires(body.expires_seconds).map_err(unprocessable)?,
    };
    let stored = s.store.put_named_prompt(&identifier, settings).await?;
    Ok(reply(StatusCode::OK, NamedPromptBody::of(&stored, now())))
}

/// Reads a named prompt's definition.
#[utoipa::path(get, path = "/api/1/interactive_prompts/public/{identifier}", tag = "prompts",
    security(("admin_token" = [])),
    params(("identifier" = String, Path, description = "1–64 characters of `[a-z0-9-]`.")),
    responses(
        (status = 200, description = "The definition.", body = NamedPromptBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PublicPromptNotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub async fn read(
    _: Admin,
    State(s): State<AppState>,
    identifier: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let found = live(&s, &identifier_param(identifier)?).await?;
    Ok(reply(StatusCode::OK, NamedPromptBody::of(&found, now())))
}

/// Lists the named prompts not deleted.
#[utoipa::path(get, path = "/api/1/interactive_prompts/public", tag = "prompts",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Every definition not deleted, by identifier.",
            body = NamedPromptList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ))]
pub async fn list(_: Admin, State(s): State<AppState>) -> Result<Response, ApiError> {
    let all = s.store.named_prompts().await?;
    let at = now();
    let items = all.iter().map(|n| NamedPromptBody::of(n, at)).collect();
    Ok(reply(StatusCode::OK, NamedPromptList { items }))
}

/// Stops starting a named prompt; its instances stay.
#[utoipa::path(delete, path = "/api/1/interactive_prompts/public/{identifier}", tag = "prompts",
    security(("admin_token" = [])),
    params(("identifier" = String, Path, description = "1–64 characters of `[a-z0-9-]`.")),
    responses(
        (status = 200, description = "The definition as it was.", body = NamedPromptBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PublicPromptNotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub async fn delete(
    _: Admin,
    State(s): State<AppState>,
    identifier: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = identifier_param(identifier)?;
    let deleted = s.store.delete_named_prompt(&identifier).await?;
    let deleted = deleted.ok_or_else(|| not_found(&identifier))?;
    Ok(reply(StatusCode::OK, NamedPromptBody::of(&deleted, now())))
}

/// Starts a session on a named prompt's current instance, making the next
/// instance first when there is none.
#[utoipa::path(post, path = "/api/1/interactive_prompts/start_public", tag = "prompts",
    security(("user_token" = [])),
    request_body = StartPublic,
    responses(
        (status = 201, description = "Started (the body of `start_session`).",
            body = super::prompts::SessionStarted),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PublicPromptNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ))]
pub async fn start_public(
    User(user): User,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<StartPublic>,
) -> Result<Response, ApiError> {
    let identifier = parse_identifier(&body.identifier).map_err(unprocessable)?;
    super::prompts::limit_session_starts(&s, &user.sub)?;
    // An instance deleted between the two steps is no longer current:
    // the next call makes another (rare; the caller sees one 404).
    let instance = s.store.named_instance(&identifier).await?;
    let instance = instance.ok_or_else(|| not_found(&identifier))?;
    let sub = user.sub.clone();
    let started = s.store.start_session(&instance.uid, user).await?;
    let started = started.ok_or_else(|| not_found(&identifier))?;
    Ok(session_started(&s, &started, &sub))
}
