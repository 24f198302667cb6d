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
use axum::http::HeaderMap;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::asset::{Asset, CSS, HTML, JS, SVG, asset, file, serve};
use super::error_responses::NoSuchAsset;
use super::state::AppState;

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
    asset("take-view.js", JS, include_str!("../../web/take-view.js")),
    asset("faces.js", JS, include_str!("../../web/faces.js")),
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
