//! The error responses of the OpenAPI document: the one [`ErrorBody`]
//! shape, narrowed per status to the `type`s that status can carry. Each is
//! a reusable response under `components/responses`, named after what went
//! wrong; the `type`s come from the same constants and mappings
//! ([`kind`], [`auth_status`], [`violation_status`]) that the handlers use.

use axum::http::StatusCode;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Schema};
use utoipa::{ToResponse, ToSchema};

use super::error::{AUTH_ERRORS, ErrorBody, VIOLATIONS, auth_status, kind, violation_status};

/// The `type`s of auth failures answered with `status`.
fn auth_kinds(status: StatusCode) -> Vec<&'static str> {
    let kinds = AUTH_ERRORS.into_iter().map(auth_status);
    kinds
        .filter(|(s, _)| *s == status)
        .map(|(_, k)| k)
        .collect()
}

/// The `type`s of rule violations answered with `status`, after `extra`.
fn violation_kinds(status: StatusCode, extra: &[&'static str]) -> Vec<&'static str> {
    let mut kinds = extra.to_vec();
    for (s, k) in VIOLATIONS.into_iter().map(violation_status) {
        if s == status && !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    kinds
}

/// The schema of an error whose `type` is one of `kinds`.
fn error_schema(kinds: &[&str]) -> Schema {
    let narrowed = ObjectBuilder::new().property(
        "type",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(kinds.iter().copied())),
    );
    AllOfBuilder::new()
        .item(Ref::from_schema_name(ErrorBody::name()))
        .item(narrowed)
        .build()
        .into()
}

/// A JSON error response with the given description and `type`s.
fn error_response(description: &str, kinds: &[&str]) -> ResponseBuilder {
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
        auth_kinds(StatusCode::UNAUTHORIZED);
    /// 403: a bad, expired or mismatched token.
    Forbidden: "The token is bad, expired, or for another prompt (`invalid`).",
        auth_kinds(StatusCode::FORBIDDEN);
    /// 404 of the prompt routes and of the event rules' rule 1.
    PromptNotFound: "No such interactive prompt (or, for new sessions and events, it was deleted).",
        violation_kinds(StatusCode::NOT_FOUND, &[kind::NOT_FOUND]);
    /// 404 of stats.
    StatsNotFound: "No such prompt (`interactive_prompt_not_found`), or `bin` is above `bins` (`bin_not_found`).",
        [kind::PROMPT_NOT_FOUND, kind::BIN_NOT_FOUND];
    /// 404 of search and timeline.
    SearchPromptNotFound: "The token's prompt does not exist (`interactive_prompt_not_found`).",
        [kind::PROMPT_NOT_FOUND];
    /// 404 of erasing a user.
    UserNotFound: "No user with this `sub` (`user_not_found`).", [kind::USER_NOT_FOUND];
    /// 404 of the named prompt routes and `start_public`.
    PublicPromptNotFound: "No named prompt with this identifier, or it was deleted (`public_prompt_not_found`).",
        [kind::PUBLIC_PROMPT_NOT_FOUND];
    /// 409: an event rule (docs/rules.md, "The event rules") refused the event.
    EventConflict: "The first event rule (docs/rules.md) that failed.",
        violation_kinds(StatusCode::CONFLICT, &[]);
    /// 422: malformed JSON, a wrong shape or an out-of-range value.
    Unprocessable: "Malformed JSON, a wrong shape, or an out-of-range value; the message says where and why.",
        [kind::UNPROCESSABLE];
    /// 503: the server is shutting down, or the database cannot serve
    /// the request now.
    Unavailable: "The server is shutting down (`unavailable`; retry on another instance), or the database cannot serve the request now (`storage_unavailable`, with `Retry-After` in seconds; nothing was stored).",
        [kind::UNAVAILABLE, kind::STORAGE_UNAVAILABLE];
    /// 404 of the web client's assets.
    NoSuchAsset: "No such file.", [kind::NOT_FOUND];
    /// 400 of the stream route: not a WebSocket upgrade request.
    NotAnUpgrade: "Not a WebSocket upgrade request.", [kind::BAD_REQUEST];
    /// 426 of the stream route: the connection cannot be upgraded.
    UpgradeRequired: "The connection cannot be upgraded (e.g. HTTP/2).", [kind::UPGRADE_REQUIRED];
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
        let response = error_response(
            "The request body is over 64 KiB.",
            &[kind::PAYLOAD_TOO_LARGE],
        )
        .header("Connection", close)
        .build();
        ("PayloadTooLarge", response.into())
    }
}

/// 429: a rate limit, with `Retry-After`.
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
            "A rate limit (docs/operations.md, \"Limits\"): events per user or per session, sessions started per user, or reads per user.",
            &[kind::TOO_MANY_REQUESTS],
        )
        .header("Retry-After", retry_after)
        .build();
        ("TooManyRequests", response.into())
    }
}
