//! The admin console (docs/console.md): `GET /admin` serves its page, in
//! every mode, not only in dev mode. Its scripts and style are embedded
//! beside the web client's under `/assets/` (src/http/web.rs), and it
//! talks to the server only through the admin API, by way of the client
//! package's `AdminClient`.
//!
//! The page holds the admin token (in `sessionStorage`), so it is served
//! with a strict Content Security Policy: scripts, styles, images and
//! connections from this origin only, no inline script, no plugins, no
//! framing (`frame-ancestors 'none'`, against clickjacking a delete), and
//! no referrer.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::asset::{Asset, HTML, asset, serve};
use super::state::AppState;

/// The console's page.
const PAGE: Asset = asset("admin.html", HTML, include_str!("../../web/admin.html"));

/// The policy of the console's page. `'self'` in `connect-src` also
/// covers the live stream's `ws:`/`wss:` on this host (CSP Level 3);
/// `blob:` there lets the page read back the CSV it downloaded (blob URLs
/// are made by this origin's own scripts only).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self' blob:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'; object-src 'none'";

/// The route of the console.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(page))
}

/// The admin console's page (sign in with the admin token).
#[utoipa::path(get, path = "/admin", tag = "web", operation_id = "web_admin",
    responses(
        (status = 200, description = "The page, with a strict `Content-Security-Policy`.",
            body = String, content_type = "text/html"),
        (status = 304, description = "The browser's copy (`If-None-Match`) is current."),
    ))]
async fn page(headers: HeaderMap) -> Response {
    let mut response = serve(&headers, &PAGE);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::super::web::ASSETS;
    use super::*;

    #[test]
    fn every_asset_the_console_links_is_embedded() {
        let links: Vec<&str> = PAGE
            .body
            .split("/assets/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert!(links.contains(&"admin.js"), "{links:?}");
        for name in links {
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "admin.html links /assets/{name}, which is not embedded"
            );
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style_the_policy_would_block() {
        let body = PAGE.body;
        assert!(!body.contains("<style"), "inline <style>");
        assert!(!body.contains(" style="), "style attribute");
        for (i, _) in body.match_indices(" on") {
            let name: String = body[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase())
                .collect();
            let after = body[i + 3 + name.len()..].chars().next();
            assert!(
                name.is_empty() || after != Some('='),
                "inline event handler on{name}"
            );
        }
        for script in body.split("<script").skip(1) {
            assert!(
                script.contains(" src=\"/assets/"),
                "inline script: {script}"
            );
        }
    }
}
