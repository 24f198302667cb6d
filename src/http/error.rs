//! The one error type of the HTTP API: `{"type", "message"}` with a status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::domain::rules::Violation;
use crate::storage::StorageError;

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable `type`.
    pub kind: &'static str,
    /// Human-readable `message`.
    pub message: String,
    /// Seconds to wait, for 429.
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
            "unprocessable_entity",
            message,
        )
    }

    /// 404 with the given type.
    pub fn not_found(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, kind, message)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let (status, kind) = match e {
            AuthError::NotSet => (StatusCode::UNAUTHORIZED, "not_set"),
            AuthError::BadFormat => (StatusCode::UNAUTHORIZED, "bad_format"),
            AuthError::Invalid => (StatusCode::FORBIDDEN, "invalid"),
        };
        ApiError::new(status, kind, e.to_string())
    }
}

impl From<Violation> for ApiError {
    fn from(v: Violation) -> Self {
        let status = StatusCode::from_u16(v.status()).expect("valid status");
        ApiError::new(status, v.error_type(), v.to_string())
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "storage failure");
        let (status, kind, message) = match e {
            StorageError::Stopped => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is shutting down",
            ),
            StorageError::Retryable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database kept aborting this write under contention; try again",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error; it has been logged",
            ),
        };
        ApiError::new(status, kind, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        metrics::counter!(crate::metrics::EVENTS_REJECTED, "type" => self.kind).increment(1);
        let body = json!({"type": self.kind, "message": self.message});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
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
