//! Sort keys and keyset pagination: where a listing continues (`after`)
//! and the `next_page_sort` that continues it.

use serde_json::{Value, json};

use super::request::{SortDir, SortItemInput, SortKey};

/// Largest `dropout_for_total` that may be combined with a random sort.
pub const MAX_RANDOM_DROPOUT: i64 = 100;

/// A value a row is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A text column.
    Text(String),
    /// A real column.
    Real(f64),
}

/// One sort key with its pagination boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct SortItem {
    /// The key (never `Random`; see `SearchQuery::random`).
    pub key: SortKey,
    /// The direction.
    pub dir: SortDir,
    /// The boundary value, if continuing a listing.
    pub after: Option<Scalar>,
}

/// The `next_page_sort` of a listing sorted by `sort` that continues
/// after the event at `last_prompt_time` with uid `last_uid`.
pub fn next_page(sort: &[SortItem], last_prompt_time: f64, last_uid: &str) -> Value {
    Value::Array(
        sort.iter()
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
    )
}

/// Validates the sort of a request: the items (default `[prompt_time asc,
/// uid asc]`, always ending with `uid`) and whether the order is random.
/// `dropout_total` is the request's `dropout_for_total`, if any. Errors say
/// what is wrong.
pub(super) fn parse_sort(
    input: Option<Vec<SortItemInput>>,
    dropout_total: Option<i64>,
) -> Result<(Vec<SortItem>, bool), String> {
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
        if dropout_total.is_none_or(|m| m > MAX_RANDOM_DROPOUT) {
            return Err(format!(
                "a random sort needs dropout_for_total of at most {MAX_RANDOM_DROPOUT}"
            ));
        }
        if input
            .iter()
            .any(|s| s.after.as_ref().is_some_and(|a| !a.is_null()))
        {
            return Err("a random sort cannot be paginated: remove `after`".into());
        }
        return Ok((Vec::new(), true));
    }
    let mut sort: Vec<SortItem> = Vec::with_capacity(input.len() + 1);
    let mut seen_null_after = false;
    for (i, item) in input.into_iter().enumerate() {
        if sort.iter().any(|s| s.key == item.key) {
            return Err(format!("sort[{i}]: key used twice"));
        }
        if sort.last().is_some_and(|s| s.key == SortKey::Uid) {
            return Err(format!("sort[{i}]: uid must be the last sort key"));
        }
        let after = after_of(i, item.key, item.after)?;
        seen_null_after |= after.is_none();
        if after.is_some() && seen_null_after {
            return Err(format!(
                "sort[{i}].after is set but an earlier key's is not"
            ));
        }
        if after.is_some() && dropout_total.is_some() {
            return Err("dropout_for_total cannot be paginated: remove `after`".into());
        }
        sort.push(SortItem {
            key: item.key,
            dir: item.dir,
            after,
        });
    }
    if sort.last().is_none_or(|s| s.key != SortKey::Uid) {
        if sort.iter().any(|s| s.after.is_some()) {
            return Err(
                "continuing a listing needs the uid `after` too: copy next_page_sort".into(),
            );
        }
        sort.push(SortItem {
            key: SortKey::Uid,
            dir: SortDir::Asc,
            after: None,
        });
    }
    Ok((sort, false))
}

/// The `after` of sort item `i` (`null` or missing: none), a number for
/// `prompt_time` and a string for `uid`.
fn after_of(i: usize, key: SortKey, after: Option<Value>) -> Result<Option<Scalar>, String> {
    Ok(match (key, after) {
        (_, None | Some(Value::Null)) => None,
        (SortKey::PromptTime, Some(v)) => Some(Scalar::Real(
            v.as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("sort[{i}].after must be a number"))?,
        )),
        (_, Some(Value::String(s))) => Some(Scalar::Text(s)),
        (_, Some(_)) => return Err(format!("sort[{i}].after must be a string")),
    })
}
