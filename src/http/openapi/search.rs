//! Schemas of `POST /api/1/interactive_prompts/events/search`: mirrors of
//! [`crate::domain::search::SearchRequest`] and of the page it returns.

#![allow(dead_code)]

use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

use super::schemas::SearchItem;

/// A search (docs/api.md, "Search"). Every member is optional.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// Filters, all of which must hold.
    filters: Option<SearchFilters>,
    /// Sort keys; default `[prompt_time asc, uid asc]`. `uid` is always the
    /// final tie-break; copy `next_page_sort` here to get the next page.
    sort: Option<Vec<SortItem>>,
    /// Page size (default 100).
    #[schema(minimum = 1, maximum = 5000)]
    limit: Option<i64>,
}

/// The filters of a search.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchFilters {
    user_sub: Option<TextFilter>,
    session_uid: Option<TextFilter>,
    /// Defaults to the token's prompt; any other prompt is 403.
    interactive_prompt_uid: Option<TextFilter>,
    evtype: Option<TextFilter>,
    prompt_time: Option<NumberFilter>,
    created_at: Option<NumberFilter>,
    /// Keep each event with probability `min(1, m / count)` of its
    /// one-second bucket; needs a `prompt_time` `bte` filter `[k, k + 1]`.
    dropout_for_total: Option<DropoutFilter>,
}

/// Operators on text fields.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TextOp {
    Eq,
    Neq,
}

/// `{"operator": "eq"|"neq", "value": "..."}`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextFilter {
    operator: TextOp,
    value: String,
}

/// Operators on number fields; `bt` is inclusive, `bte` excludes the end.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NumberOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Bt,
    Bte,
}

/// A number, or a `[lo, hi]` pair for `bt`/`bte`.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum NumberOrPair {
    Number(f64),
    Pair(NumberPair),
}

/// `[lo, hi]`.
pub struct NumberPair;

impl utoipa::PartialSchema for NumberPair {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double))),
            )
            .min_items(Some(2))
            .max_items(Some(2))
            .into()
    }
}

impl ToSchema for NumberPair {}

/// `{"operator", "value"}` on a number field.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberFilter {
    operator: NumberOp,
    value: NumberOrPair,
}

/// Only `eq` is allowed.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EqOp {
    Eq,
}

/// `{"operator": "eq", "value": m}`, `m ≥ 1`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DropoutFilter {
    operator: EqOp,
    #[schema(minimum = 1)]
    value: i64,
}

/// Sort keys; `random` needs `dropout_for_total ≤ 100` and has no pages.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    PromptTime,
    Uid,
    Random,
}

/// Sort directions; `_eq` makes the `after` boundary inclusive.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortDir {
    Asc,
    Desc,
    AscEq,
    DescEq,
}

/// A prompt time (for `prompt_time`) or a uid (for `uid`).
#[derive(ToSchema)]
#[serde(untagged)]
pub enum SortAfter {
    PromptTime(f64),
    Uid(String),
}

/// A sort key with where the previous page ended.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SortItem {
    key: SortKey,
    dir: SortDir,
    /// Where the previous page ended, or null.
    after: Option<SortAfter>,
}

/// A page of events.
#[derive(ToSchema)]
pub struct SearchPage {
    /// Matching events, in the requested order.
    items: Vec<SearchItem>,
    /// The `sort` of the next page; null when there is none (or when
    /// sampling or random order make pages meaningless).
    #[schema(required = true)]
    next_page_sort: Option<Vec<SortItem>>,
}
