//! The body of `POST /api/1/interactive_prompts/events/search` (docs/api.md,
//! "Search") as the API reads it, handed to the domain as a
//! [`search::SearchRequest`] to validate.
//!
//! The names of these types are those of the domain's, so serde's messages
//! ("expected struct SearchFilters") read the same.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};

use crate::domain::search;

/// A search. Every member is optional.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// Filters, all of which must hold.
    #[serde(default)]
    filters: SearchFilters,
    /// Sort keys; default `[prompt_time asc, uid asc]`. `uid` is always the
    /// final tie-break; copy `next_page_sort` here to get the next page.
    #[serde(default)]
    sort: Option<Vec<SortItemInput>>,
    /// Page size (default 100).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5000)]
    limit: Option<i64>,
}

/// The filters of a search.
#[derive(Default, Deserialize, ToSchema)]
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
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TextOp {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
}

/// `{"operator": "eq"|"neq", "value": "..."}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextFilter {
    operator: TextOp,
    value: String,
}

/// Operators on number fields; `bt` is inclusive, `bte` excludes the end.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NumberOp {
    /// `=`
    Eq,
    /// `≠`
    Neq,
    /// `>`
    Gt,
    /// `≥`
    Gte,
    /// `<`
    Lt,
    /// `≤`
    Lte,
    /// `lo ≤ x ≤ hi`
    Bt,
    /// `lo ≤ x < hi`
    Bte,
}

/// `{"operator", "value"}` on a number field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberFilter {
    operator: NumberOp,
    /// A number, or a `[lo, hi]` pair for `bt`/`bte` (the domain checks
    /// which, and that they are finite).
    #[schema(schema_with = number_or_pair)]
    value: Value,
}

/// `{"operator": "eq", "value": m}`, `m ≥ 1`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DropoutFilter {
    /// Only `eq`.
    #[schema(schema_with = eq_only)]
    operator: TextOp,
    #[schema(minimum = 1)]
    value: i64,
}

/// Sort keys; `random` needs `dropout_for_total ≤ 100` and has no pages.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// By prompt time.
    PromptTime,
    /// By uid (always the final tie-break).
    Uid,
    /// In random order.
    Random,
}

/// Sort directions; `_eq` makes the `after` boundary inclusive.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
    /// Ascending, including the `after` value.
    AscEq,
    /// Descending, including the `after` value.
    DescEq,
}

/// A sort key with where the previous page ended.
#[derive(Deserialize, ToSchema)]
#[schema(as = SortItem)]
#[serde(deny_unknown_fields)]
pub struct SortItemInput {
    key: SortKey,
    dir: SortDir,
    /// Where the previous page ended (a prompt time for `prompt_time`, a
    /// uid for `uid`), or null.
    #[serde(default)]
    #[schema(schema_with = sort_after)]
    after: Option<Value>,
}

fn double() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
}

/// A number, or a `[lo, hi]` pair.
fn number_or_pair() -> Schema {
    let pair = ArrayBuilder::new()
        .items(double())
        .min_items(Some(2))
        .max_items(Some(2));
    OneOfBuilder::new()
        .description(Some("A number, or a `[lo, hi]` pair for `bt`/`bte`."))
        .item(double())
        .item(pair)
        .build()
        .into()
}

/// `"eq"`.
fn eq_only() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["eq"]))
        .build()
}

/// A prompt time, a uid, or null.
fn sort_after() -> Schema {
    OneOfBuilder::new()
        .description(Some("Where the previous page ended, or null."))
        .item(double())
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(Object::with_type(Type::Null))
        .build()
        .into()
}

impl From<SearchRequest> for search::SearchRequest {
    fn from(r: SearchRequest) -> Self {
        let f = r.filters;
        search::SearchRequest {
            filters: search::SearchFilters {
                user_sub: f.user_sub.map(Into::into),
                session_uid: f.session_uid.map(Into::into),
                interactive_prompt_uid: f.interactive_prompt_uid.map(Into::into),
                evtype: f.evtype.map(Into::into),
                prompt_time: f.prompt_time.map(Into::into),
                created_at: f.created_at.map(Into::into),
                dropout_for_total: f.dropout_for_total.map(|d| search::DropoutFilter {
                    operator: d.operator.into(),
                    value: d.value,
                }),
            },
            sort: r
                .sort
                .map(|items| items.into_iter().map(Into::into).collect()),
            limit: r.limit,
        }
    }
}

impl From<TextOp> for search::TextOp {
    fn from(op: TextOp) -> Self {
        match op {
            TextOp::Eq => search::TextOp::Eq,
            TextOp::Neq => search::TextOp::Neq,
        }
    }
}

impl From<TextFilter> for search::TextFilter {
    fn from(f: TextFilter) -> Self {
        search::TextFilter {
            operator: f.operator.into(),
            value: f.value,
        }
    }
}

impl From<NumberFilter> for search::NumberFilter {
    fn from(f: NumberFilter) -> Self {
        use search::NumberOp as Op;
        let operator = match f.operator {
            NumberOp::Eq => Op::Eq,
            NumberOp::Neq => Op::Neq,
            NumberOp::Gt => Op::Gt,
            NumberOp::Gte => Op::Gte,
            NumberOp::Lt => Op::Lt,
            NumberOp::Lte => Op::Lte,
            NumberOp::Bt => Op::Bt,
            NumberOp::Bte => Op::Bte,
        };
        search::NumberFilter {
            operator,
            value: f.value,
        }
    }
}

impl From<SortItemInput> for search::SortItemInput {
    fn from(s: SortItemInput) -> Self {
        let key = match s.key {
            SortKey::PromptTime => search::SortKey::PromptTime,
            SortKey::Uid => search::SortKey::Uid,
            SortKey::Random => search::SortKey::Random,
        };
        let dir = match s.dir {
            SortDir::Asc => search::SortDir::Asc,
            SortDir::Desc => search::SortDir::Desc,
            SortDir::AscEq => search::SortDir::AscEq,
            SortDir::DescEq => search::SortDir::DescEq,
        };
        search::SortItemInput {
            key,
            dir,
            after: s.after,
        }
    }
}
