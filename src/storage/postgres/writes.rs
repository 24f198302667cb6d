//! Writes on a PostgreSQL transaction: prompts, and aggregate rows.
//! Sessions and events are written in batches ([`super::sessions`],
//! [`super::events`]).

use deadpool_postgres::GenericClient;

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
/// order and never deadlock one another).
pub async fn flush(c: &impl GenericClient, agg: &PendingAggregates) -> Result<(), StorageError> {
    let (mut valued, mut null) = (FenwickColumns::default(), FenwickColumns::default());
    for (prompt_id, category, idx, delta) in agg.fenwick_rows() {
        let columns = if category.value().is_some() {
            &mut valued
        } else {
            &mut null
        };
        columns.prompt_id.push(prompt_id);
        columns.category.push(category.name());
        columns.value.extend(category.value());
        columns.idx.push(i64::from(idx));
        columns.delta.push(delta);
    }
    if !valued.prompt_id.is_empty() {
        let FenwickColumns {
            prompt_id,
            category,
            value,
            idx,
            delta,
        } = &valued;
        let upsert = c.prepare_cached(UPSERT_FENWICK_VALUED_ROWS).await?;
        c.execute(&upsert, &[prompt_id, category, value, idx, delta])
            .await?;
    }
    if !null.prompt_id.is_empty() {
        let FenwickColumns {
            prompt_id,
            category,
            idx,
            delta,
            ..
        } = &null;
        let upsert = c.prepare_cached(UPSERT_FENWICK_NULL_ROWS).await?;
        c.execute(&upsert, &[prompt_id, category, idx, delta])
            .await?;
    }
    let counts = agg.count_rows();
    if !counts.is_empty() {
        let columns: (Vec<i64>, Vec<i64>, Vec<i64>) = (
            counts.iter().map(|r| r.0).collect(),
            counts.iter().map(|r| r.1).collect(),
            counts.iter().map(|r| r.2).collect(),
        );
        let upsert = c.prepare_cached(UPSERT_COUNT_ROWS).await?;
        c.execute(&upsert, &[&columns.0, &columns.1, &columns.2])
            .await?;
    }
    let totals = agg.total_rows();
    if !totals.is_empty() {
        let columns: (Vec<i64>, Vec<i64>, Vec<i64>) = (
            totals.iter().map(|r| r.0).collect(),
            totals.iter().map(|r| r.1).collect(),
            totals.iter().map(|r| r.2).collect(),
        );
        let upsert = c.prepare_cached(UPSERT_TOTAL_ROWS).await?;
        c.execute(&upsert, &[&columns.0, &columns.1, &columns.2])
            .await?;
    }
    super::presence::flush(c, agg).await
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
