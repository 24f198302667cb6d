//! `POST /api/1/interactive_prompts/events/search` (docs/api.md, "Search").

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, auth_status, kind};
use super::error_responses::*;
use super::event_json::EventItem;
use super::extract::{JsonBody, PromptGrant};
use super::reply;
use super::search_request::{SearchRequest, SortItemInput};
use super::state::AppState;
use crate::auth::AuthError;
use crate::domain::search::{SearchError, SearchQuery};

// Members in alphabetical order, as pages have always been serialized.
/// A page of events.
#[derive(Serialize, ToSchema)]
pub struct SearchPage<'a> {
    /// Matching events, in the requested order.
    items: Vec<EventItem<'a>>,
    /// The `sort` of the next page; null when there is none (or when
    /// sampling or random order make pages meaningless).
    #[schema(value_type = Option<Vec<SortItemInput>>, required = true)]
    next_page_sort: Option<&'a Value>,
}

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
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ))]
pub async fn search(
    PromptGrant(prompt_uid): PromptGrant,
    State(s): State<AppState>,
    JsonBody(req): JsonBody<SearchRequest>,
) -> Result<Response, ApiError> {
    let query = SearchQuery::parse(req.into(), &prompt_uid).map_err(|e| match e {
        SearchError::Invalid(m) => ApiError::unprocessable(m),
        SearchError::OtherPrompt => {
            let (status, kind) = auth_status(AuthError::Invalid);
            ApiError::new(status, kind, e.to_string())
        }
    })?;
    let prompt = s.store.prompt(&prompt_uid).await?.ok_or_else(|| {
        ApiError::not_found(kind::PROMPT_NOT_FOUND, "interactive prompt not found")
    })?;
    let page = s.store.search(&prompt, query).await?;
    let body = SearchPage {
        items: page.items.iter().map(EventItem::from).collect(),
        next_page_sort: page.next_page_sort.as_ref(),
    };
    Ok(reply(StatusCode::OK, body))
}
