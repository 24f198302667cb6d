//! Writes on a PostgreSQL transaction: prompts, and aggregate rows.
//! Sessions and events are written in batches ([`super::sessions`],
//! [`super::events`]).

use deadpool_postgres::GenericClient;
use tokio_postgres::Statement;

use super::params::Params;
use super::reads;
use crate::domain::aggregates::PromptAggregates;
use crate::domain::clock::now;
use crate::domain::prompt::{Prompt, PromptRecord};
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;

/// Inserts a prompt.
pub async fn create_prompt(
    c: &impl GenericClient,
    prompt: Prompt,
    duration_seconds: i64,
) -> Result<PromptRecord, StorageError> {
    let record = PromptRecord::unsaved(prompt, duration_seconds, now());
    let json = serde_json::to_string(&record.prompt).expect("prompts serialize");
    let row = c
        .query_one(
            "INSERT INTO interactive_prompts(uid, prompt, duration_seconds, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&record.uid, &json, &duration_seconds, &record.created_at],
        )
        .await?;
    Ok(PromptRecord {
        id: row.get(0),
        ..record
    })
}

/// Soft-deletes a prompt (idempotent).
pub async fn delete_prompt(
    c: &impl GenericClient,
    uid: &str,
) -> Result<Option<PromptRecord>, StorageError> {
    c.execute(
        "UPDATE interactive_prompts SET deleted_at = $1 WHERE uid = $2 AND deleted_at IS NULL",
        &[&now(), &reads::text(uid)],
    )
    .await?;
    reads::prompt_by_uid(c, uid).await
}

/// Writes aggregate deltas: one `UNNEST` upsert per kind of row, each in a
/// stable row order (so concurrent transactions lock rows in the same
/// order and never deadlock one another), one after another.
pub async fn flush(c: &impl GenericClient, agg: &PendingAggregates) -> Result<(), StorageError> {
    let statements = UpsertStatements::prepare(c).await?;
    let columns = AggregateColumns::of(agg);
    for (statement, params) in columns.upserts(&statements) {
        c.execute_raw(statement, params).await?;
    }
    super::presence::flush(c, agg).await
}

/// The aggregate upserts, prepared (once per connection).
pub struct UpsertStatements {
    valued: Statement,
    null: Statement,
    counts: Statement,
    totals: Statement,
}

impl UpsertStatements {
    /// Prepares them on `c` (a cache lookup after the first time).
    pub async fn prepare(c: &impl GenericClient) -> Result<Self, StorageError> {
        Ok(UpsertStatements {
            valued: c.prepare_cached(UPSERT_FENWICK_VALUED_ROWS).await?,
            null: c.prepare_cached(UPSERT_FENWICK_NULL_ROWS).await?,
            counts: c.prepare_cached(UPSERT_COUNT_ROWS).await?,
            totals: c.prepare_cached(UPSERT_TOTAL_ROWS).await?,
        })
    }
}

/// Aggregate deltas as column arrays, one `UNNEST` upsert per kind of row.
#[derive(Default)]
pub struct AggregateColumns {
    valued: FenwickColumns,
    null: FenwickColumns,
    counts: [Vec<i64>; 3],
    totals: [Vec<i64>; 3],
}

impl AggregateColumns {
    /// The columns of `agg`'s rows, each kind in its stable row order.
    pub fn of(agg: &PendingAggregates) -> Self {
        let mut columns = AggregateColumns::default();
        for (prompt_id, category, idx, delta) in agg.fenwick_rows() {
            let fenwick = if category.value().is_some() {
                &mut columns.valued
            } else {
                &mut columns.null
            };
            fenwick.prompt_id.push(prompt_id);
            fenwick.category.push(category.name());
            fenwick.value.extend(category.value());
            fenwick.idx.push(i64::from(idx));
            fenwick.delta.push(delta);
        }
        for (rows, into) in [
            (agg.count_rows(), &mut columns.counts),
            (agg.total_rows(), &mut columns.totals),
        ] {
            for (a, b, c) in rows {
                into[0].push(a);
                into[1].push(b);
                into[2].push(c);
            }
        }
        columns
    }

    /// Each upsert that has rows, with its parameters, in the order every
    /// transaction locks aggregate rows: valued Fenwick rows, null ones,
    /// count rows, totals.
    pub fn upserts<'a>(&'a self, s: &'a UpsertStatements) -> Vec<(&'a Statement, Params<'a>)> {
        let mut out: Vec<(&Statement, Params<'a>)> = Vec::with_capacity(4);
        let f = &self.valued;
        if !f.prompt_id.is_empty() {
            out.push((
                &s.valued,
                vec![&f.prompt_id, &f.category, &f.value, &f.idx, &f.delta],
            ));
        }
        let f = &self.null;
        if !f.prompt_id.is_empty() {
            out.push((&s.null, vec![&f.prompt_id, &f.category, &f.idx, &f.delta]));
        }
        for (columns, statement) in [(&self.counts, &s.counts), (&self.totals, &s.totals)] {
            if !columns[0].is_empty() {
                out.push((statement, vec![&columns[0], &columns[1], &columns[2]]));
            }
        }
        out
    }
}

/// Adds to prompts' totals (column arrays: prompt id, sessions, events).
const UPSERT_TOTAL_ROWS: &str = "INSERT INTO interactive_prompt_totals
    (interactive_prompt_id, sessions, events)
    SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[])
    ON CONFLICT (interactive_prompt_id) DO UPDATE SET
    sessions = interactive_prompt_totals.sessions + excluded.sessions,
    events = interactive_prompt_totals.events + excluded.events";

/// Fenwick rows as column arrays, for one `UNNEST` upsert.
#[derive(Default)]
struct FenwickColumns {
    prompt_id: Vec<i64>,
    category: Vec<&'static str>,
    /// Empty for the rows whose `category_value` is null.
    value: Vec<i64>,
    idx: Vec<i64>,
    delta: Vec<i64>,
}

/// [`UPSERT_FENWICK_VALUED`](crate::storage::schema::UPSERT_FENWICK_VALUED)
/// for many rows at once (column arrays, in order).
const UPSERT_FENWICK_VALUED_ROWS: &str = "INSERT INTO interactive_prompt_event_fenwick_trees
    (interactive_prompt_id, category, category_value, idx, val)
    SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::int8[])
    ON CONFLICT (interactive_prompt_id, category, category_value, idx)
    DO UPDATE SET val = interactive_prompt_event_fenwick_trees.val + excluded.val";

/// The same for rows whose `category_value` is null.
const UPSERT_FENWICK_NULL_ROWS: &str = "INSERT INTO interactive_prompt_event_fenwick_trees
    (interactive_prompt_id, category, category_value, idx, val)
    SELECT p, c, NULL, i, v FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int8[]) AS t(p, c, i, v)
    ON CONFLICT (interactive_prompt_id, category, idx) WHERE category_value IS NULL
    DO UPDATE SET val = interactive_prompt_event_fenwick_trees.val + excluded.val";

/// The same for one-second count rows.
const UPSERT_COUNT_ROWS: &str = "INSERT INTO interactive_prompt_event_counts
    (interactive_prompt_id, bucket, total)
    SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[])
    ON CONFLICT (interactive_prompt_id, bucket)
    DO UPDATE SET total = interactive_prompt_event_counts.total + excluded.total";

/// Replaces a prompt's aggregate rows with `expected`.
pub async fn replace_aggregates(
    c: &impl GenericClient,
    prompt_id: i64,
    expected: &PromptAggregates,
) -> Result<(), StorageError> {
    c.execute(
        "DELETE FROM interactive_prompt_event_fenwick_trees WHERE interactive_prompt_id = $1",
        &[&prompt_id],
    )
    .await?;
    c.execute(
        "DELETE FROM interactive_prompt_event_counts WHERE interactive_prompt_id = $1",
        &[&prompt_id],
    )
    .await?;
    let pending = PendingAggregates::from_rows(prompt_id, expected);
    flush(c, &pending).await
}
