//! `POST /api/1/interactive_prompts/events/{route}`: posting events.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ApiError;
use super::extract::{JsonBody, User};
use super::state::AppState;
use crate::domain::event::{EventKind, EventType, NewEvent};

/// The body every event route takes; `data` depends on the route.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    interactive_prompt_uid: String,
    interactive_prompt_jwt: String,
    session_uid: String,
    /// Seconds into the prompt, `0 ≤ t ≤ duration_seconds`.
    prompt_time: f64,
    data: Value,
}

/// Routes for every event type.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for ty in EventType::ALL {
        let handler = move |user: User, state: State<AppState>, body: JsonBody<EventBody>| {
            post_event(ty, user, state, body)
        };
        router = router.route(
            &format!("/api/1/interactive_prompts/events/{}", ty.route()),
            post(handler),
        );
    }
    router
}

async fn post_event(
    ty: EventType,
    User(user): User,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<EventBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    if !body.prompt_time.is_finite() {
        return Err(ApiError::unprocessable(
            "invalid request body at prompt_time: must be a finite number",
        ));
    }
    let kind = EventKind::from_data(ty, body.data)
        .map_err(|e| ApiError::unprocessable(format!("invalid request body at data: {e}")))?;
    s.auth
        .verify_prompt_for(&body.interactive_prompt_jwt, &body.interactive_prompt_uid)?;
    if let Err(retry_after) = s.rate_limiter.acquire(&body.session_uid) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many events for this session; slow down",
        );
        e.retry_after = Some(retry_after);
        return Err(e);
    }
    let event = NewEvent {
        prompt_uid: body.interactive_prompt_uid,
        session_uid: body.session_uid,
        user_sub: user.sub,
        kind,
        prompt_time: body.prompt_time,
    };
    let stored = s.ingest.accept(event).await??;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            uid: stored.uid,
            user_sub: stored.user_sub,
            session_uid: stored.session_uid,
            evtype: stored.evtype,
            prompt_time: stored.prompt_time,
            icon: None,
            data: stored.data,
        }),
    ))
}

/// The `201` body: the stored event as the poster sees it.
#[derive(Serialize)]
struct Created {
    uid: String,
    user_sub: String,
    session_uid: String,
    #[serde(rename = "type")]
    evtype: &'static str,
    prompt_time: f64,
    icon: Option<String>,
    data: Value,
}
