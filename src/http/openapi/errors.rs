//! The error responses of the document: the one `{"type", "message"}`
//! shape of [`crate::http::error::ApiError`], narrowed per status to the
//! `type`s that status can carry. Each is a reusable response under
//! `components/responses`, named after what went wrong.

#![allow(dead_code)]

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Schema};
use utoipa::{ToResponse, ToSchema};

/// Every error: a machine-readable `type` and a human-readable `message`.
#[derive(ToSchema)]
#[schema(as = Error)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// What went wrong, e.g. `session_not_started`.
    #[serde(rename = "type")]
    kind: String,
    /// Why, for people; 422s name the offending field.
    message: String,
}

/// The `type`s of the rule violations (docs/rules.md, "The event rules") that answer 409.
pub fn event_conflicts() -> Vec<&'static str> {
    use crate::domain::rules::Violation as V;
    [
        V::ImpossiblePromptTime,
        V::SessionNotFound,
        V::SessionAlreadyStarted,
        V::SessionNotStarted,
        V::SessionAlreadyEnded,
        V::SessionHasLaterEvent,
        V::SessionHasSameEventAtSameTime,
        V::ImpossibleEvent,
        V::ImpossibleEventData,
    ]
    .into_iter()
    .filter(|v| v.status() == 409)
    .map(|v| v.error_type())
    .collect()
}

/// The schema of an error whose `type` is one of `kinds`.
pub fn error_schema(kinds: &[&str]) -> Schema {
    let narrowed = ObjectBuilder::new().property(
        "type",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(kinds.iter().copied())),
    );
    AllOfBuilder::new()
        .item(Ref::from_schema_name("Error"))
        .item(narrowed)
        .build()
        .into()
}

/// A JSON error response with the given description and `type`s.
pub fn error_response(description: &str, kinds: &[&str]) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(error_schema(kinds)))
            .build(),
    )
}

macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident: $description:literal, $kinds:expr;)+) => {$(
        $(#[$doc])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), error_response($description, &$kinds).build().into())
            }
        }
    )+};
}

error_responses! {
    /// 401: no `Authorization`, or not `bearer <token>`.
    Unauthorized: "No `Authorization` header (`not_set`), or not `bearer <token>` (`bad_format`).",
        ["not_set", "bad_format"];
    /// 403: a bad, expired or mismatched token.
    Forbidden: "The token is bad, expired, or for another prompt (`invalid`).", ["invalid"];
    /// 404 of the prompt routes.
    PromptNotFound: "No such interactive prompt (or, for new sessions and events, it was deleted).",
        ["not_found"];
    /// 404 of stats, timeline and search.
    StatsNotFound: "No such prompt (`interactive_prompt_not_found`), or `bin` is past the last bin (`bin_not_found`).",
        ["interactive_prompt_not_found", "bin_not_found"];
    /// 404 of search and timeline.
    SearchPromptNotFound: "The token's prompt does not exist (`interactive_prompt_not_found`).",
        ["interactive_prompt_not_found"];
    /// 409: an event rule (docs/rules.md, "The event rules") refused the event.
    EventConflict: "The first event rule (docs/rules.md, \"The event rules\") that failed.",
        event_conflicts();
    /// 422: malformed JSON, a wrong shape or an out-of-range value.
    Unprocessable: "Malformed JSON, a wrong shape, or an out-of-range value; the message says where and why.",
        ["unprocessable_entity"];
    /// 503: the server is shutting down.
    Unavailable: "The server is shutting down; retry on another instance.", ["unavailable"];
    /// 404 of the web client's assets.
    NoSuchAsset: "No such file.", ["not_found"];
    /// 400 of the stream route: not a WebSocket upgrade request.
    NotAnUpgrade: "Not a WebSocket upgrade request.", ["bad_request"];
    /// 426 of the stream route: the connection cannot be upgraded.
    UpgradeRequired: "The connection cannot be upgraded (e.g. HTTP/2).", ["upgrade_required"];
}

/// 413: the body is over 64 KiB; the connection is then closed.
pub struct PayloadTooLarge;

impl<'r> ToResponse<'r> for PayloadTooLarge {
    fn response() -> (&'r str, RefOr<Response>) {
        let close = HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["close"])),
            )
            .description(Some(
                "The rest of the body is not read, so the connection closes.",
            ))
            .build();
        let response = error_response("The request body is over 64 KiB.", &["payload_too_large"])
            .header("Connection", close)
            .build();
        ("PayloadTooLarge", response.into())
    }
}

/// 429: the session's event rate limit, with `Retry-After`.
pub struct TooManyRequests;

impl<'r> ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<Response>) {
        let retry_after = HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            )
            .description(Some("Whole seconds to wait before retrying."))
            .build();
        let response = error_response(
            "Too many events for this session (default 20 per second).",
            &["too_many_requests"],
        )
        .header("Retry-After", retry_after)
        .build();
        ("TooManyRequests", response.into())
    }
}
