//! A validated search: the conditions rows must meet, sampling
//! (`dropout_for_total`), the sort and the page size.

use serde_json::Value;

use super::request::{NumberFilter, NumberOp, SearchRequest, TextOp};
use super::sort::{Scalar, SortItem, next_page, parse_sort};

/// Largest page.
pub const MAX_LIMIT: usize = 5000;
/// Page size when none is given.
pub const DEFAULT_LIMIT: usize = 100;

/// Columns a search can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `users.sub`
    UserSub,
    /// `interactive_prompt_sessions.uid`
    SessionUid,
    /// `interactive_prompt_events.evtype`
    Evtype,
    /// `interactive_prompt_events.prompt_time`
    PromptTime,
    /// `interactive_prompt_events.created_at`
    CreatedAt,
    /// `interactive_prompt_events.uid`
    Uid,
}

/// A comparison, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`
    Eq,
    /// `<>`
    Neq,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl Cmp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Neq => "<>",
            Cmp::Gt => ">",
            Cmp::Gte => ">=",
            Cmp::Lt => "<",
            Cmp::Lte => "<=",
        }
    }
}

/// Sampling by `dropout_for_total`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    /// Events to keep on average.
    pub total: i64,
    /// The one-second bucket `k` of the `[k, k+1)` prompt time filter.
    pub bucket: i64,
}

/// A validated search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Conditions on columns, all of which must hold.
    pub conditions: Vec<(Field, Cmp, Scalar)>,
    /// Sampling, if requested.
    pub dropout: Option<Dropout>,
    /// Sort keys, ending with `uid` (empty sort when `random`).
    pub sort: Vec<SortItem>,
    /// Random order instead of `sort`.
    pub random: bool,
    /// Page size.
    pub limit: usize,
}

/// Why a search was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    /// The request is not a valid search (422).
    #[error("{0}")]
    Invalid(String),
    /// It names another prompt than the token's (403).
    #[error("the prompt token does not grant access to that prompt")]
    OtherPrompt,
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, SearchError> {
    Err(SearchError::Invalid(msg.into()))
}

fn finite(field: &str, v: &Value) -> Result<f64, SearchError> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        _ => invalid(format!("filters.{field}.value must be a finite number")),
    }
}

fn number_conditions(
    field: Field,
    name: &str,
    f: &NumberFilter,
    out: &mut Vec<(Field, Cmp, Scalar)>,
) -> Result<(), SearchError> {
    let single = |cmp| -> Result<(Field, Cmp, Scalar), SearchError> {
        Ok((field, cmp, Scalar::Real(finite(name, &f.value)?)))
    };
    match f.operator {
        NumberOp::Eq => out.push(single(Cmp::Eq)?),
        NumberOp::Neq => out.push(single(Cmp::Neq)?),
        NumberOp::Gt => out.push(single(Cmp::Gt)?),
        NumberOp::Gte => out.push(single(Cmp::Gte)?),
        NumberOp::Lt => out.push(single(Cmp::Lt)?),
        NumberOp::Lte => out.push(single(Cmp::Lte)?),
        NumberOp::Bt | NumberOp::Bte => {
            let Some([lo, hi]) = f
                .value
                .as_array()
                .and_then(|a| <&[Value; 2]>::try_from(a.as_slice()).ok())
            else {
                return invalid(format!(
                    "filters.{name}.value must be a [lo, hi] pair for bt/bte"
                ));
            };
            let (lo, hi) = (finite(name, lo)?, finite(name, hi)?);
            out.push((field, Cmp::Gte, Scalar::Real(lo)));
            let end = if f.operator == NumberOp::Bt {
                Cmp::Lte
            } else {
                Cmp::Lt
            };
            out.push((field, end, Scalar::Real(hi)));
        }
    }
    Ok(())
}

impl SearchQuery {
    /// Validates a request made with a token for prompt `prompt_uid`.
    pub fn parse(req: SearchRequest, prompt_uid: &str) -> Result<Self, SearchError> {
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT as i64);
        if !(1..=MAX_LIMIT as i64).contains(&limit) {
            return invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            ));
        }
        let f = req.filters;
        if let Some(p) = &f.interactive_prompt_uid
            && (p.operator != TextOp::Eq || p.value != prompt_uid)
        {
            return Err(SearchError::OtherPrompt);
        }
        let mut conditions = Vec::new();
        for (field, filter) in [
            (Field::UserSub, &f.user_sub),
            (Field::SessionUid, &f.session_uid),
            (Field::Evtype, &f.evtype),
        ] {
            if let Some(t) = filter {
                let cmp = if t.operator == TextOp::Eq {
                    Cmp::Eq
                } else {
                    Cmp::Neq
                };
                conditions.push((field, cmp, Scalar::Text(t.value.clone())));
            }
        }
        if let Some(pt) = &f.prompt_time {
            number_conditions(Field::PromptTime, "prompt_time", pt, &mut conditions)?;
        }
        if let Some(ca) = &f.created_at {
            number_conditions(Field::CreatedAt, "created_at", ca, &mut conditions)?;
        }
        let dropout = match &f.dropout_for_total {
            None => None,
            Some(d) => {
                if d.operator != TextOp::Eq || d.value < 1 {
                    return invalid(
                        "filters.dropout_for_total must be {\"operator\": \"eq\", \"value\": m} with m ≥ 1",
                    );
                }
                Some(Dropout {
                    total: d.value,
                    bucket: dropout_bucket(f.prompt_time.as_ref())?,
                })
            }
        };
        let (sort, random) =
            parse_sort(req.sort, dropout.map(|d| d.total)).map_err(SearchError::Invalid)?;
        Ok(SearchQuery {
            conditions,
            dropout,
            sort,
            random,
            limit: limit as usize,
        })
    }

    /// The `next_page_sort` continuing after `last` (its prompt time and
    /// uid), or `None` when this listing cannot be paginated.
    pub fn next_page_sort(&self, last_prompt_time: f64, last_uid: &str) -> Option<Value> {
        if self.random || self.dropout.is_some() {
            return None;
        }
        Some(next_page(&self.sort, last_prompt_time, last_uid))
    }
}

fn dropout_bucket(prompt_time: Option<&NumberFilter>) -> Result<i64, SearchError> {
    const NEED: &str = "dropout_for_total requires a prompt_time filter {\"operator\": \"bte\", \"value\": [k, k + 1]} with integer k";
    let Some(f) = prompt_time.filter(|f| f.operator == NumberOp::Bte) else {
        return invalid(NEED);
    };
    let pair = f.value.as_array().filter(|a| a.len() == 2);
    let Some((lo, hi)) = pair.and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?))) else {
        return invalid(NEED);
    };
    if lo.fract() != 0.0 || hi != lo + 1.0 || !lo.is_finite() || lo.abs() > 1e12 {
        return invalid(NEED);
    }
    Ok(lo as i64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::search::request::SortKey;

    fn parse(v: Value) -> Result<SearchQuery, SearchError> {
        SearchQuery::parse(serde_json::from_value(v).unwrap(), "ip_a")
    }

    #[test]
    fn other_prompts_are_forbidden() {
        assert_eq!(
            parse(
                json!({"filters": {"interactive_prompt_uid": {"operator": "eq", "value": "ip_b"}}})
            ),
            Err(SearchError::OtherPrompt)
        );
        assert!(
            parse(
                json!({"filters": {"interactive_prompt_uid": {"operator": "eq", "value": "ip_a"}}})
            )
            .is_ok()
        );
    }

    #[test]
    fn dropout_needs_a_one_second_bte_window() {
        let ok = json!({"filters": {"dropout_for_total": {"operator": "eq", "value": 5}, "prompt_time": {"operator": "bte", "value": [3, 4]}}});
        assert_eq!(
            parse(ok).unwrap().dropout,
            Some(Dropout {
                total: 5,
                bucket: 3
            })
        );
        for pt in [
            json!({"operator": "bt", "value": [3, 4]}),
            json!({"operator": "bte", "value": [3, 5]}),
            json!({"operator": "bte", "value": [3.5, 4.5]}),
        ] {
            let bad = json!({"filters": {"dropout_for_total": {"operator": "eq", "value": 5}, "prompt_time": pt}});
            assert!(matches!(parse(bad), Err(SearchError::Invalid(_))));
        }
        assert!(
            parse(json!({"filters": {"dropout_for_total": {"operator": "eq", "value": 5}}}))
                .is_err()
        );
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
