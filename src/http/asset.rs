//! One file compiled into the binary and how it is served: with an
//! `ETag` (a hash of its text, computed at compile time), `Cache-Control:
//! no-cache` and `304 Not Modified` when the browser's copy is current.
//! The web client's files are listed in [`super::web`], the console's in
//! [`super::console`], the participant page in [`super::embed_page`].

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, kind};

/// One embedded file: its name, content type, text and entity tag.
pub(super) struct Asset {
    pub(super) name: &'static str,
    pub(super) content_type: &'static str,
    pub(super) body: &'static str,
    pub(super) etag: u64,
}

/// Content types of the embedded files.
pub(super) const HTML: &str = "text/html; charset=utf-8";
pub(super) const JS: &str = "text/javascript; charset=utf-8";
pub(super) const CSS: &str = "text/css; charset=utf-8";
pub(super) const SVG: &str = "image/svg+xml";

/// An embedded file, its entity tag computed at compile time.
pub(super) const fn asset(
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
) -> Asset {
    Asset {
        name,
        content_type,
        body,
        etag: fnv1a(body.as_bytes()),
    }
}

/// FNV-1a, 64 bits: cheap, and good enough to tell versions of a file apart.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The file, or `304 Not Modified` when the browser holds this version.
pub(super) fn serve(request: &HeaderMap, asset: &Asset) -> Response {
    let etag =
        HeaderValue::from_str(&format!("\"{:016x}\"", asset.etag)).expect("hex is a valid header");
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = asset.body.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    // The files change with the binary: revalidate every time (cheap,
    // thanks to the ETag), so that an upgrade never leaves a stale script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The file of `files` named by the path, or 404.
pub(super) fn file(
    files: &'static [Asset],
    headers: &HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> Response {
    let name = name.map_or_else(|_| String::new(), |Path(name)| name);
    match files.iter().find(|a| a.name == name) {
        Some(a) => serve(headers, a),
        None => ApiError::not_found(kind::NOT_FOUND, "no such asset").into_response(),
    }
}
