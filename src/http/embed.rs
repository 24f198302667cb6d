//! The participant page of real deployments (docs/web-client.md, "The
//! participant page"; docs/integrate.md, "Embedding the participant
//! page"): `GET /p/{prompt_uid}`, served with or without dev mode,
//! standalone or in a host app's `<iframe>`.
//!
//! The page itself, with its origins and policy, is
//! [`super::embed_page::EmbedPage`]; its scripts are the web client's
//! (`/assets/`) and the client package's (`/client/`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::asset::serve;
use super::error::{ApiError, kind};
use super::error_responses::NoSuchAsset;
use super::state::AppState;

/// Longest prompt uid the page is served for.
const MAX_UID_LEN: usize = 100;

/// The participant page for the prompt `prompt_uid` (the page reads the
/// uid from its address; whether the prompt exists, `start_session` says).
#[utoipa::path(get, path = "/p/{prompt_uid}", tag = "web", operation_id = "web_participant_page",
    params(("prompt_uid" = String, Path, example = "ip_3q2-7wbqS0yOQn4SAGyXYg",
        description = "The prompt to take.")),
    responses(
        (status = 200, description = "The page, with `Content-Security-Policy: … frame-ancestors` \
            naming the origins allowed to embed it (`'none'` when none are configured).",
            body = String, content_type = "text/html"),
        (status = 304, description = "The browser's copy (`If-None-Match`) is current."),
        (status = 404, response = NoSuchAsset),
    ))]
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uid: Result<Path<String>, PathRejection>,
) -> Response {
    let uid = uid.map_or_else(|_| String::new(), |Path(uid)| uid);
    if !plausible_uid(&uid) {
        return ApiError::not_found(kind::NOT_FOUND, "no such prompt page").into_response();
    }
    let embed = &state.embed;
    let mut response = serve(&headers, &embed.page);
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, embed.policy.clone());
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !embed.framed {
        // For browsers older than `frame-ancestors`.
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Uid-shaped: 1 to 100 URL-safe characters (`ip_…`).
fn plausible_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= MAX_UID_LEN
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uid_shaped_paths_are_pages() {
        assert!(plausible_uid("ip_3q2-7wbqS0yOQn4SAGyXYg"));
        for bad in ["", "ip_<script>", "a/b", "ip_ x", &"a".repeat(101), "ip_é"] {
            assert!(!plausible_uid(bad), "{bad:?}");
        }
    }
}
