//! `GET /openapi.json` (docs/api.md, "Operations endpoints"): an OpenAPI
//! 3.1 document of the HTTP API, generated with utoipa when first asked for
//! and then served as is.
//!
//! # Where the descriptions live
//! * [`paths`] — one `#[utoipa::path]` per fixed route, on a stub named
//!   after the handler; [`events`] describes the eight event routes in the
//!   same loop that registers them.
//! * [`schemas`] and [`search`] — the JSON the API returns, and the domain
//!   types it reads (prompts, searches), as `ToSchema` mirrors. Request
//!   bodies owned by `http` derive `ToSchema` where they are defined.
//! * [`errors`] — the `{"type", "message"}` error, one reusable response
//!   per status with the `type`s it can carry.
//!
//! Why mirrors rather than `#[cfg_attr(…, derive(ToSchema))]` on the domain:
//! the domain imports no web framework (STYLE.md), several of its types
//! serialize by hand (`RatingCounts`) or hold `serde_json::Value`s whose
//! real shape only a hand-written schema can state, and the handlers build
//! their responses with `json!`, so most schemas would need restating
//! anyway. Schemathesis (`scripts/schemathesis.sh`) checks every response
//! against the document, which catches a mirror that drifts.

mod errors;
mod events;
mod paths;
mod schemas;
mod search;

pub use schemas::Prompt;

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::state::AppState;
use events::EventRoutes;

#[derive(OpenApi)]
#[openapi(
    info(description = "Interactive prompts: time-dilated events, O(log n) aggregates and live \
        streams. Errors are `{\"type\", \"message\"}`; `Authorization` is `bearer <token>` \
        (scheme case-insensitive)."),
    paths(
        paths::create, paths::read, paths::delete, paths::start_session, paths::stats,
        paths::timeline, paths::search, paths::live, paths::dev_login, paths::dev_prompts,
        paths::web_index, paths::web_asset, paths::healthz, paths::readyz, paths::metrics,
        paths::openapi,
    ),
    components(
        schemas(
            errors::ErrorBody, schemas::EmptyData, schemas::NameData, schemas::RatingData, schemas::IndexData,
        ),
        responses(
            errors::Unauthorized, errors::Forbidden, errors::PromptNotFound,
            errors::StatsNotFound, errors::SearchPromptNotFound, errors::EventConflict,
            errors::PayloadTooLarge, errors::Unprocessable, errors::Unavailable,
            errors::NotAnUpgrade, errors::UpgradeRequired, errors::TooManyRequests,
            errors::NoSuchAsset,
        ),
    ),
    modifiers(&SecuritySchemes, &EventRoutes),
    tags(
        (name = "prompts", description = "Prompts (admin) and sessions (users)."),
        (name = "events", description = "Posting and searching events."),
        (name = "stats", description = "Aggregates from the Fenwick trees."),
        (name = "stream", description = "The live WebSocket stream."),
        (name = "operations", description = "Health, readiness, metrics, this document."),
        (name = "dev", description = "Dev mode (`--dev`) only."),
        (name = "web", description = "The web client, embedded in the binary."),
    )
)]
struct ApiDoc;

/// The three kinds of bearer token (docs/api.md, "Auth").
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, format, description) in [
            (
                "user_token",
                Some("JWT"),
                "A user's token from the identity provider (HS256 with CHORUS_USER_JWT_SECRET, or RS256/ES256); `sub`, `iat` and `exp` required.",
            ),
            (
                "prompt_token",
                Some("JWT"),
                "The `jwt` returned by `start_session`: grants one prompt for 30 minutes.",
            ),
            ("admin_token", None, "CHORUS_ADMIN_TOKEN."),
        ] {
            let mut http = HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(description));
            if let Some(f) = format {
                http = http.bearer_format(f);
            }
            components.add_security_scheme(name, SecurityScheme::Http(http.build()));
        }
    }
}

/// The document as JSON; without the dev-only routes unless `dev`.
pub fn document(dev: bool) -> &'static str {
    static DEV: OnceLock<String> = OnceLock::new();
    static PLAIN: OnceLock<String> = OnceLock::new();
    let cell = if dev { &DEV } else { &PLAIN };
    cell.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        if !dev {
            doc.paths
                .paths
                .retain(|path, _| !path.starts_with("/api/1/dev/"));
        }
        doc.to_pretty_json().expect("the document serializes")
    })
}

/// `GET /openapi.json`
pub async fn serve(State(s): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document(s.dev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn every_route_is_described_and_dev_routes_only_in_dev_mode() {
        let dev: Value = serde_json::from_str(document(true)).unwrap();
        let plain: Value = serde_json::from_str(document(false)).unwrap();
        let paths = |v: &Value| v["paths"].as_object().unwrap().len();
        // 6 fixed API paths + 8 event routes + stream + 4 operations + 2 web.
        assert_eq!(paths(&plain), 21);
        assert_eq!(paths(&dev), 23);
        assert!(plain["paths"].get("/api/1/dev/login").is_none());
        let join = &dev["paths"]["/api/1/interactive_prompts/events/join"]["post"];
        assert_eq!(join["security"][0]["user_token"], serde_json::json!([]));
        assert!(join["responses"]["429"].is_object());
        let schemes = &dev["components"]["securitySchemes"];
        for name in ["user_token", "prompt_token", "admin_token"] {
            assert_eq!(schemes[name]["scheme"], "bearer", "{name}");
        }
    }
}
