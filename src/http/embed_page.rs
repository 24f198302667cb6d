//! The participant page's HTML and headers for this server's embed
//! origins (served by [`super::embed`]).
//!
//! The page is `web/embed.html` with the allowed origins
//! (`embed_origins`) written into it, for its scripts to check where a
//! token message comes from, and in its `Content-Security-Policy`:
//! `frame-ancestors` lists exactly those origins (`'none'` when there are
//! none), so no other site can frame it.

use axum::http::HeaderValue;

use super::asset::{Asset, HTML, asset};

/// The page's template; the placeholder becomes the allowed origins.
const TEMPLATE: &str = include_str!("../../web/embed.html");
const PLACEHOLDER: &str = "__CHORUS_EMBED_ORIGINS__";

/// The participant page as this server serves it.
pub struct EmbedPage {
    /// The page, its entity tag following the origins.
    pub(super) page: Asset,
    /// Its `Content-Security-Policy`.
    pub(super) policy: HeaderValue,
    /// Whether any origin may frame it.
    pub(super) framed: bool,
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
}
