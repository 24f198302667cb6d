//! The participant page of real deployments (docs/web-client.md, "The
//! participant page"; docs/integrate.md, "Embedding the participant
//! page"): `GET /p/{prompt_uid}`, served with or without dev mode,
//! standalone or in a host app's `<iframe>`.
//!
//! The page is `web/embed.html` with the allowed origins
//! (`embed_origins`) written into it, for its scripts to check where a
//! token message comes from, and in its `Content-Security-Policy`:
//! `frame-ancestors` lists exactly those origins (`'none'` when there are
//! none), so no other site can frame it. Its scripts are the web client's
//! (`/assets/`) and the client package's (`/client/`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, kind};
use super::error_responses::NoSuchAsset;
use super::state::AppState;
use super::web::{Asset, HTML, asset, serve};

/// The page's template; the placeholder becomes the allowed origins.
const TEMPLATE: &str = include_str!("../../web/embed.html");
const PLACEHOLDER: &str = "__CHORUS_EMBED_ORIGINS__";

/// Longest prompt uid the page is served for.
const MAX_UID_LEN: usize = 100;

/// The participant page as this server serves it.
pub struct EmbedPage {
    page: Asset,
    policy: HeaderValue,
    framed: bool,
}

impl EmbedPage {
    /// The page for these origins, each already checked and written as a
    /// browser writes it (`crate::config::origin::parse`).
    pub fn new(origins: &[String]) -> EmbedPage {
        let list = origins.join(" ");
        // Checked origins hold no quote, `<`, `&` or space: safe in an
        // attribute and in a header.
        let html = TEMPLATE.replace(PLACEHOLDER, &list);
        let ancestors = if origins.is_empty() {
            "'none'"
        } else {
            list.as_str()
        };
        let policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; \
             img-src 'self' https: data:; connect-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
        );
        EmbedPage {
            // Once per process: the page lives as long as the server.
            page: asset("embed.html", HTML, Box::leak(html.into_boxed_str())),
            policy: HeaderValue::from_str(&policy).expect("checked origins make a valid header"),
            framed: !origins.is_empty(),
        }
    }

    /// The page's HTML.
    pub fn html(&self) -> &str {
        self.page.body
    }
}

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

    /// The `id="…"` values of `html`.
    fn ids(html: &str) -> Vec<&str> {
        html.split(" id=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect()
    }

    #[test]
    fn the_page_holds_every_element_of_the_take_view() {
        let index = include_str!("../../web/index.html");
        let take = &index[index.find("<section id=\"take\"").unwrap()..];
        for id in ids(take) {
            if !["back", "again"].contains(&id) {
                assert!(
                    ids(TEMPLATE).contains(&id),
                    "web/embed.html lacks #{id} of the take view"
                );
            }
        }
    }

    #[test]
    fn the_page_links_only_embedded_files() {
        for name in TEMPLATE
            .split("/assets/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
        {
            assert!(
                super::super::web::ASSETS.iter().any(|a| a.name == name),
                "embed.html links /assets/{name}, which is not embedded"
            );
        }
    }

    #[test]
    fn the_origins_go_into_the_page_and_its_policy() {
        let two = [
            "https://a.example".to_owned(),
            "http://localhost:3000".to_owned(),
        ];
        let page = EmbedPage::new(&two);
        assert!(page.html().contains(
            r#"<meta name="chorus-embed-origins" content="https://a.example http://localhost:3000">"#
        ));
        assert!(!page.html().contains(PLACEHOLDER));
        let policy = page.policy.to_str().unwrap();
        assert!(policy.ends_with("; frame-ancestors https://a.example http://localhost:3000"));
        assert!(page.framed);
        let none = EmbedPage::new(&[]);
        assert!(none.html().contains(r#"content="""#));
        assert!(
            none.policy
                .to_str()
                .unwrap()
                .ends_with("frame-ancestors 'none'")
        );
        assert!(!none.framed);
        assert_ne!(
            page.page.etag, none.page.etag,
            "the tag follows the origins"
        );
    }

    #[test]
    fn only_uid_shaped_paths_are_pages() {
        assert!(plausible_uid("ip_3q2-7wbqS0yOQn4SAGyXYg"));
        for bad in ["", "ip_<script>", "a/b", "ip_ x", &"a".repeat(101), "ip_é"] {
            assert!(!plausible_uid(bad), "{bad:?}");
        }
    }
}
