//! One annotated operation per fixed route of [`crate::http::router`]. The
//! functions are never called: they carry the `#[utoipa::path]` that
//! describes the handler of the same name. The event routes, made in a
//! loop, are described in [`super::events`].

#![allow(dead_code)]

use super::errors::*;
use super::schemas::*;
use super::search::{SearchPage, SearchRequest};
use crate::http::dev::DevLogin;
use crate::http::prompts::{CreatePrompt, StartSession};

/// Creates a prompt.
#[utoipa::path(post, path = "/api/1/interactive_prompts", tag = "prompts",
    security(("admin_token" = [])),
    request_body = CreatePrompt,
    responses(
        (status = 201, description = "Created.", body = PromptCreated),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub fn create() {}

/// Reads a prompt, deleted or not.
#[utoipa::path(get, path = "/api/1/interactive_prompts/{uid}", tag = "prompts",
    security(("admin_token" = [])),
    params(("uid" = String, Path, description = "The prompt's uid (`ip_…`).")),
    responses(
        (status = 200, description = "The prompt.", body = PromptRecord),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 503, response = Unavailable),
    ))]
pub fn read() {}

/// Soft-deletes a prompt: new sessions and events are refused; reads work.
#[utoipa::path(delete, path = "/api/1/interactive_prompts/{uid}", tag = "prompts",
    security(("admin_token" = [])),
    params(("uid" = String, Path, description = "The prompt's uid (`ip_…`).")),
    responses(
        (status = 200, description = "The deleted prompt.", body = PromptRecord),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 503, response = Unavailable),
    ))]
pub fn delete() {}

/// Starts a session for the user: returns its uid and a prompt token.
#[utoipa::path(post, path = "/api/1/interactive_prompts/start_session", tag = "prompts",
    security(("user_token" = [])),
    request_body = StartSession,
    responses(
        (status = 201, description = "Started.", body = SessionStarted),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub fn start_session() {}

/// Totals over all events in bins `≤ bin` (docs/api.md, "Stats and timeline").
#[utoipa::path(get, path = "/api/1/interactive_prompts/events/stats", tag = "stats",
    security(("prompt_token" = [])),
    params(
        ("uid" = String, Query, description = "The prompt's uid; must be the token's prompt."),
        ("bin" = i64, Query, minimum = 0, description = "The bin, `0 … bins − 1`; past the last is 404."),
    ),
    responses(
        (status = 200, description = "The figures.", body = Stats),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = StatsNotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub fn stats() {}

/// The figures of every bin at once, as arrays indexed by bin.
#[utoipa::path(get, path = "/api/1/interactive_prompts/events/stats/timeline", tag = "stats",
    security(("prompt_token" = [])),
    params(("uid" = String, Query, description = "The prompt's uid; must be the token's prompt.")),
    responses(
        (status = 200, description = "The timeline.", body = Timeline),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = SearchPromptNotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub fn timeline() {}

/// Searches the events of the token's prompt, with keyset pagination.
#[utoipa::path(post, path = "/api/1/interactive_prompts/events/search", tag = "events",
    security(("prompt_token" = [])),
    request_body = SearchRequest,
    responses(
        (status = 200, description = "A page of events.", body = SearchPage),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = SearchPromptNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub fn search() {}

/// The live stream (docs/stream-protocol.md): a WebSocket upgrade; the packets are
/// documented in `docs/`.
#[utoipa::path(get, path = "/api/2/interactive_prompts/live", tag = "stream",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol. The client then sends `authorize` (with the prompt token) and `sync_response` packets."),
        (status = 400, response = NotAnUpgrade),
        (status = 426, response = UpgradeRequired),
    ))]
pub fn live() {}

/// Dev mode only (`--dev`): mints a user token for a fresh dev user.
/// Absent from the document, and 404, otherwise.
#[utoipa::path(post, path = "/api/1/dev/login", tag = "dev",
    request_body = DevLogin,
    responses(
        (status = 200, description = "A user token.", body = DevToken),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    ))]
pub fn dev_login() {}

/// Dev mode only (`--dev`): the prompts that are not deleted, oldest
/// first, for the web client to list. Absent from the document, and 404,
/// otherwise.
#[utoipa::path(get, path = "/api/1/dev/prompts", tag = "dev",
    responses(
        (status = 200, description = "The live prompts.", body = PromptList),
        (status = 503, response = Unavailable),
    ))]
pub fn dev_prompts() {}

/// The web client's page (docs/web-client.md).
#[utoipa::path(get, path = "/", tag = "web",
    responses((status = 200, description = "The page.", body = String, content_type = "text/html")))]
pub fn web_index() {}

/// The web client's scripts, styles and icon, as linked from the page.
#[utoipa::path(get, path = "/assets/{file}", tag = "web",
    params(("file" = String, Path, example = "app.js",
        description = "e.g. `app.js`, `style.css`, `icon.svg`.")),
    responses(
        (status = 200, description = "The file.", content(
            (String = "text/javascript"), (String = "text/css"), (String = "image/svg+xml"),
        )),
        (status = 404, response = NoSuchAsset),
    ))]
pub fn web_asset() {}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up.", body = Health)))]
pub fn healthz() {}

/// The database (and Redis, when configured) answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 503, description = "A dependency is unreachable.", body = Readiness),
    ))]
pub fn readyz() {}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4.", body = String, content_type = "text/plain")))]
pub fn metrics() {}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document.", body = Object)))]
pub fn openapi() {}
