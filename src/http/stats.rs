//! `GET …/events/stats` and `GET …/events/stats/timeline`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::PromptGrant;
use super::state::AppState;
use crate::auth::AuthError;
use crate::domain::bins::Bins;
use crate::domain::prompt::PromptRecord;
use crate::domain::stats::{Stats, Timeline};

/// Query of the stats endpoint.
#[derive(Deserialize)]
pub struct StatsQuery {
    uid: String,
    bin: i64,
}

/// Query of the timeline endpoint.
#[derive(Deserialize)]
pub struct TimelineQuery {
    uid: String,
}

fn parse_query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::unprocessable(e.body_text()))
}

async fn granted_prompt(
    s: &AppState,
    grant: &PromptGrant,
    uid: &str,
) -> Result<PromptRecord, ApiError> {
    if grant.0 != uid {
        return Err(AuthError::Invalid.into());
    }
    s.store.prompt(uid).await?.ok_or_else(|| {
        ApiError::not_found(
            "interactive_prompt_not_found",
            "interactive prompt not found",
        )
    })
}

/// `GET /api/1/interactive_prompts/events/stats?uid=…&bin=…`
pub async fn stats(
    grant: PromptGrant,
    State(s): State<AppState>,
    uri: Uri,
) -> Result<Json<Stats>, ApiError> {
    let q: StatsQuery = parse_query(&uri)?;
    let prompt = granted_prompt(&s, &grant, &q.uid).await?;
    if q.bin < 0 {
        return Err(ApiError::unprocessable(format!(
            "bin must be at least 0, got {}",
            q.bin
        )));
    }
    let bins = Bins::new(prompt.duration_seconds);
    if q.bin >= bins.count() as i64 {
        return Err(ApiError::not_found(
            "bin_not_found",
            format!(
                "this prompt has {} bins (0 … {})",
                bins.count(),
                bins.count() - 1
            ),
        ));
    }
    Ok(Json(s.store.stats(&prompt, q.bin as u32).await?))
}

/// `GET /api/1/interactive_prompts/events/stats/timeline?uid=…`
pub async fn timeline(
    grant: PromptGrant,
    State(s): State<AppState>,
    uri: Uri,
) -> Result<Json<Timeline>, ApiError> {
    let q: TimelineQuery = parse_query(&uri)?;
    let prompt = granted_prompt(&s, &grant, &q.uid).await?;
    Ok(Json(s.store.timeline(&prompt).await?))
}
