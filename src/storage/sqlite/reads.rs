//! Read queries on any SQLite connection: prompts, aggregates, searches.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::domain::aggregates::Category;
use crate::domain::aggregates::PromptAggregates;
use crate::domain::bins::Bins;
use crate::domain::event::EventKind;
use crate::domain::event::StoredEvent;
use crate::domain::fenwick;
use crate::domain::prompt::PromptRecord;
use crate::domain::stats::FenwickArrays;
use crate::domain::stats::{Stats, Timeline};
use crate::domain::user::Shown;
use crate::storage::StorageError;
use crate::storage::listing::{self, ListQuery, ListedPrompt, PromptPage};
use crate::storage::rows::{PROMPT_COLUMNS, decode_prompt};
use crate::storage::search_sql::SqlParam;

fn prompt_from_row(row: &Row) -> rusqlite::Result<Result<PromptRecord, StorageError>> {
    let prompt: String = row.get(2)?;
    Ok(decode_prompt(
        row.get(0)?,
        row.get(1)?,
        &prompt,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

/// A prompt by uid, deleted or not.
pub fn prompt_by_uid(conn: &Connection, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PROMPT_COLUMNS} FROM interactive_prompts WHERE uid = $1"
    ))?;
    stmt.query_row(params![uid], prompt_from_row)
        .optional()?
        .transpose()
}

/// Every prompt, oldest first.
pub fn all_prompts(conn: &Connection) -> Result<Vec<PromptRecord>, StorageError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PROMPT_COLUMNS} FROM interactive_prompts ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([], prompt_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().collect()
}

/// Every prompt that is not deleted, oldest first.
pub fn live_prompts(conn: &Connection) -> Result<Vec<PromptRecord>, StorageError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PROMPT_COLUMNS} FROM interactive_prompts WHERE deleted_at IS NULL ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([], prompt_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().collect()
}

/// One page of the admin listing.
pub fn prompt_page(conn: &Connection, query: &ListQuery) -> Result<PromptPage, StorageError> {
    let mut stmt = conn.prepare_cached(&listing::sql(query.deleted))?;
    let mut rows = stmt.query(params![query.before(), query.rows()])?;
    let mut items = Vec::with_capacity(query.limit);
    while let Some(row) = rows.next()? {
        items.push(ListedPrompt {
            prompt: prompt_from_row(row)??,
            sessions: row.get(6)?,
            events: row.get(7)?,
        });
    }
    Ok(query.page(items))
}

pub use crate::storage::rows::decode_kind;

/// Decodes a row selected with [`crate::storage::search_sql::EVENT_COLUMNS`].
pub fn event_from_row(row: &Row, prompt_uid: &str) -> Result<StoredEvent, StorageError> {
    let evtype: String = row.get(3)?;
    let data: String = row.get(4)?;
    let kind = decode_kind(&evtype, &data)?;
    let name: Option<String> = row.get(7)?;
    let picture: Option<String> = row.get(8)?;
    Ok(StoredEvent::new(
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        prompt_uid.to_owned(),
        kind,
        Shown {
            name: name.as_deref(),
            picture: picture.as_deref(),
        },
        row.get(5)?,
        row.get(6)?,
    ))
}

/// The parameters, as SQLite takes them.
pub fn values(params: Vec<SqlParam>) -> impl Iterator<Item = rusqlite::types::Value> {
    params.into_iter().map(|p| match p {
        SqlParam::Int(i) => rusqlite::types::Value::Integer(i),
        SqlParam::Real(r) => rusqlite::types::Value::Real(r),
        SqlParam::Text(t) => rusqlite::types::Value::Text(t),
    })
}

/// The plan SQLite chooses for `sql` with `params`: the lines of its
/// `EXPLAIN QUERY PLAN`, each indented under its parent step.
pub fn explain(
    conn: &Connection,
    sql: &str,
    params: Vec<SqlParam>,
) -> Result<Vec<String>, StorageError> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let mut rows = stmt.query(params_from_iter(values(params)))?;
    let (mut depth, mut out) = (HashMap::new(), Vec::new());
    while let Some(row) = rows.next()? {
        let (id, parent, detail): (i64, i64, String) = (row.get(0)?, row.get(1)?, row.get(3)?);
        let d = depth.get(&parent).map_or(0, |d| d + 1);
        depth.insert(id, d);
        out.push(format!("{}{detail}", "  ".repeat(d)));
    }
    Ok(out)
}

/// Runs a rendered search query.
pub fn query_events(
    conn: &Connection,
    sql: &str,
    params: Vec<SqlParam>,
    prompt_uid: &str,
) -> Result<Vec<StoredEvent>, StorageError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(values(params)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(event_from_row(row, prompt_uid)?);
    }
    Ok(out)
}

/// The count row of one bucket (0 when missing).
pub fn bucket_count(conn: &Connection, prompt_id: i64, bucket: i64) -> Result<i64, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT total FROM interactive_prompt_event_counts WHERE interactive_prompt_id = $1 AND bucket = $2",
    )?;
    Ok(stmt
        .query_row(params![prompt_id, bucket], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Stats through `bin`, reading only the O(log bins) Fenwick rows of each figure.
pub fn stats(conn: &Connection, prompt: &PromptRecord, bin: u32) -> Result<Stats, StorageError> {
    let bins = Bins::new(prompt.duration_seconds);
    let positions: Vec<String> = fenwick::prefix_positions(bin)
        .map(|p| p.to_string())
        .collect();
    let positions = positions.join(",");
    let categories = Category::all_for(&prompt.prompt);
    let mut sums: HashMap<Category, i64> = HashMap::with_capacity(categories.len());
    let null_names: Vec<&str> = categories
        .iter()
        .filter(|c| c.value().is_none())
        .map(|c| c.name())
        .collect();
    let sql = format!(
        "SELECT category, NULL, val FROM interactive_prompt_event_fenwick_trees
         WHERE interactive_prompt_id = $1 AND category IN ('{}') AND category_value IS NULL AND idx IN ({positions})",
        null_names.join("','")
    );
    collect_sums(conn, &sql, prompt.id, &mut sums)?;
    let valued: Vec<i64> = categories.iter().filter_map(|c| c.value()).collect();
    if let Some(name) = categories
        .iter()
        .find(|c| c.value().is_some())
        .map(|c| c.name())
    {
        let values: Vec<String> = valued.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT category, category_value, val FROM interactive_prompt_event_fenwick_trees
             WHERE interactive_prompt_id = $1 AND category = '{name}' AND category_value IN ({}) AND idx IN ({positions})",
            values.join(",")
        );
        collect_sums(conn, &sql, prompt.id, &mut sums)?;
    }
    Ok(Stats::assemble(&prompt.prompt, bins, bin, |c| {
        sums.get(&c).copied().unwrap_or(0)
    }))
}

fn collect_sums(
    conn: &Connection,
    sql: &str,
    prompt_id: i64,
    sums: &mut HashMap<Category, i64>,
) -> Result<(), StorageError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![prompt_id])?;
    while let Some(row) = rows.next()? {
        let name: String = row.get(0)?;
        let value: Option<i64> = row.get(1)?;
        let category = Category::from_columns(&name, value)
            .ok_or_else(|| StorageError::Corrupt(format!("fenwick category {name:?} {value:?}")))?;
        *sums.entry(category).or_default() += row.get::<_, i64>(2)?;
    }
    Ok(())
}

/// A prompt's stored aggregate rows (zero rows omitted).
pub fn stored_aggregates(
    conn: &Connection,
    prompt_id: i64,
) -> Result<PromptAggregates, StorageError> {
    let mut out = PromptAggregates::default();
    let mut stmt = conn.prepare_cached(
        "SELECT category, category_value, idx, val FROM interactive_prompt_event_fenwick_trees WHERE interactive_prompt_id = $1",
    )?;
    let mut rows = stmt.query(params![prompt_id])?;
    while let Some(row) = rows.next()? {
        let (name, value): (String, Option<i64>) = (row.get(0)?, row.get(1)?);
        let category = Category::from_columns(&name, value)
            .ok_or_else(|| StorageError::Corrupt(format!("fenwick category {name:?} {value:?}")))?;
        let val: i64 = row.get(3)?;
        if val != 0 {
            out.fenwick.insert((category, row.get(2)?), val);
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT bucket, total FROM interactive_prompt_event_counts WHERE interactive_prompt_id = $1",
    )?;
    let mut rows = stmt.query(params![prompt_id])?;
    while let Some(row) = rows.next()? {
        let total: i64 = row.get(1)?;
        if total != 0 {
            out.counts.insert(row.get(0)?, total);
        }
    }
    Ok(out)
}

/// Every bin's stats, from all of the prompt's Fenwick rows.
pub fn timeline(conn: &Connection, prompt: &PromptRecord) -> Result<Timeline, StorageError> {
    let stored = stored_aggregates(conn, prompt.id)?;
    Ok(
        FenwickArrays::from_rows(&stored, Bins::new(prompt.duration_seconds))
            .timeline(&prompt.prompt),
    )
}

/// Every event of a prompt with its session id, in the order sessions
/// accepted them: `(session id, kind, prompt time)`.
pub fn events_for_check(
    conn: &Connection,
    prompt_id: i64,
) -> Result<Vec<(i64, EventKind, f64)>, StorageError> {
    let mut stmt = conn.prepare_cached(crate::storage::search_sql::CHECK_EVENTS)?;
    let mut rows = stmt.query(params![prompt_id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let evtype: String = row.get(1)?;
        let data: String = row.get(2)?;
        out.push((row.get(0)?, decode_kind(&evtype, &data)?, row.get(3)?));
    }
    Ok(out)
}
