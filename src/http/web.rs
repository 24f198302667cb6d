//! The web client (docs/web-client.md), embedded in the binary: `GET /`
//! serves the page, `GET /assets/{file}` its scripts and styles, and `GET
//! /client/{file}` the modules of the JavaScript client package
//! (`clients/js/src`), which the page's scripts import. The participant
//! page of real deployments, `/p/{prompt_uid}`, is `embed.rs`'s, built
//! from the same scripts.
//!
//! The files are compiled in with `include_str!`, so the binary is the
//! whole deployment: there is no separate web server and nothing is
//! fetched from elsewhere. The page talks to the server only through the
//! public HTTP API and the live stream, by way of the same package apps
//! use. Every file carries an `ETag` (a hash of its text, computed at
//! compile time) and `Cache-Control: no-cache`: browsers revalidate, and
//! an unchanged file costs a `304`.

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, kind};
use super::error_responses::NoSuchAsset;
use super::state::AppState;

/// One embedded file: its name, content type, text and entity tag.
pub(super) struct Asset {
    pub(super) name: &'static str,
    content_type: &'static str,
    pub(super) body: &'static str,
    pub(super) etag: u64,
}

pub(super) const HTML: &str = "text/html; charset=utf-8";
pub(super) const JS: &str = "text/javascript; charset=utf-8";
pub(super) const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The page itself.
const INDEX: Asset = asset("index.html", HTML, include_str!("../../web/index.html"));

/// Everything under `/assets/`.
pub(super) const ASSETS: &[Asset] = &[
    asset("style.css", CSS, include_str!("../../web/style.css")),
    asset("room.js", JS, include_str!("../../web/room.js")),
    asset("chart.js", JS, include_str!("../../web/chart.js")),
    asset("controls.js", JS, include_str!("../../web/controls.js")),
    asset("app.js", JS, include_str!("../../web/app.js")),
    asset("take.js", JS, include_str!("../../web/take.js")),
    asset("embed.js", JS, include_str!("../../web/embed.js")),
    asset("icon.svg", SVG, include_str!("../../web/icon.svg")),
    // The admin console's (`/admin`, src/http/console.rs).
    asset("admin.css", CSS, include_str!("../../web/admin.css")),
    asset("admin.js", JS, include_str!("../../web/admin.js")),
    asset("admin-list.js", JS, include_str!("../../web/admin-list.js")),
    asset("admin-form.js", JS, include_str!("../../web/admin-form.js")),
    asset(
        "admin-watch.js",
        JS,
        include_str!("../../web/admin-watch.js"),
    ),
    asset(
        "admin-named.js",
        JS,
        include_str!("../../web/admin-named.js"),
    ),
];

/// Everything under `/client/`: the client package's modules.
pub(super) const CLIENT: &[Asset] = &[
    asset(
        "index.js",
        JS,
        include_str!("../../clients/js/src/index.js"),
    ),
    asset(
        "client.js",
        JS,
        include_str!("../../clients/js/src/client.js"),
    ),
    asset(
        "session.js",
        JS,
        include_str!("../../clients/js/src/session.js"),
    ),
    asset(
        "watch.js",
        JS,
        include_str!("../../clients/js/src/watch.js"),
    ),
    asset(
        "pending.js",
        JS,
        include_str!("../../clients/js/src/pending.js"),
    ),
    asset("http.js", JS, include_str!("../../clients/js/src/http.js")),
    asset(
        "retry.js",
        JS,
        include_str!("../../clients/js/src/retry.js"),
    ),
    asset(
        "clock.js",
        JS,
        include_str!("../../clients/js/src/clock.js"),
    ),
    asset(
        "errors.js",
        JS,
        include_str!("../../clients/js/src/errors.js"),
    ),
    asset("dev.js", JS, include_str!("../../clients/js/src/dev.js")),
    asset(
        "admin.js",
        JS,
        include_str!("../../clients/js/src/admin.js"),
    ),
    asset(
        "prompts.js",
        JS,
        include_str!("../../clients/js/src/prompts.js"),
    ),
];

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

/// The routes of the web client.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(index))
        .routes(routes!(asset_file))
        .routes(routes!(client_file))
}

/// The web client's page.
#[utoipa::path(get, path = "/", tag = "web", operation_id = "web_index",
    responses((status = 200, description = "The page.", body = String, content_type = "text/html")))]
async fn index(headers: HeaderMap) -> Response {
    serve(&headers, &INDEX)
}

/// The web client's scripts, styles and icon, as linked from the page.
#[utoipa::path(get, path = "/assets/{file}", tag = "web", operation_id = "web_asset",
    params(("file" = String, Path, example = "app.js",
        description = "e.g. `app.js`, `style.css`, `icon.svg`.")),
    responses(
        (status = 200, description = "The file.", content(
            (String = "text/javascript"), (String = "text/css"), (String = "image/svg+xml"),
        )),
        (status = 304, description = "The browser's copy (`If-None-Match`) is current."),
        (status = 404, response = NoSuchAsset),
    ))]
async fn asset_file(headers: HeaderMap, name: Result<Path<String>, PathRejection>) -> Response {
    file(ASSETS, &headers, name)
}

/// The modules of the JavaScript client package (`clients/js/src`).
#[utoipa::path(get, path = "/client/{file}", tag = "web", operation_id = "web_client_module",
    params(("file" = String, Path, example = "index.js",
        description = "e.g. `index.js`, `watch.js`.")),
    responses(
        (status = 200, description = "The module.", content((String = "text/javascript"))),
        (status = 304, description = "The browser's copy (`If-None-Match`) is current."),
        (status = 404, response = NoSuchAsset),
    ))]
async fn client_file(headers: HeaderMap, name: Result<Path<String>, PathRejection>) -> Response {
    file(CLIENT, &headers, name)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The names that follow `marker` up to a closing quote in `text`.
    fn linked<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
        text.split(marker)
            .skip(1)
            .map(|rest| rest.split(['"', '\'']).next().unwrap())
            .collect()
    }

    #[test]
    fn every_asset_the_page_links_is_embedded() {
        for a in ASSETS.iter().chain(CLIENT) {
            assert!(!a.body.is_empty(), "{} is empty", a.name);
        }
        for name in linked(INDEX.body, "/assets/") {
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "index.html links /assets/{name}, which is not embedded"
            );
        }
    }

    #[test]
    fn every_module_the_scripts_import_is_embedded() {
        for a in ASSETS.iter().chain(CLIENT) {
            for name in linked(a.body, "from '/client/") {
                assert!(
                    CLIENT.iter().any(|c| c.name == name),
                    "{} imports /client/{name}, which is not embedded",
                    a.name
                );
            }
            let siblings = if CLIENT.iter().any(|c| std::ptr::eq(c, a)) {
                CLIENT
            } else {
                ASSETS
            };
            for name in linked(a.body, "from './") {
                assert!(
                    siblings.iter().any(|c| c.name == name),
                    "{} imports ./{name}, which is not embedded beside it",
                    a.name
                );
            }
        }
    }

    #[test]
    fn every_module_of_the_client_package_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/js/src");
        for entry in std::fs::read_dir(dir).expect("clients/js/src") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name");
            if name.ends_with(".js") {
                assert!(
                    CLIENT.iter().any(|c| c.name == name),
                    "clients/js/src/{name} is not served under /client/"
                );
            }
        }
    }

    #[test]
    fn different_files_have_different_tags() {
        let mut tags: Vec<u64> = ASSETS.iter().chain(CLIENT).map(|a| a.etag).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len() + CLIENT.len());
    }
}
