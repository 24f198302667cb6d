//! Sort keys, their directions and keyset pagination: where a listing
//! continues (`after`) and the `next_page_sort` that continues it.

use serde::Deserialize;
use serde_json::{Value, json};

use super::MAX_RANDOM_DROPOUT;
use super::query::{Dropout, Scalar, SearchError, SearchQuery, invalid};
use super::request::SortItemInput;

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

    fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
            SortDir::AscEq => "asc_eq",
            SortDir::DescEq => "desc_eq",
        }
    }
}

/// One sort key with its pagination boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct SortItem {
    /// The key (never `Random`; see [`SearchQuery::random`]).
    pub key: SortKey,
    /// The direction.
    pub dir: SortDir,
    /// The boundary value, if continuing a listing.
    pub after: Option<Scalar>,
}

impl SearchQuery {
    /// The `next_page_sort` continuing after `last` (its prompt time and
    /// uid), or `None` when this listing cannot be paginated.
    pub fn next_page_sort(&self, last_prompt_time: f64, last_uid: &str) -> Option<Value> {
        if self.random || self.dropout.is_some() {
            return None;
        }
        Some(Value::Array(
            self.sort
                .iter()
                .map(|s| {
                    let (key, after) = match s.key {
                        SortKey::PromptTime => ("prompt_time", json!(last_prompt_time)),
                        _ => ("uid", json!(last_uid)),
                    };
                    let dir = if s.dir.ascending() {
                        SortDir::Asc
                    } else {
                        SortDir::Desc
                    };
                    json!({"key": key, "dir": dir.as_str(), "after": after})
                })
                .collect(),
        ))
    }
}

pub(super) fn parse_sort(
    input: Option<Vec<SortItemInput>>,
    dropout: Option<Dropout>,
) -> Result<(Vec<SortItem>, bool), SearchError> {
    let input = input.unwrap_or_else(|| {
        vec![
            SortItemInput {
                key: SortKey::PromptTime,
                dir: SortDir::Asc,
                after: None,
            },
            SortItemInput {
                key: SortKey::Uid,
                dir: SortDir::Asc,
                after: None,
            },
        ]
    });
    if input.iter().any(|s| s.key == SortKey::Random) {
        if dropout.is_none_or(|d| d.total > MAX_RANDOM_DROPOUT) {
            return invalid(format!(
                "a random sort needs dropout_for_total of at most {MAX_RANDOM_DROPOUT}"
            ));
        }
        if input
            .iter()
            .any(|s| s.after.as_ref().is_some_and(|a| !a.is_null()))
        {
            return invalid("a random sort cannot be paginated: remove `after`");
        }
        return Ok((Vec::new(), true));
    }
    let mut sort: Vec<SortItem> = Vec::with_capacity(input.len() + 1);
    let mut seen_null_after = false;
    for (i, item) in input.into_iter().enumerate() {
        if sort.iter().any(|s| s.key == item.key) {
            return invalid(format!("sort[{i}]: key used twice"));
        }
        if sort.last().is_some_and(|s| s.key == SortKey::Uid) {
            return invalid(format!("sort[{i}]: uid must be the last sort key"));
        }
        let after = match (item.key, item.after) {
            (_, None | Some(Value::Null)) => {
                seen_null_after = true;
                None
            }
            (SortKey::PromptTime, Some(v)) => Some(Scalar::Real(
                v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    SearchError::Invalid(format!("sort[{i}].after must be a number"))
                })?,
            )),
            (_, Some(Value::String(s))) => Some(Scalar::Text(s)),
            (_, Some(_)) => return invalid(format!("sort[{i}].after must be a string")),
        };
        if after.is_some() && seen_null_after {
            return invalid(format!(
                "sort[{i}].after is set but an earlier key's is not"
            ));
        }
        if after.is_some() && dropout.is_some() {
            return invalid("dropout_for_total cannot be paginated: remove `after`");
        }
        sort.push(SortItem {
            key: item.key,
            dir: item.dir,
            after,
        });
    }
    if sort.last().is_none_or(|s| s.key != SortKey::Uid) {
        if sort.iter().any(|s| s.after.is_some()) {
            return invalid("continuing a listing needs the uid `after` too: copy next_page_sort");
        }
        sort.push(SortItem {
            key: SortKey::Uid,
            dir: SortDir::Asc,
            after: None,
        });
    }
    Ok((sort, false))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> Result<SearchQuery, SearchError> {
        SearchQuery::parse(serde_json::from_value(v).unwrap(), "ip_a")
    }

    #[test]
    fn defaults_sort_by_prompt_time_then_uid() {
        let q = parse(json!({})).unwrap();
        assert_eq!(q.limit, 100);
        assert_eq!(
            q.sort.iter().map(|s| s.key).collect::<Vec<_>>(),
            vec![SortKey::PromptTime, SortKey::Uid]
        );
        let next = q.next_page_sort(1.5, "ipe_x").unwrap();
        assert_eq!(
            next[0],
            json!({"key": "prompt_time", "dir": "asc", "after": 1.5})
        );
        assert!(parse(next_page(next)).is_ok());
    }

    fn next_page(sort: Value) -> Value {
        json!({"sort": sort})
    }

    #[test]
    fn random_sorts_need_small_dropout_and_no_after() {
        let base = |m: i64| json!({"filters": {"dropout_for_total": {"operator": "eq", "value": m}, "prompt_time": {"operator": "bte", "value": [0, 1]}}, "sort": [{"key": "random", "dir": "asc"}]});
        assert!(parse(base(100)).unwrap().random);
        assert!(parse(base(101)).is_err());
        assert!(parse(json!({"sort": [{"key": "random", "dir": "asc"}]})).is_err());
    }

    #[test]
    fn bad_limits_and_afters_are_refused() {
        assert!(parse(json!({"limit": 0})).is_err());
        assert!(parse(json!({"limit": 5001})).is_err());
        assert!(parse(json!({"sort": [{"key": "prompt_time", "dir": "asc", "after": "x"}, {"key": "uid", "dir": "asc", "after": "a"}]})).is_err());
        assert!(parse(json!({"sort": [{"key": "prompt_time", "dir": "asc", "after": null}, {"key": "uid", "dir": "asc", "after": "a"}]})).is_err());
        assert!(parse(json!({"sort": [{"key": "uid", "dir": "asc"}, {"key": "prompt_time", "dir": "asc"}]})).is_err());
    }
}
