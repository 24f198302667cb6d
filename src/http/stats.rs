//! `GET …/events/stats` and `GET …/events/stats/timeline` (docs/api.md,
//! "Stats and timeline").

use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, kind};
use super::error_responses::*;
use super::extract::PromptGrant;
use super::reply;
use super::state::AppState;
use crate::auth::AuthError;
use crate::domain::bins::Bins;
use crate::domain::prompt::PromptRecord;
use crate::domain::stats::{PerBin, RatingCounts, Stats, Timeline};

/// Query of the stats endpoint.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The prompt's uid; must be the token's prompt.
    uid: String,
    /// The bin, `0 … bins − 1`; `bins` is answered as the last bin (with
    /// `prompt_time` = the duration); past that is 404.
    #[param(minimum = 0)]
    bin: i64,
}

/// Query of the timeline endpoint.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// The prompt's uid; must be the token's prompt.
    uid: String,
}

/// Totals over all events in bins `≤ bin`; only the prompt style's fields
/// are non-null.
#[derive(Serialize, ToSchema)]
#[schema(as = Stats)]
pub struct StatsBody<'a> {
    /// `bin · bin_width`.
    prompt_time: f64,
    bin_width: f64,
    users: i64,
    likes: i64,
    /// Numeric prompts: count per rating, keyed by the rating.
    #[schema(value_type = Option<BTreeMap<String, i64>>, required = true)]
    numeric_active: Option<&'a RatingCounts>,
    /// Press prompts: sessions pressing.
    #[schema(required = true)]
    press_active: Option<i64>,
    /// Press prompts: presses so far.
    #[schema(required = true)]
    press: Option<i64>,
    /// Colour prompts: count per colour.
    #[schema(required = true)]
    color_active: Option<&'a [i64]>,
    /// Word prompts: count per option.
    #[schema(required = true)]
    word_active: Option<&'a [i64]>,
}

impl<'a> From<&'a Stats> for StatsBody<'a> {
    fn from(s: &'a Stats) -> Self {
        StatsBody {
            prompt_time: s.prompt_time,
            bin_width: s.bin_width,
            users: s.users,
            likes: s.likes,
            numeric_active: s.numeric_active.as_ref(),
            press_active: s.press_active,
            press: s.press,
            color_active: s.color_active.as_deref(),
            word_active: s.word_active.as_deref(),
        }
    }
}

/// The stats of every bin at once, as arrays indexed by bin.
#[derive(Serialize, ToSchema)]
#[schema(as = Timeline)]
pub struct TimelineBody<'a> {
    bin_width: f64,
    #[schema(minimum = 1)]
    bins: u32,
    users: &'a [i64],
    likes: &'a [i64],
    #[schema(value_type = Option<Vec<BTreeMap<String, i64>>>, required = true)]
    numeric_active: Option<&'a PerBin>,
    #[schema(required = true)]
    press_active: Option<&'a [i64]>,
    #[schema(required = true)]
    press: Option<&'a [i64]>,
    #[schema(value_type = Option<Vec<Vec<i64>>>, required = true)]
    color_active: Option<&'a PerBin>,
    #[schema(value_type = Option<Vec<Vec<i64>>>, required = true)]
    word_active: Option<&'a PerBin>,
}

impl<'a> From<&'a Timeline> for TimelineBody<'a> {
    fn from(t: &'a Timeline) -> Self {
        TimelineBody {
            bin_width: t.bin_width,
            bins: t.bins,
            users: &t.users,
            likes: &t.likes,
            numeric_active: t.numeric_active.as_ref(),
            press_active: t.press_active.as_deref(),
            press: t.press.as_deref(),
            color_active: t.color_active.as_ref(),
            word_active: t.word_active.as_ref(),
        }
    }
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
    // Stats may lag by the staleness bound anyway: the prompt may too.
    s.store
        .read_prompt(uid)
        .await?
        .ok_or_else(|| ApiError::not_found(kind::PROMPT_NOT_FOUND, "interactive prompt not found"))
}

/// Totals over all events in bins `≤ bin`.
#[utoipa::path(get, path = "/api/1/interactive_prompts/events/stats", tag = "stats",
    security(("prompt_token" = [])),
    params(StatsQuery),
    responses(
        (status = 200, description = "The figures.", body = StatsBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = StatsNotFound),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ))]
pub async fn stats(
    grant: PromptGrant,
    State(s): State<AppState>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: StatsQuery = parse_query(&uri)?;
    let prompt = granted_prompt(&s, &grant, &q.uid).await?;
    if q.bin < 0 {
        return Err(ApiError::unprocessable(format!(
            "bin must be at least 0, got {}",
            q.bin
        )));
    }
    let bins = Bins::new(prompt.duration_seconds).count();
    if q.bin > bins as i64 {
        return Err(ApiError::not_found(
            kind::BIN_NOT_FOUND,
            format!("this prompt has {bins} bins (0 … {})", bins - 1),
        ));
    }
    // Oseh's client counts bins as `ceil(duration / bin_width)` in floating
    // point, one too many for some durations, and asks for `bin = bins` near
    // the end: that is the last bin, at the end of the prompt
    // (docs/api.md, "stats").
    let last = q.bin == bins as i64;
    let mut stats = s
        .store
        .stats(&prompt, q.bin.min(bins as i64 - 1) as u32)
        .await?;
    if last {
        stats.prompt_time = prompt.duration_seconds as f64;
    }
    Ok(reply(StatusCode::OK, StatsBody::from(&stats)))
}

/// The figures of every bin at once, as arrays indexed by bin.
///
/// Repeated requests between two changes of the prompt's figures are
/// answered with the same bytes, kept by this process.
#[utoipa::path(get, path = "/api/1/interactive_prompts/events/stats/timeline", tag = "stats",
    security(("prompt_token" = [])),
    params(TimelineQuery),
    responses(
        (status = 200, description = "The timeline.", body = TimelineBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = SearchPromptNotFound),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ))]
pub async fn timeline(
    grant: PromptGrant,
    State(s): State<AppState>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: TimelineQuery = parse_query(&uri)?;
    let prompt = granted_prompt(&s, &grant, &q.uid).await?;
    let counted = |result: &'static str| {
        metrics::counter!(crate::metrics::TIMELINE_CACHE, "result" => result).increment(1);
    };
    if let Some(version) = s.store.figures_version(&prompt).await?
        && let Some(body) = s.timelines.get(prompt.id, version)
    {
        counted("hit");
        return Ok(json_bytes(body));
    }
    let (timeline, version) = s.store.timeline(&prompt).await?;
    let body = Bytes::from(
        serde_json::to_vec(&TimelineBody::from(&timeline)).expect("a timeline serializes"),
    );
    match version {
        Some(version) => {
            counted("miss");
            s.timelines.put(prompt.id, version, body.clone());
        }
        None => counted("unversioned"),
    }
    Ok(json_bytes(body))
}

/// A 200 with a body that is JSON already.
fn json_bytes(body: Bytes) -> Response {
    let json = HeaderValue::from_static("application/json");
    (StatusCode::OK, [(CONTENT_TYPE, json)], body).into_response()
}
