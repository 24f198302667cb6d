//! The one error type of the HTTP API: `{"type", "message"}` with a status
//! (docs/api.md, "Conventions"), and the status and `type` of every failure
//! that reaches the API from below: auth, the event rules, storage.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;
use crate::domain::rules::Violation;
use crate::storage::StorageError;

/// The `type`s of errors that more than one place sends. The event rules'
/// types are in [`violation_status`], the auth types in [`auth_status`].
pub mod kind {
    /// 400: the request could not be read.
    pub const BAD_REQUEST: &str = "bad_request";
    /// 404 of the prompt routes, unknown routes and unknown assets.
    pub const NOT_FOUND: &str = "not_found";
    /// 404 of stats, timeline and search: the token's prompt is gone.
    pub const PROMPT_NOT_FOUND: &str = "interactive_prompt_not_found";
    /// 404 of `DELETE /api/1/users/{sub}`: no user with that `sub`.
    pub const USER_NOT_FOUND: &str = "user_not_found";
    /// 404 of the named prompt routes and `start_public`: no such
    /// identifier, or it was deleted.
    pub const PUBLIC_PROMPT_NOT_FOUND: &str = "public_prompt_not_found";
    /// 404 of stats: `bin` is past the last bin.
    pub const BIN_NOT_FOUND: &str = "bin_not_found";
    /// 408: the body did not arrive within the request timeout.
    pub const REQUEST_TIMEOUT: &str = "request_timeout";
    /// 413: the body is over 64 KiB.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 422: malformed JSON, a wrong shape or an out-of-range value.
    pub const UNPROCESSABLE: &str = "unprocessable_entity";
    /// 426 of the stream route.
    pub const UPGRADE_REQUIRED: &str = "upgrade_required";
    /// 429: the session's event rate limit.
    pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
    /// 500: a failure that was logged.
    pub const INTERNAL: &str = "internal_error";
    /// 503: shutting down, or the database kept aborting a write.
    pub const UNAVAILABLE: &str = "unavailable";
    /// 503 with `Retry-After`: the database cannot serve the request now
    /// (unreachable, restarting, full, or unable to confirm a write).
    pub const STORAGE_UNAVAILABLE: &str = "storage_unavailable";
}

// Members in alphabetical order, as error bodies have always been
// serialized.
/// Every error: a machine-readable `type` and a human-readable `message`.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody<'a> {
    /// Why, for people; 422s name the offending field.
    pub message: &'a str,
    /// What went wrong, e.g. `session_not_started`.
    #[serde(rename = "type")]
    pub kind: &'a str,
}

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable `type`.
    pub kind: &'static str,
    /// Human-readable `message`.
    pub message: String,
    /// Seconds to wait, for 429 and 503 `storage_unavailable`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the given status, type and message.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 422 `unprocessable_entity`.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            kind::UNPROCESSABLE,
            message,
        )
    }

    /// 404 with the given type.
    pub fn not_found(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, kind, message)
    }
}

/// Every auth failure, for the document.
pub const AUTH_ERRORS: [AuthError; 3] =
    [AuthError::NotSet, AuthError::BadFormat, AuthError::Invalid];

/// The status and `type` of an auth failure (docs/api.md, "Auth"): 401
/// without a usable `Authorization`, 403 for a token that does not do.
pub fn auth_status(e: AuthError) -> (StatusCode, &'static str) {
    match e {
        AuthError::NotSet => (StatusCode::UNAUTHORIZED, "not_set"),
        AuthError::BadFormat => (StatusCode::UNAUTHORIZED, "bad_format"),
        AuthError::Invalid => (StatusCode::FORBIDDEN, "invalid"),
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let (status, kind) = auth_status(e);
        ApiError::new(status, kind, e.to_string())
    }
}

/// Every event rule violation, in rule order, for the document.
pub const VIOLATIONS: [Violation; 10] = [
    Violation::NotFound,
    Violation::ImpossiblePromptTime,
    Violation::SessionNotFound,
    Violation::SessionAlreadyStarted,
    Violation::SessionNotStarted,
    Violation::SessionAlreadyEnded,
    Violation::SessionHasLaterEvent,
    Violation::SessionHasSameEventAtSameTime,
    Violation::ImpossibleEvent,
    Violation::ImpossibleEventData,
];

/// The status and `type` of a refused event (docs/rules.md, "The event
/// rules"): 404 for rule 1 (no such prompt), 409 for the rest.
pub fn violation_status(v: Violation) -> (StatusCode, &'static str) {
    let conflict = |kind| (StatusCode::CONFLICT, kind);
    match v {
        Violation::NotFound => (StatusCode::NOT_FOUND, kind::NOT_FOUND),
        Violation::ImpossiblePromptTime => conflict("impossible_prompt_time"),
        Violation::SessionNotFound => conflict("session_not_found"),
        Violation::SessionAlreadyStarted => conflict("session_already_started"),
        Violation::SessionNotStarted => conflict("session_not_started"),
        Violation::SessionAlreadyEnded => conflict("session_already_ended"),
        Violation::SessionHasLaterEvent => conflict("session_has_later_event"),
        Violation::SessionHasSameEventAtSameTime => conflict("session_has_same_event_at_same_time"),
        Violation::ImpossibleEvent => conflict("impossible_event"),
        Violation::ImpossibleEventData => conflict("impossible_event_data"),
    }
}

impl From<Violation> for ApiError {
    fn from(v: Violation) -> Self {
        let (status, kind) = violation_status(v);
        ApiError::new(status, kind, v.to_string())
    }
}

/// Seconds a client is asked to wait before retrying a request the
/// database could not serve: about how long a PostgreSQL restart or a
/// reconnection takes.
pub const STORAGE_RETRY_AFTER: u64 = 1;

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "storage failure");
        if let StorageError::Unavailable(_) = e {
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                kind::STORAGE_UNAVAILABLE,
                "the database cannot serve this request now; retry after a pause",
            );
            error.retry_after = Some(STORAGE_RETRY_AFTER);
            return error;
        }
        let (status, kind, message) = match e {
            StorageError::Stopped => (
                StatusCode::SERVICE_UNAVAILABLE,
                kind::UNAVAILABLE,
                "the server is shutting down",
            ),
            StorageError::Retryable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                kind::UNAVAILABLE,
                "the database kept aborting this write under contention; try again",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                kind::INTERNAL,
                "internal error; it has been logged",
            ),
        };
        ApiError::new(status, kind, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        metrics::counter!(crate::metrics::EVENTS_REJECTED, "type" => self.kind).increment(1);
        let body = ErrorBody {
            kind: self.kind,
            message: &self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(
            self.status,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
        ) {
            // The rest of the body is never read, so the connection cannot
            // carry another request: say so, or a keep-alive client sends
            // its next request into a connection that is being closed.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_violation_has_its_own_type_and_only_rule_one_is_404() {
        let mut kinds: Vec<_> = VIOLATIONS.iter().map(|&v| violation_status(v).1).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), VIOLATIONS.len());
        for v in VIOLATIONS {
            let expected = if v == Violation::NotFound { 404 } else { 409 };
            assert_eq!(violation_status(v).0.as_u16(), expected, "{v:?}");
        }
    }
}
