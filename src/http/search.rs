//! `POST /api/1/interactive_prompts/events/search`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::{JsonBody, PromptGrant};
use super::state::AppState;
use crate::domain::search::{SearchError, SearchQuery, SearchRequest};

/// Searches the events of the token's prompt.
pub async fn search(
    PromptGrant(prompt_uid): PromptGrant,
    State(s): State<AppState>,
    JsonBody(req): JsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let query = SearchQuery::parse(req, &prompt_uid).map_err(|e| match e {
        SearchError::Invalid(m) => ApiError::unprocessable(m),
        SearchError::OtherPrompt => ApiError::new(StatusCode::FORBIDDEN, "invalid", e.to_string()),
    })?;
    let prompt = s.store.prompt(&prompt_uid).await?.ok_or_else(|| {
        ApiError::not_found(
            "interactive_prompt_not_found",
            "interactive prompt not found",
        )
    })?;
    let page = s.store.search(&prompt, query).await?;
    Ok(Json(
        json!({"items": page.items, "next_page_sort": page.next_page_sort}),
    ))
}
