//! `GET /openapi.json` (docs/api.md, "Operations endpoints"): the OpenAPI
//! 3.1 document of the HTTP API, generated when first asked for and then
//! served as is.
//!
//! Nothing in it is written twice. [`super::api`] registers every route
//! together with its handler's `#[utoipa::path]` (utoipa-axum), so a route
//! is described exactly when it is served; the bodies are the wire types
//! the handlers serialize and deserialize (`Serialize`/`Deserialize` and
//! `ToSchema` on the same type); the error responses carry the `type`s of
//! the mappings the handlers use ([`super::error_responses`]). This module
//! adds what belongs to the whole document: its description, tags, the
//! security schemes and the reusable error responses.
//! `scripts/schemathesis.sh` and `tests/it/openapi.rs` check served
//! responses against it.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::error::ErrorBody;
use super::error_responses::*;
use super::state::AppState;

/// What the document says beyond its routes.
#[derive(OpenApi)]
#[openapi(
    info(description = "Interactive prompts: time-dilated events, O(log n) aggregates and live \
        streams. Errors are `{\"type\", \"message\"}`; `Authorization` is `bearer <token>` \
        (scheme case-insensitive)."),
    components(
        schemas(ErrorBody),
        responses(
            Unauthorized, Forbidden, PromptNotFound, StatsNotFound, SearchPromptNotFound,
            EventConflict, PayloadTooLarge, Unprocessable, Unavailable, NotAnUpgrade,
            UpgradeRequired, TooManyRequests, NoSuchAsset, PublicPromptNotFound, UserNotFound,
        ),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "prompts", description = "Prompts (admin) and sessions (users)."),
        (name = "events", description = "Posting and searching events."),
        (name = "users", description = "Users (admin): erasing one."),
        (name = "stats", description = "Aggregates from the Fenwick trees."),
        (name = "stream", description = "The live WebSocket stream."),
        (name = "operations", description = "Health, readiness, metrics, this document."),
        (name = "dev", description = "Dev mode (`--dev`) only."),
        (name = "web", description = "The web client, embedded in the binary."),
    )
)]
pub struct ApiDoc;

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

/// The document as JSON: of the routes served with `--dev` when `dev`.
pub fn document(dev: bool) -> &'static str {
    static DEV: OnceLock<String> = OnceLock::new();
    static PLAIN: OnceLock<String> = OnceLock::new();
    let cell = if dev { &DEV } else { &PLAIN };
    cell.get_or_init(|| {
        super::api(dev)
            .into_openapi()
            .to_pretty_json()
            .expect("the document serializes")
    })
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI document.", body = Object)))]
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
        // 7 fixed API paths (incl. prompt_token) + 8 event routes + stream
        // + 4 operations + 2 web; + 1 for events/export; + 3 of named
        // prompts (`…/public`, `…/public/{identifier}`, `…/start_public`);
        // + 1 for the participant page /p/{prompt_uid}; + 1 profile_pictures
        // (who is here); + 1 for the admin console's `/admin`; + 1 for
        // DELETE /api/1/users/{sub} (erase).
        assert_eq!(paths(&plain), 22 + 1 + 1 + 3 + 1 + 1 + 1 + 1);
        assert_eq!(paths(&dev), 24 + 1 + 1 + 3 + 1 + 1 + 1 + 1);
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
