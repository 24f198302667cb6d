//! Schemas of the JSON the API sends and of the domain types it reads.
//!
//! These are mirrors: the domain layer stays free of OpenAPI, so the
//! shapes of [`crate::domain::prompt::Prompt`], the stats figures and the
//! stored events are restated here. Schemathesis (`scripts/schemathesis.sh`)
//! checks every response against them, which is what keeps them honest.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, Type};

/// The schema of a value that is always `null`.
pub fn null_schema() -> Object {
    Object::with_type(Type::Null)
}

/// An interactive prompt, tagged by `style` (docs/rules.md, "Prompts"). Texts are 1–75
/// characters and options 1–45 characters after trimming.
#[derive(ToSchema)]
#[serde(tag = "style", rename_all = "lowercase", deny_unknown_fields)]
pub enum Prompt {
    /// A rating between `min` and `max`: `step` is 1 and `max − min ≤ 10`.
    Numeric {
        /// The question.
        #[schema(min_length = 1)]
        text: String,
        /// Lowest rating.
        min: i64,
        /// Highest rating.
        max: i64,
        /// Always 1.
        #[schema(minimum = 1, maximum = 1)]
        step: i64,
    },
    /// Press (and hold) while something is true.
    Press {
        /// The question.
        #[schema(min_length = 1)]
        text: String,
    },
    /// Pick one of 2–8 colours (`#RRGGBB`, returned upper-case).
    Color {
        /// The question.
        #[schema(min_length = 1)]
        text: String,
        /// The colours.
        #[schema(min_items = 2, max_items = 8, inline)]
        colors: Vec<Color>,
    },
    /// Pick one of 2–8 words.
    Word {
        /// The question.
        #[schema(min_length = 1)]
        text: String,
        /// The words to choose from.
        #[schema(min_items = 2, max_items = 8)]
        options: Vec<String>,
    },
}

/// A colour, `#RRGGBB`.
#[derive(ToSchema)]
#[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
pub struct Color(String);

/// `201` of `POST /api/1/interactive_prompts`.
#[derive(ToSchema)]
pub struct PromptCreated {
    /// `ip_…`
    uid: String,
    #[schema(value_type = Prompt)]
    prompt: Value,
    duration_seconds: i64,
    /// Unix seconds.
    created_at: f64,
}

/// A stored prompt, as admins read it.
#[derive(ToSchema)]
pub struct PromptRecord {
    /// `ip_…`
    uid: String,
    #[schema(value_type = Prompt)]
    prompt: Value,
    duration_seconds: i64,
    /// Unix seconds.
    created_at: f64,
    /// Unix seconds when soft-deleted, else null.
    #[schema(required = true)]
    deleted_at: Option<f64>,
}

/// `201` of `POST /api/1/interactive_prompts/start_session`.
#[derive(ToSchema)]
pub struct SessionStarted {
    /// The prompt's uid.
    uid: String,
    /// The prompt token (docs/api.md, "Auth"), valid for 30 minutes.
    jwt: String,
    /// `ips_…`
    session_uid: String,
    #[schema(value_type = Prompt)]
    prompt: Value,
    duration_seconds: i64,
}

/// Totals over all events in bins `≤ bin`; only the prompt style's fields
/// are non-null.
#[derive(ToSchema)]
pub struct Stats {
    /// `bin · bin_width`.
    prompt_time: f64,
    bin_width: f64,
    users: i64,
    likes: i64,
    /// Numeric prompts: count per rating, keyed by the rating.
    #[schema(required = true)]
    numeric_active: Option<BTreeMap<String, i64>>,
    /// Press prompts: sessions pressing.
    #[schema(required = true)]
    press_active: Option<i64>,
    /// Press prompts: presses so far.
    #[schema(required = true)]
    press: Option<i64>,
    /// Colour prompts: count per colour.
    #[schema(required = true)]
    color_active: Option<Vec<i64>>,
    /// Word prompts: count per option.
    #[schema(required = true)]
    word_active: Option<Vec<i64>>,
}

/// The stats of every bin at once, as arrays indexed by bin.
#[derive(ToSchema)]
pub struct Timeline {
    bin_width: f64,
    #[schema(minimum = 1)]
    bins: u32,
    users: Vec<i64>,
    likes: Vec<i64>,
    #[schema(required = true)]
    numeric_active: Option<Vec<BTreeMap<String, i64>>>,
    #[schema(required = true)]
    press_active: Option<Vec<i64>>,
    #[schema(required = true)]
    press: Option<Vec<i64>>,
    #[schema(required = true)]
    color_active: Option<Vec<Vec<i64>>>,
    #[schema(required = true)]
    word_active: Option<Vec<Vec<i64>>>,
}

/// The `evtype` of an event.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Evtype {
    Join,
    Leave,
    Like,
    NumericPromptResponse,
    PressPromptStartResponse,
    PressPromptEndResponse,
    ColorPromptResponse,
    WordPromptResponse,
}

/// Event data as it leaves the server: `{"name"}` for join/leave,
/// `{"rating"}`, `{"index"}` or `{}`.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum EventDataOut {
    Name(NameData),
    Rating(RatingData),
    Index(IndexData),
    Empty(EmptyData),
}

/// Data of `join`/`leave` as read: the display name.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameData {
    name: String,
}

/// Data of a numeric response.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingData {
    rating: i64,
}

/// Data of a colour or word response: an index into the choices.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexData {
    /// Into the prompt's colours or options; past the end is 409.
    #[schema(minimum = 0)]
    index: i64,
}

/// Data of events without data.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyData {}

/// `201` of an event route: the stored event.
#[derive(ToSchema)]
pub struct EventCreated {
    /// `ipe_…`
    uid: String,
    user_sub: String,
    session_uid: String,
    #[serde(rename = "type")]
    #[schema(value_type = Evtype)]
    kind: String,
    prompt_time: f64,
    /// Always null.
    #[schema(schema_with = null_schema, required = true)]
    icon: Option<String>,
    #[schema(value_type = EventDataOut)]
    data: Value,
}

/// An event found by search.
#[derive(ToSchema)]
pub struct SearchItem {
    /// `ipe_…`
    uid: String,
    user_sub: String,
    session_uid: String,
    interactive_prompt_uid: String,
    #[schema(value_type = Evtype)]
    evtype: String,
    /// Always null.
    #[schema(schema_with = null_schema, required = true)]
    icon: Option<String>,
    #[schema(value_type = EventDataOut)]
    data: Value,
    prompt_time: f64,
    created_at: f64,
}

/// `200` of the dev login.
#[derive(ToSchema)]
pub struct DevToken {
    /// A user token (HS256, one day).
    user_jwt: String,
    /// The new dev user's `sub`.
    sub: String,
}

/// `200` of the dev prompt list.
#[derive(ToSchema)]
pub struct PromptList {
    /// Oldest first.
    items: Vec<ListedPrompt>,
}

/// A prompt in the dev prompt list.
#[derive(ToSchema)]
pub struct ListedPrompt {
    /// `ip_…`
    uid: String,
    #[schema(value_type = Prompt)]
    prompt: Value,
    duration_seconds: i64,
}

/// `200` of `/healthz`.
#[derive(ToSchema)]
pub struct Health {
    #[schema(value_type = String, pattern = "^ok$")]
    status: String,
}

/// `/readyz`: `ok` or the failure, per dependency.
#[derive(ToSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    status: String,
    /// `ok` or the database error.
    database: String,
    /// `ok` or the Redis error.
    pubsub: String,
}
