//! Read queries on a PostgreSQL connection or transaction.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::domain::aggregates::Category;
use crate::domain::aggregates::PromptAggregates;
use crate::domain::bins::Bins;
use crate::domain::event::EventKind;
use crate::domain::event::StoredEvent;
use crate::domain::prompt::PromptRecord;
use crate::domain::stats::FenwickArrays;
use crate::domain::user::Shown;
use crate::storage::StorageError;
use crate::storage::listing::{self, ListQuery, ListedPrompt, PromptPage};
use crate::storage::rows::{PROMPT_COLUMNS, decode_kind, decode_prompt};
use crate::storage::search_sql::SqlParam;

/// PostgreSQL text cannot hold NUL: such characters become U+FFFD, so a
/// lookup by a uid containing one finds nothing instead of failing.
pub fn text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}").into()
    } else {
        s.into()
    }
}

/// A prompt from a row of [`PROMPT_COLUMNS`].
pub fn prompt_from_row(row: &tokio_postgres::Row) -> Result<PromptRecord, StorageError> {
    decode_prompt(
        row.get(0),
        row.get(1),
        row.get::<_, &str>(2),
        row.get(3),
        row.get(4),
        row.get(5),
    )
}

/// The prompts whose uids are in `$1` (a text array), deleted or not.
pub fn prompts_by_uids_sql() -> String {
    format!("SELECT {PROMPT_COLUMNS} FROM interactive_prompts WHERE uid = ANY($1)")
}

/// A prompt by uid, deleted or not.
pub async fn prompt_by_uid(
    c: &impl GenericClient,
    uid: &str,
) -> Result<Option<PromptRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {PROMPT_COLUMNS} FROM interactive_prompts WHERE uid = $1"
        ))
        .await?;
    c.query_opt(&stmt, &[&text(uid)])
        .await?
        .as_ref()
        .map(prompt_from_row)
        .transpose()
}

/// The prompts that are not deleted, oldest first.
pub async fn live_prompts(c: &impl GenericClient) -> Result<Vec<PromptRecord>, StorageError> {
    let rows = c
        .query(
            &format!(
                "SELECT {PROMPT_COLUMNS} FROM interactive_prompts WHERE deleted_at IS NULL ORDER BY id"
            ),
            &[],
        )
        .await?;
    rows.iter().map(prompt_from_row).collect()
}

/// One page of the admin listing.
pub async fn prompt_page(
    c: &impl GenericClient,
    query: &ListQuery,
) -> Result<PromptPage, StorageError> {
    let stmt = c.prepare_cached(&listing::sql(query.deleted)).await?;
    let rows = c.query(&stmt, &[&query.before(), &query.rows()]).await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(ListedPrompt {
                prompt: prompt_from_row(row)?,
                sessions: row.get(6),
                events: row.get(7),
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(query.page(items))
}

/// Every prompt, oldest first.
pub async fn all_prompts(c: &impl GenericClient) -> Result<Vec<PromptRecord>, StorageError> {
    let rows = c
        .query(
            &format!("SELECT {PROMPT_COLUMNS} FROM interactive_prompts ORDER BY id"),
            &[],
        )
        .await?;
    rows.iter().map(prompt_from_row).collect()
}

/// The parameters, as PostgreSQL's driver takes them.
fn boxed(params: Vec<SqlParam>) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .into_iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                SqlParam::Int(i) => Box::new(i),
                SqlParam::Real(r) => Box::new(r),
                SqlParam::Text(t) => Box::new(text(&t).into_owned()),
            }
        })
        .collect()
}

/// The plan PostgreSQL chooses for `sql` with `params`: the lines of its
/// `EXPLAIN`.
pub async fn explain(
    c: &impl GenericClient,
    sql: &str,
    params: Vec<SqlParam>,
) -> Result<Vec<String>, StorageError> {
    let boxed = boxed(params);
    let refs: Vec<&(dyn ToSql + Sync)> =
        boxed.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
    let rows = c.query(&format!("EXPLAIN {sql}"), &refs).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Runs a rendered search query.
pub async fn query_events(
    c: &impl GenericClient,
    sql: &str,
    params: Vec<SqlParam>,
    prompt_uid: &str,
) -> Result<Vec<StoredEvent>, StorageError> {
    let rows = query_rows(c, sql, params).await?;
    rows.iter().map(|r| event_from_row(r, prompt_uid)).collect()
}

/// The rows of a rendered query selecting
/// [`crate::storage::search_sql::EVENT_COLUMNS`], undecoded.
pub async fn query_rows(
    c: &impl GenericClient,
    sql: &str,
    params: Vec<SqlParam>,
) -> Result<Vec<Row>, StorageError> {
    let boxed = boxed(params);
    let refs: Vec<&(dyn ToSql + Sync)> =
        boxed.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, &refs).await?)
}

/// Decodes a row selected with [`crate::storage::search_sql::EVENT_COLUMNS`].
pub fn event_from_row(r: &Row, prompt_uid: &str) -> Result<StoredEvent, StorageError> {
    let kind = decode_kind(r.get::<_, &str>(3), r.get::<_, &str>(4))?;
    Ok(StoredEvent::new(
        r.get(0),
        r.get(1),
        r.get(2),
        prompt_uid.to_owned(),
        kind,
        Shown {
            name: r.get(7),
            picture: r.get(8),
        },
        r.get(5),
        r.get(6),
    ))
}

/// The count row of one bucket (0 when missing).
pub async fn bucket_count(
    c: &impl GenericClient,
    prompt_id: i64,
    bucket: i64,
) -> Result<i64, StorageError> {
    let select = c
        .prepare_cached("SELECT total FROM interactive_prompt_event_counts WHERE interactive_prompt_id = $1 AND bucket = $2")
        .await?;
    let row = c.query_opt(&select, &[&prompt_id, &bucket]).await?;
    Ok(row.map(|r| r.get(0)).unwrap_or(0))
}

fn category_of(r: &tokio_postgres::Row) -> Result<Category, StorageError> {
    let (name, value): (&str, Option<i64>) = (r.get(0), r.get(1));
    Category::from_columns(name, value)
        .ok_or_else(|| StorageError::Corrupt(format!("fenwick category {name:?} {value:?}")))
}

/// A prompt's stored aggregate rows (zero rows omitted).
pub async fn stored_aggregates(
    c: &impl GenericClient,
    prompt_id: i64,
) -> Result<PromptAggregates, StorageError> {
    let mut out = PromptAggregates::default();
    let rows = c
        .query(
            "SELECT category, category_value, val, idx FROM interactive_prompt_event_fenwick_trees
             WHERE interactive_prompt_id = $1 AND val <> 0",
            &[&prompt_id],
        )
        .await?;
    for r in &rows {
        out.fenwick
            .insert((category_of(r)?, r.get::<_, i64>(3) as u32), r.get(2));
    }
    let rows = c
        .query("SELECT bucket, total FROM interactive_prompt_event_counts WHERE interactive_prompt_id = $1 AND total <> 0", &[&prompt_id])
        .await?;
    for r in &rows {
        out.counts.insert(r.get(0), r.get(1));
    }
    Ok(out)
}

/// A prompt's Fenwick trees as arrays, from all of its (non-zero) rows:
/// what stats and timelines are computed from.
pub async fn fenwick_arrays(
    c: &impl GenericClient,
    prompt: &PromptRecord,
) -> Result<FenwickArrays, StorageError> {
    let select = c
        .prepare_cached(
            "SELECT category, category_value, val, idx FROM interactive_prompt_event_fenwick_trees
             WHERE interactive_prompt_id = $1 AND val <> 0",
        )
        .await?;
    let rows = c.query(&select, &[&prompt.id]).await?;
    let mut arrays = FenwickArrays::from_rows(
        &PromptAggregates::default(),
        Bins::new(prompt.duration_seconds),
    );
    for r in &rows {
        arrays.add(category_of(r)?, r.get::<_, i64>(3) as u32, r.get(2));
    }
    Ok(arrays)
}

/// Every event of a prompt as `(session id, kind, prompt time)`, grouped by
/// session in acceptance order.
pub async fn events_for_check(
    c: &impl GenericClient,
    prompt_id: i64,
) -> Result<Vec<(i64, EventKind, f64)>, StorageError> {
    let rows = c
        .query(crate::storage::search_sql::CHECK_EVENTS, &[&prompt_id])
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.get(0),
                decode_kind(r.get::<_, &str>(1), r.get::<_, &str>(2))?,
                r.get(3),
            ))
        })
        .collect()
}

/// The prompts of a batch by uid, each read once (None: no such prompt;
/// deleted ones included).
pub async fn prompts_of<'a>(
    c: &impl GenericClient,
    uids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<&'a str, Option<PromptRecord>>, StorageError> {
    let mut prompts = HashMap::new();
    for uid in uids {
        if !prompts.contains_key(uid) {
            prompts.insert(uid, prompt_by_uid(c, uid).await?);
        }
    }
    Ok(prompts)
}
