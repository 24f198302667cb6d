//! The web client (docs/web-client.md), embedded in the binary: `GET /` serves the
//! page and `GET /assets/{file}` its scripts and styles.
//!
//! The files live in `web/` and are compiled in with `include_str!`, so
//! the binary is the whole deployment: there is no separate web server and
//! nothing is fetched from elsewhere. The page talks to the server only
//! through the public HTTP API and the live stream.

use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use super::state::AppState;

/// One embedded file: its name under `/assets/`, content type and text.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The page itself.
const INDEX: &str = include_str!("../../web/index.html");

/// Everything under `/assets/`.
const ASSETS: &[Asset] = &[
    asset("style.css", CSS, include_str!("../../web/style.css")),
    asset("api.js", JS, include_str!("../../web/api.js")),
    asset("stream.js", JS, include_str!("../../web/stream.js")),
    asset("room.js", JS, include_str!("../../web/room.js")),
    asset("chart.js", JS, include_str!("../../web/chart.js")),
    asset("controls.js", JS, include_str!("../../web/controls.js")),
    asset("app.js", JS, include_str!("../../web/app.js")),
    asset("icon.svg", SVG, include_str!("../../web/icon.svg")),
];

const fn asset(name: &'static str, content_type: &'static str, body: &'static str) -> Asset {
    Asset {
        name,
        content_type,
        body,
    }
}

/// The routes of the web client.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(file))
}

fn respond(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change with the binary; revalidating is cheap and avoids
    // a stale script after an upgrade.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn index() -> Response {
    respond(HTML, INDEX)
}

async fn file(name: Result<Path<String>, PathRejection>) -> Response {
    let name = name.map_or_else(|_| String::new(), |Path(name)| name);
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => respond(a.content_type, a.body),
        None => ApiError::not_found("not_found", "no such asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_links_is_embedded() {
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{} is empty", a.name);
        }
        let linked = INDEX
            .split("/assets/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap());
        for name in linked {
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "index.html links /assets/{name}, which is not embedded"
            );
        }
    }
}
