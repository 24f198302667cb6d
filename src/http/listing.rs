//! `GET /api/1/interactive_prompts` (docs/api.md, "Listing prompts"): the
//! admin's list of prompts, newest first, with their totals, a page at a
//! time behind an opaque cursor.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::error_responses::*;
use super::extract::Admin;
use super::prompt_body::PromptView;
use super::reply;
use super::state::AppState;
use crate::storage::listing::{DeletedFilter, ListQuery, ListedPrompt};

/// Most prompts on one page.
pub const MAX_LIMIT: usize = 500;
/// Prompts on a page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;

/// Query of the listing, as sent (each value checked by [`parse`]).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Prompts on the page, 1 … 500 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The previous page's `next`, to continue after it.
    after: Option<String>,
    /// `false` (default): prompts not deleted; `true`: deleted ones only;
    /// `any`: both.
    #[param(value_type = Option<String>, pattern = "^(false|true|any)$")]
    deleted: Option<String>,
}

// Members in alphabetical order, like every body of the API.
/// A listed prompt: the prompt as admins read it, with its totals.
#[derive(Serialize, ToSchema)]
pub struct ListedPromptBody<'a> {
    /// Unix seconds.
    created_at: f64,
    /// Unix seconds when soft-deleted, else null.
    #[schema(required = true)]
    deleted_at: Option<f64>,
    duration_seconds: i64,
    /// Events stored.
    events: i64,
    prompt: PromptView<'a>,
    /// Sessions started, with or without events.
    sessions: i64,
    /// `ip_…`
    uid: &'a str,
}

impl<'a> From<&'a ListedPrompt> for ListedPromptBody<'a> {
    fn from(l: &'a ListedPrompt) -> Self {
        let p = &l.prompt;
        ListedPromptBody {
            created_at: p.created_at,
            deleted_at: p.deleted_at,
            duration_seconds: p.duration_seconds,
            events: l.events,
            prompt: (&p.prompt).into(),
            sessions: l.sessions,
            uid: &p.uid,
        }
    }
}

/// One page of the listing.
#[derive(Serialize, ToSchema)]
pub struct PromptList<'a> {
    /// Newest first.
    items: Vec<ListedPromptBody<'a>>,
    /// Pass as `after` for the next page; null on the last page.
    #[schema(required = true)]
    next: Option<String>,
}

/// The cursor of the page that continues before row id `id`. Opaque to
/// clients: a version letter and the id, base64url-encoded.
fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("p{id}"))
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let id: i64 = text.strip_prefix('p')?.parse().ok()?;
    (id > 0 && text == format!("p{id}")).then_some(id)
}

/// Checks every parameter, naming the first bad one.
fn parse(uri: &Uri) -> Result<ListQuery, ApiError> {
    let axum::extract::Query(raw) = axum::extract::Query::<ListParams>::try_from_uri(uri)
        .map_err(|e| ApiError::unprocessable(e.body_text()))?;
    let limit = match raw.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "limit: must be an integer from 1 to {MAX_LIMIT}, not {text:?}"
                ))
            })?,
    };
    let deleted = match raw.deleted.as_deref() {
        None | Some("false") => DeletedFilter::Live,
        Some("true") => DeletedFilter::Deleted,
        Some("any") => DeletedFilter::Any,
        Some(other) => {
            return Err(ApiError::unprocessable(format!(
                "deleted: must be false, true or any, not {other:?}"
            )));
        }
    };
    let before_id = match raw.after.as_deref() {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
            ApiError::unprocessable("after: not a cursor this listing returned as `next`")
        })?),
    };
    Ok(ListQuery {
        before_id,
        limit,
        deleted,
    })
}

/// Lists prompts, newest first, with their session and event totals.
#[utoipa::path(get, path = "/api/1/interactive_prompts", tag = "prompts",
    security(("admin_token" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of prompts.", body = PromptList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub async fn list(_: Admin, State(s): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let query = parse(&uri)?;
    let page = s.store.prompt_page(query).await?;
    let body = PromptList {
        items: page.items.iter().map(ListedPromptBody::from).collect(),
        next: page.next_before_id.map(encode_cursor),
    };
    Ok(reply(StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        for id in [1, 42, i64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        }
        for bad in ["", "x", "cDA", "p1", "cC0x", "cCsx", "cDAx"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
