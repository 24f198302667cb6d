//! Dev-mode login (docs/api.md, "Auth"): `POST /api/1/dev/login {"name"}` → `{"user_jwt"}`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::JsonBody;
use super::state::AppState;

/// Body of the dev login.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevLogin {
    /// The display name, 1–64 characters after trimming.
    #[schema(min_length = 1)]
    name: String,
}

/// Mints a user token for a fresh dev user named `name`.
pub async fn login(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<DevLogin>,
) -> Result<Json<Value>, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::unprocessable("name must be 1 to 64 characters"));
    }
    let sub = crate::domain::uid::generate("dev");
    let jwt = s.auth.mint_dev_user_token(&sub, name).ok_or_else(|| {
        ApiError::unprocessable("dev login needs HS256 user tokens (CHORUS_USER_JWT_SECRET)")
    })?;
    Ok(Json(json!({"user_jwt": jwt, "sub": sub})))
}

/// `GET /api/1/dev/prompts` (dev mode only): the prompts that are not
/// deleted, oldest first, as `{"items": [{"uid", "prompt",
/// "duration_seconds"}]}` — how the web client lists what to take.
pub async fn prompts(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = s
        .store
        .list_prompts()
        .await?
        .into_iter()
        .map(|p| json!({"uid": p.uid, "prompt": p.prompt, "duration_seconds": p.duration_seconds}))
        .collect();
    Ok(Json(json!({ "items": items })))
}
