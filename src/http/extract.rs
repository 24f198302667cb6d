//! Extractors: JSON bodies with precise 422s, and the three kinds of auth.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::{ApiError, kind};
use super::serve::BodyDeadline;
use super::state::AppState;
use crate::auth::{AuthError, bearer_token};
use crate::domain::user::UserIdentity;

/// A body that is read and thrown away: a route that takes none still
/// answers a client that sent one on a connection that stays usable.
/// Oversized bodies are 413 like [`JsonBody`]'s.
pub struct Drained;

impl<S: Send + Sync> FromRequest<S> for Drained {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_body(req, state).await.map(|_| Drained)
    }
}

/// The whole body, by the request's [`BodyDeadline`] if it has one.
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let deadline = req.extensions().get::<BodyDeadline>().copied();
    let read = Bytes::from_request(req, state);
    let read = match deadline {
        Some(BodyDeadline(at)) => tokio::time::timeout_at(at, read)
            .await
            .map_err(|_| body_timeout())?,
        None => read.await,
    };
    read.map_err(body_error)
}

/// The answer to a body that could not be read.
fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            kind::PAYLOAD_TOO_LARGE,
            "request bodies are limited to 64 KiB",
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, kind::BAD_REQUEST, e.body_text())
    }
}

/// A JSON body. Any content type is accepted; malformed JSON and wrong
/// shapes are 422 naming where and why; oversized bodies are 413.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        // Every body is an object; serde would also fill a struct from an
        // array of its fields in order, which no client means to send.
        if bytes.iter().find(|b| !b" \t\r\n".contains(b)) == Some(&b'[') {
            return Err(ApiError::unprocessable(
                "invalid request body at body: expected a JSON object, got an array",
            ));
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// 408: the body did not arrive in time (docs/operations.md, "Limits");
/// counted as a dropped connection, since it cannot carry another request.
fn body_timeout() -> ApiError {
    metrics::counter!(crate::metrics::HTTP_CONNECTIONS_DROPPED, "reason" => "request_timeout")
        .increment(1);
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        kind::REQUEST_TIMEOUT,
        "the request body did not arrive in time",
    )
}

/// Parses JSON, describing the failure's location (`$.path` plus line and
/// column) in a 422.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        ApiError::unprocessable(format!("invalid request body at {at}: {inner}"))
    })
}

fn authorization(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(AUTHORIZATION)
        .map(|v| v.to_str().map_err(|_| AuthError::BadFormat));
    bearer_token(value.transpose()?)
}

/// An authenticated user (user JWT in `Authorization`).
pub struct User(pub UserIdentity);

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authorization(&parts.headers)?;
        Ok(User(state.auth.verify_user(token).await?))
    }
}

/// The admin (admin token in `Authorization`).
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authorization(&parts.headers)?;
        if state.auth.is_admin(token) {
            Ok(Admin)
        } else {
            Err(AuthError::Invalid.into())
        }
    }
}

/// A prompt token in `Authorization`: the prompt uid it grants.
pub struct PromptGrant(pub String);

impl FromRequestParts<AppState> for PromptGrant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authorization(&parts.headers)?;
        let grant = state.auth.verify_prompt_grant(token)?;
        // Per user, once the token is known to be ours (docs/operations.md,
        // "Limits").
        state.limits.take_read(grant.user.as_deref(), token)?;
        Ok(PromptGrant(grant.prompt_uid))
    }
}
