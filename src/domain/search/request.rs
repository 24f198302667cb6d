//! A search request exactly as a client sends it, before validation.

use serde::Deserialize;
use serde_json::Value;

/// The request body, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// Filters, all of which must hold.
    #[serde(default)]
    pub filters: SearchFilters,
    /// Sort keys; defaults to `[prompt_time asc, uid asc]`.
    #[serde(default)]
    pub sort: Option<Vec<SortItemInput>>,
    /// Page size, 1 … 5000.
    #[serde(default)]
    pub limit: Option<i64>,
}

/// The filters of a search, as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchFilters {
    /// Filter on the event's user.
    pub user_sub: Option<TextFilter>,
    /// Filter on the event's session.
    pub session_uid: Option<TextFilter>,
    /// Must be the token's prompt when given.
    pub interactive_prompt_uid: Option<TextFilter>,
    /// Filter on the event type.
    pub evtype: Option<TextFilter>,
    /// Filter on prompt time.
    pub prompt_time: Option<NumberFilter>,
    /// Filter on creation time.
    pub created_at: Option<NumberFilter>,
    /// Sample about this many events of a one-second bucket.
    pub dropout_for_total: Option<DropoutFilter>,
}

/// Operators on text fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextOp {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
}

/// `{"operator": "eq"|"neq", "value": "..."}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextFilter {
    /// The comparison.
    pub operator: TextOp,
    /// The value compared with.
    pub value: String,
}

/// Operators on number fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
    /// Between, inclusive: `lo ≤ x ≤ hi`.
    Bt,
    /// Between, exclusive end: `lo ≤ x < hi`.
    Bte,
}

/// `{"operator", "value"}` with a number, or a `[lo, hi]` pair for `bt`/`bte`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberFilter {
    /// The comparison.
    pub operator: NumberOp,
    /// A number, or a pair for `bt`/`bte`.
    pub value: Value,
}

/// `{"operator": "eq", "value": m}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutFilter {
    /// Only `eq`.
    pub operator: TextOp,
    /// How many events to keep on average, ≥ 1.
    pub value: i64,
}

/// Sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// By prompt time.
    PromptTime,
    /// By uid (always the final tie-break).
    Uid,
    /// In random order (not paginable).
    Random,
}

/// Sort directions; `_eq` makes the `after` boundary inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

impl SortDir {
    /// Whether ascending.
    pub fn ascending(self) -> bool {
        matches!(self, SortDir::Asc | SortDir::AscEq)
    }

    /// Whether the boundary is inclusive.
    pub fn inclusive(self) -> bool {
        matches!(self, SortDir::AscEq | SortDir::DescEq)
    }

    /// The direction as it is written.
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
            SortDir::AscEq => "asc_eq",
            SortDir::DescEq => "desc_eq",
        }
    }
}

/// A sort item, as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortItemInput {
    /// The key.
    pub key: SortKey,
    /// The direction.
    pub dir: SortDir,
    /// Where the previous page ended, or null.
    #[serde(default)]
    pub after: Option<Value>,
}
