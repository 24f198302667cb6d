//! `POST /api/1/interactive_prompts/profile_pictures` (docs/api.md, "Who
//! is here"): up to `limit` people in the room at a prompt time, from this
//! process's sample of its 2-second step.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, kind};
use super::error_responses::*;
use super::extract::{JsonBody, User};
use super::reply;
use super::state::AppState;
use crate::domain::presence::step_of;

/// Most people one answer holds.
pub const MAX_LIMIT: i64 = 10;

/// What the route takes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacesBody {
    /// The prompt's uid.
    uid: String,
    /// A prompt token for `uid` (no `bearer `).
    jwt: String,
    /// Seconds into the prompt, `≥ 0` and at most its duration; rounded
    /// down to a multiple of 2.
    #[schema(minimum = 0)]
    prompt_time: f64,
    /// How many people at most, 1 … 10.
    #[schema(minimum = 1, maximum = 10)]
    limit: i64,
}

/// A person in the room.
#[derive(Serialize, ToSchema)]
pub struct Picture<'a> {
    /// The picture's `https:` URL.
    url: &'a str,
    /// Their display name.
    name: &'a str,
}

/// One item of the answer.
#[derive(Serialize, ToSchema)]
pub struct PictureItem<'a> {
    picture: Picture<'a>,
}

/// Up to `limit` people in the room, the caller left out.
#[derive(Serialize, ToSchema)]
pub struct Pictures<'a> {
    items: Vec<PictureItem<'a>>,
}

/// Who is here: up to `limit` people with a picture who were in the room
/// at `prompt_time`.
///
/// Across every session ever taken, time-dilated: joined at or before that
/// prompt time and not yet left. The caller is left out. The sample is
/// random but the same for everyone asking about the same 2-second step
/// for a while (cached per server process), and costs no scan of the
/// prompt's sessions.
#[utoipa::path(post, path = "/api/1/interactive_prompts/profile_pictures", tag = "prompts",
    security(("user_token" = [])),
    request_body = FacesBody,
    responses(
        (status = 200, description = "The people; `Cache-Control: private, max-age=120`.", body = Pictures),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = SearchPromptNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ))]
pub async fn profile_pictures(
    User(user): User,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<FacesBody>,
) -> Result<Response, ApiError> {
    if !body.prompt_time.is_finite() || body.prompt_time < 0.0 {
        return Err(ApiError::unprocessable(
            "invalid request body at prompt_time: must be a finite number ≥ 0",
        ));
    }
    if !(1..=MAX_LIMIT).contains(&body.limit) {
        return Err(ApiError::unprocessable(format!(
            "invalid request body at limit: must be 1 … {MAX_LIMIT}"
        )));
    }
    s.auth.verify_prompt_for(&body.jwt, &body.uid)?;
    s.limits.take_read(Some(&user.sub), &body.jwt)?;
    let not_found = || ApiError::not_found(kind::PROMPT_NOT_FOUND, "interactive prompt not found");
    let prompt = s
        .store
        .read_prompt(&body.uid)
        .await?
        .ok_or_else(not_found)?;
    if body.prompt_time > prompt.duration_seconds as f64 {
        return Err(ApiError::not_found(
            kind::PROMPT_NOT_FOUND,
            "prompt_time is past the prompt's end",
        ));
    }
    let sample = s
        .faces
        .faces(&s.store, &prompt, step_of(body.prompt_time))
        .await?;
    let items = sample
        .iter()
        .filter(|face| face.sub != user.sub)
        .take(body.limit as usize)
        .map(|face| PictureItem {
            picture: Picture {
                url: &face.url,
                name: &face.name,
            },
        })
        .collect();
    let mut response = reply(StatusCode::OK, Pictures { items });
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=120"),
    );
    Ok(response)
}
