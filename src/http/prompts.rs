//! Prompts (admin) and sessions (users).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::{Admin, JsonBody, User};
use super::state::AppState;
use crate::domain::prompt::{Prompt, PromptInput, PromptRecord, parse_duration};

/// Body of `POST /api/1/interactive_prompts`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrompt {
    #[schema(value_type = super::openapi::Prompt)]
    prompt: PromptInput,
    /// Seconds, 1 … 86 400.
    #[schema(minimum = 1, maximum = 86_400)]
    duration_seconds: i64,
}

fn prompt_json(p: &PromptRecord, with_deleted: bool) -> Value {
    let mut v = json!({
        "uid": p.uid, "prompt": p.prompt, "duration_seconds": p.duration_seconds, "created_at": p.created_at,
    });
    if with_deleted {
        v["deleted_at"] = json!(p.deleted_at);
    }
    v
}

/// `POST /api/1/interactive_prompts`
pub async fn create(
    _: Admin,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<CreatePrompt>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let prompt = Prompt::parse(body.prompt).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let duration = parse_duration(body.duration_seconds)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let record = s.store.create_prompt(prompt, duration).await?;
    Ok((StatusCode::CREATED, Json(prompt_json(&record, false))))
}

/// The `{uid}` of a prompt route. One that is not UTF-8 names no prompt:
/// 404 like any other unknown uid (axum's own rejection is plain text).
fn uid_param(uid: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    uid.map(|Path(uid)| uid).map_err(|_| prompt_not_found())
}

fn prompt_not_found() -> ApiError {
    ApiError::not_found("not_found", "interactive prompt not found")
}

/// `GET /api/1/interactive_prompts/{uid}`
pub async fn read(
    _: Admin,
    State(s): State<AppState>,
    uid: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let record = s
        .store
        .prompt(&uid_param(uid)?)
        .await?
        .ok_or_else(prompt_not_found)?;
    Ok(Json(prompt_json(&record, true)))
}

/// `DELETE /api/1/interactive_prompts/{uid}`
pub async fn delete(
    _: Admin,
    State(s): State<AppState>,
    uid: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let record = s
        .store
        .delete_prompt(&uid_param(uid)?)
        .await?
        .ok_or_else(prompt_not_found)?;
    Ok(Json(prompt_json(&record, true)))
}

/// Body of `POST /api/1/interactive_prompts/start_session`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    interactive_prompt_uid: String,
}

/// `POST /api/1/interactive_prompts/start_session`
pub async fn start_session(
    User(user): User,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<StartSession>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let started = s
        .store
        .start_session(&body.interactive_prompt_uid, user)
        .await?
        .ok_or_else(prompt_not_found)?;
    let jwt = s.auth.mint_prompt_token(&started.prompt.uid);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "uid": started.prompt.uid,
            "jwt": jwt,
            "session_uid": started.session_uid,
            "prompt": started.prompt.prompt,
            "duration_seconds": started.prompt.duration_seconds,
        })),
    ))
}
