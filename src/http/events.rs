//! `POST /api/1/interactive_prompts/events/{route}`: posting events
//! (docs/api.md, "Events"). This module owns the route of each event type,
//! and registers and describes all eight routes in one loop, so a new event
//! type cannot be served undocumented.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::path::{HttpMethod, Operation, Paths};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder, Schema};
use utoipa::{PartialSchema, Path as _, ToSchema};
use utoipa_axum::router::UtoipaMethodRouter;

use super::error::ApiError;
use super::error_responses::*;
use super::event_json::{EmptyData, EventCreated, IndexData, NameData, RatingData};
use super::extract::{JsonBody, User};
use super::rate_limit::refused;
use super::reply;
use super::state::AppState;
use crate::domain::event::{EventKind, EventType, NewEvent};

/// Where the event routes live.
pub const EVENTS: &str = "/api/1/interactive_prompts/events";

/// The route (under [`EVENTS`]) that posts events of type `ty`.
pub fn route(ty: EventType) -> &'static str {
    match ty {
        EventType::Join => "join",
        EventType::Leave => "leave",
        EventType::Like => "like",
        EventType::NumericPromptResponse => "respond_numeric_prompt",
        EventType::PressPromptStartResponse => "respond_press_prompt/start",
        EventType::PressPromptEndResponse => "respond_press_prompt/end",
        EventType::ColorPromptResponse => "respond_color_prompt",
        EventType::WordPromptResponse => "respond_word_prompt",
    }
}

/// The body every event route takes; `data` depends on the route.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    interactive_prompt_uid: String,
    interactive_prompt_jwt: String,
    session_uid: String,
    /// Seconds into the prompt, `0 ≤ t ≤ duration_seconds`.
    prompt_time: f64,
    data: Value,
}

/// The route of every event type, each with its description.
pub fn routes() -> Vec<UtoipaMethodRouter<AppState>> {
    EventType::ALL
        .into_iter()
        .map(|ty| {
            let handler = move |user: User, state: State<AppState>, body: JsonBody<EventBody>| {
                post_event(ty, user, state, body)
            };
            let (data_in, data_out) = data_schemas(ty);
            let mut paths = Paths::new();
            paths.add_path_operation(
                format!("{EVENTS}/{}", route(ty)),
                vec![HttpMethod::Post],
                operation(ty, &data_in.0, &data_out.0),
            );
            (vec![data_in, data_out], paths, post(handler))
        })
        .collect()
}

/// Posts an event.
///
/// The event rules (docs/rules.md, "The event rules") decide 404 and 409,
/// in their order, after the body, the prompt token and the rate limit are
/// checked.
#[utoipa::path(post, path = "/api/1/interactive_prompts/events/{route}", tag = "events",
    security(("user_token" = [])),
    request_body = EventBody,
    responses(
        (status = 201, description = "Accepted and committed.", body = EventCreated),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 409, response = EventConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ))]
async fn post_event(
    ty: EventType,
    User(user): User,
    State(s): State<AppState>,
    JsonBody(body): JsonBody<EventBody>,
) -> Result<Response, ApiError> {
    if !body.prompt_time.is_finite() {
        return Err(ApiError::unprocessable(
            "invalid request body at prompt_time: must be a finite number",
        ));
    }
    let kind = EventKind::from_data(ty, body.data)
        .map_err(|e| ApiError::unprocessable(format!("invalid request body at data: {e}")))?;
    s.auth
        .verify_prompt_for(&body.interactive_prompt_jwt, &body.interactive_prompt_uid)?;
    // Per user before the write, so that invented session uids cost their
    // sender; per session only for events stored on it, which its owner
    // alone can post (docs/operations.md, "Limits").
    let limits = &s.limits;
    limits
        .user_events
        .take(&user.sub)
        .map_err(|wait| refused("events from this user", wait))?;
    limits
        .session_events
        .check(&body.session_uid)
        .map_err(|wait| refused("events for this session", wait))?;
    let session_uid = body.session_uid.clone();
    let event = NewEvent {
        prompt_uid: body.interactive_prompt_uid,
        session_uid: body.session_uid,
        user_sub: user.sub,
        kind,
        // -0.0 + 0.0 is 0.0: a negative zero would be stored and echoed as
        // `-0.0`, yet every comparison (search, stats) treats it as 0.
        prompt_time: body.prompt_time + 0.0,
    };
    let stored = s.ingest.accept(event).await??;
    limits.session_events.charge(&session_uid);
    Ok(reply(StatusCode::CREATED, EventCreated::from(&stored)))
}

/// A named schema, for `components/schemas`.
type Named = (String, RefOr<Schema>);

fn named<T: ToSchema>() -> Named {
    (T::name().into_owned(), T::schema())
}

/// The data an event type takes, and the data its `201` returns.
fn data_schemas(ty: EventType) -> (Named, Named) {
    match ty {
        EventType::Join | EventType::Leave => (named::<EmptyData>(), named::<NameData>()),
        EventType::NumericPromptResponse => (named::<RatingData>(), named::<RatingData>()),
        EventType::ColorPromptResponse | EventType::WordPromptResponse => {
            (named::<IndexData>(), named::<IndexData>())
        }
        EventType::Like
        | EventType::PressPromptStartResponse
        | EventType::PressPromptEndResponse => (named::<EmptyData>(), named::<EmptyData>()),
    }
}

/// `T`'s schema with `data` referring to the schema named `data`, and the
/// `extra` properties replaced.
fn narrowed<T: PartialSchema>(data: &str, extra: &[(&str, Object)]) -> Schema {
    let RefOr::T(Schema::Object(mut object)) = T::schema() else {
        unreachable!("derived struct schemas are objects")
    };
    object
        .properties
        .insert("data".into(), Ref::from_schema_name(data).into());
    for (name, schema) in extra {
        object
            .properties
            .insert((*name).into(), schema.clone().into());
    }
    object.into()
}

/// The operation of `ty`'s route: [`post_event`]'s, with the request's
/// and the `201`'s `data` (and `type`) narrowed to what `ty` takes.
fn operation(ty: EventType, data_in: &str, data_out: &str) -> Operation {
    let name = ty.as_str();
    let mut op = __path_post_event::operation();
    op.operation_id = Some(format!("post_{name}"));
    op.summary = Some(format!("Posts a `{name}` event."));
    op.tags = Some(vec!["events".into()]);
    let request = op.request_body.as_mut().expect("post_event takes a body");
    let body = narrowed::<EventBody>(data_in, &[]);
    request.content.insert(
        "application/json".into(),
        Content::new(Some(RefOr::T(body))),
    );
    let kind = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([name]))
        .build();
    let created = narrowed::<EventCreated>(data_out, &[("type", kind)]);
    let response = ResponseBuilder::new()
        .description(format!("Accepted and committed: a `{name}` event."))
        .content("application/json", Content::new(Some(RefOr::T(created))))
        .build();
    op.responses.responses.insert("201".into(), response.into());
    op
}
