//! Renders a [`SearchQuery`] to SQL with `$n` placeholders, which both
//! SQLite and PostgreSQL accept.

use crate::domain::search::{Cmp, Field, Scalar, SearchQuery, SortKey};

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    /// An integer.
    Int(i64),
    /// A real.
    Real(f64),
    /// A text.
    Text(String),
}

impl From<Scalar> for SqlParam {
    fn from(s: Scalar) -> Self {
        match s {
            Scalar::Text(t) => SqlParam::Text(t),
            Scalar::Real(r) => SqlParam::Real(r),
        }
    }
}

/// Columns selected for every event row, in this order: event uid, user
/// sub, session uid, evtype, data, prompt time, created at, display name,
/// picture.
pub const EVENT_COLUMNS: &str =
    "e.uid, u.sub, s.uid, e.evtype, e.data, e.prompt_time, e.created_at, u.given_name, u.picture";

/// The joins behind [`EVENT_COLUMNS`].
pub const EVENT_JOINS: &str = "FROM interactive_prompt_events e
    JOIN interactive_prompt_sessions s ON s.id = e.interactive_prompt_session_id
    JOIN users u ON u.id = s.user_id";

fn column(field: Field) -> &'static str {
    match field {
        Field::UserSub => "u.sub",
        Field::SessionUid => "s.uid",
        Field::Evtype => "e.evtype",
        Field::PromptTime => "e.prompt_time",
        Field::CreatedAt => "e.created_at",
        Field::Uid => "e.uid",
    }
}

fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::PromptTime => "e.prompt_time",
        _ => "e.uid",
    }
}

struct Builder {
    sql: String,
    params: Vec<SqlParam>,
}

impl Builder {
    fn bind(&mut self, p: SqlParam) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
}

/// SQL and parameters fetching the events of prompt `prompt_id` that match
/// `q`. Paginated queries fetch `limit + 1` rows so the caller can tell
/// whether there is a next page; sampled ones fetch the whole bucket.
pub fn render(prompt_id: i64, q: &SearchQuery) -> (String, Vec<SqlParam>) {
    let mut b = Builder {
        sql: format!("SELECT {EVENT_COLUMNS} {EVENT_JOINS} WHERE e.interactive_prompt_id = "),
        params: vec![],
    };
    let p = b.bind(SqlParam::Int(prompt_id));
    b.sql.push_str(&p);
    for (field, cmp, value) in &q.conditions {
        let p = b.bind(value.clone().into());
        b.sql
            .push_str(&format!(" AND {} {} {p}", column(*field), cmp.sql()));
    }
    // Keyset pagination: rows strictly after the `after` tuple in sort order.
    let bounded: Vec<_> = q.sort.iter().take_while(|s| s.after.is_some()).collect();
    if !bounded.is_empty() {
        // Parameters are bound in textual order: SQLite numbers `$n` names
        // by first appearance.
        let mut clause = String::new();
        for s in &bounded {
            let col = sort_column(s.key);
            let after = s.after.clone().expect("bounded");
            let p1 = b.bind(after.clone().into());
            let p2 = b.bind(after.into());
            let strict = if s.dir.ascending() { Cmp::Gt } else { Cmp::Lt };
            clause.push_str(&format!(
                "({col} {} {p1} OR ({col} = {p2} AND ",
                strict.sql()
            ));
        }
        clause.push_str(if bounded.last().is_some_and(|s| s.dir.inclusive()) {
            "1=1"
        } else {
            "1=0"
        });
        clause.push_str(&"))".repeat(bounded.len()));
        b.sql.push_str(&format!(" AND {clause}"));
    }
    if q.random {
        return (b.sql, b.params);
    }
    let order: Vec<String> = q
        .sort
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                sort_column(s.key),
                if s.dir.ascending() { "ASC" } else { "DESC" }
            )
        })
        .collect();
    b.sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    if q.dropout.is_some() {
        return (b.sql, b.params);
    }
    let p = b.bind(SqlParam::Int(q.limit as i64 + 1));
    b.sql.push_str(&format!(" LIMIT {p}"));
    (b.sql, b.params)
}

/// SQL and parameters fetching the events of prompt `prompt_id` in the
/// one-second bucket `[bucket, bucket + 1)`, in `(prompt_time, uid)` order.
pub fn bucket(prompt_id: i64, bucket: i64) -> (String, Vec<SqlParam>) {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} {EVENT_JOINS} WHERE e.interactive_prompt_id = $1
         AND e.prompt_time >= $2 AND e.prompt_time < $3 ORDER BY e.prompt_time, e.uid"
    );
    (
        sql,
        vec![
            SqlParam::Int(prompt_id),
            SqlParam::Real(bucket as f64),
            SqlParam::Real(bucket as f64 + 1.0),
        ],
    )
}

/// Where an export page starts: after the event at this `(prompt_time,
/// uid)`, the previous page's last.
pub type ExportCursor = (f64, String);

/// SQL and parameters fetching up to `limit` events of prompt `prompt_id`
/// in `(prompt_time, uid)` order, from the start or strictly `after` the
/// cursor: one page of an export (docs/api.md, "Data ownership"). The row
/// value comparison is one range of the per-prompt index on both engines,
/// so every page costs O(log n + limit) however deep into the prompt.
pub fn export_page(
    prompt_id: i64,
    after: Option<&ExportCursor>,
    limit: usize,
) -> (String, Vec<SqlParam>) {
    let (range, mut params) = match after {
        None => ("", vec![SqlParam::Int(prompt_id)]),
        Some((time, uid)) => (
            " AND (e.prompt_time, e.uid) > ($2, $3)",
            vec![
                SqlParam::Int(prompt_id),
                SqlParam::Real(*time),
                SqlParam::Text(uid.clone()),
            ],
        ),
    };
    params.push(SqlParam::Int(limit as i64));
    let sql = format!(
        "SELECT {EVENT_COLUMNS} {EVENT_JOINS} WHERE e.interactive_prompt_id = $1{range}
         ORDER BY e.prompt_time, e.uid LIMIT ${}",
        params.len()
    );
    (sql, params)
}

/// A prompt's events for `chorus check` and `rebuild` as `(session id,
/// evtype, data, prompt time)`, grouped by session in acceptance order.
pub const CHECK_EVENTS: &str = "SELECT e.interactive_prompt_session_id, e.evtype, e.data, e.prompt_time
    FROM interactive_prompt_events e
    WHERE e.interactive_prompt_id = $1 ORDER BY e.interactive_prompt_session_id, e.prompt_time, e.id";

/// A named query with its parameters.
pub type NamedQuery = (&'static str, String, Vec<SqlParam>);

/// Every range read of one prompt's events, as the server sends them, with
/// typical parameters: what `chorus explain` shows the plans of
/// (docs/operations.md, "Query plans").
pub fn range_reads(prompt_id: i64, prompt_uid: &str) -> Vec<NamedQuery> {
    let search = |body: serde_json::Value| {
        let request = serde_json::from_value(body).expect("a valid search request");
        let query = SearchQuery::parse(request, prompt_uid).expect("a valid search");
        render(prompt_id, &query)
    };
    let range = serde_json::json!({"operator": "bte", "value": [10.0, 11.0]});
    let first = search(serde_json::json!({"filters": {"prompt_time": range}, "limit": 100}));
    let next = search(
        serde_json::json!({"filters": {"prompt_time": range}, "limit": 100,
        "sort": [{"key": "prompt_time", "dir": "asc", "after": 10.5},
                 {"key": "uid", "dir": "asc", "after": "ipe_AAAAAAAAAAAAAAAAAAAAAA"}]}),
    );
    let (bucket_sql, bucket_params) = bucket(prompt_id, 10);
    let cursor = (10.5, "ipe_AAAAAAAAAAAAAAAAAAAAAA".to_owned());
    let (export_sql, export_params) = export_page(prompt_id, Some(&cursor), 2000);
    vec![
        ("search, prompt_time bte [10, 11]", first.0, first.1),
        ("search, its next page", next.0, next.1),
        ("replay bucket [10, 11)", bucket_sql, bucket_params),
        ("export, a page after the first", export_sql, export_params),
        (
            "check and rebuild, the whole prompt",
            CHECK_EVENTS.to_owned(),
            vec![SqlParam::Int(prompt_id)],
        ),
    ]
}

/// SQL and parameters fetching the newest `limit` events of prompt
/// `prompt_id` stored at or after `since` (unix seconds), newest first:
/// what a process whose pub/sub subscription had a gap recovers
/// (docs/scaling.md, "Recovery from storage").
pub fn committed_since(prompt_id: i64, since: f64, limit: i64) -> (String, Vec<SqlParam>) {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} {EVENT_JOINS} WHERE e.interactive_prompt_id = $1
         AND e.created_at >= $2 ORDER BY e.created_at DESC, e.uid DESC LIMIT $3"
    );
    (
        sql,
        vec![
            SqlParam::Int(prompt_id),
            SqlParam::Real(since),
            SqlParam::Int(limit),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::SearchQuery;
    use serde_json::json;

    #[test]
    fn keyset_pagination_compares_the_after_tuple() {
        let req = serde_json::from_value(json!({"sort": [
            {"key": "prompt_time", "dir": "asc", "after": 1.5},
            {"key": "uid", "dir": "asc", "after": "ipe_b"}
        ], "limit": 10}))
        .unwrap();
        let q = SearchQuery::parse(req, "ip_a").unwrap();
        let (sql, params) = render(7, &q);
        assert!(sql.contains("(e.prompt_time > $2 OR (e.prompt_time = $3 AND (e.uid > $4 OR (e.uid = $5 AND 1=0))))"), "{sql}");
        assert!(
            sql.ends_with("ORDER BY e.prompt_time ASC, e.uid ASC LIMIT $6"),
            "{sql}"
        );
        assert_eq!(params.last(), Some(&SqlParam::Int(11)));
    }
}
