//! Writing a group's merged aggregate deltas inside its open transaction
//! (the writer's last step before `COMMIT`), and replacing a prompt's
//! rows (`chorus rebuild`).
//!
//! A Fenwick row the writer has written before is known by its id
//! ([`FenwickRowIds`]): adding to it is an update by id, one seek into the
//! table, where an upsert first seeks its key in the unique index (two,
//! for a category without a value). The update also checks the row's key,
//! so an id that went stale (a rebuild deleted the row, SQLite reused the
//! id) changes nothing and the upsert runs instead. Ids are learnt from the
//! upserts that insert (`last_insert_rowid`; with `RETURNING id` an upsert
//! cost 3.5 times the instructions): rows stored before the writer started
//! are upserted each time, as before.

use rusqlite::{Connection, params};
use rustc_hash::FxHashMap;

use crate::domain::aggregates::{Category, PromptAggregates};
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;
use crate::storage::schema::{UPSERT_COUNT, UPSERT_FENWICK_NULL, UPSERT_FENWICK_VALUED};

/// Most Fenwick row ids remembered (then they are forgotten and learnt
/// again): 16 bytes of key and 8 of id each, ~24 MiB at most.
const MAX_ROW_IDS: usize = 1 << 20;

/// The ids of the Fenwick rows the writer has written, by key `(prompt id,
/// category, position)`. Valid only as long as the writer's other caches
/// (dropped with them); a stale id is harmless, see the module's doc.
#[derive(Debug, Default)]
pub struct FenwickRowIds(FxHashMap<(i64, Category, u32), i64>);

impl FenwickRowIds {
    /// Forgets every id.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// Adds `$1` to the row of id `$2` if its key is still `($3, $4, $5, $6)`.
const ADD_BY_ID: &str = "UPDATE interactive_prompt_event_fenwick_trees SET val = val + $1
    WHERE id = $2 AND interactive_prompt_id = $3 AND category = $4 AND category_value IS $5 AND idx = $6";

/// Replaces a prompt's aggregate rows with `expected`.
pub fn replace_aggregates(
    conn: &Connection,
    prompt_id: i64,
    expected: &PromptAggregates,
) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM interactive_prompt_event_fenwick_trees WHERE interactive_prompt_id = $1",
        params![prompt_id],
    )?;
    conn.execute(
        "DELETE FROM interactive_prompt_event_counts WHERE interactive_prompt_id = $1",
        params![prompt_id],
    )?;
    let pending = PendingAggregates::from_rows(prompt_id, expected);
    flush(conn, &pending, &mut FenwickRowIds::default())
}

/// Writes merged aggregate deltas (inside the open transaction), learning
/// the Fenwick rows' ids into `ids`.
pub fn flush(
    conn: &Connection,
    agg: &PendingAggregates,
    ids: &mut FenwickRowIds,
) -> Result<(), StorageError> {
    if agg.is_empty() {
        return Ok(());
    }
    if ids.0.len() >= MAX_ROW_IDS {
        ids.clear();
    }
    let mut by_id = conn.prepare_cached(ADD_BY_ID)?;
    let mut valued = conn.prepare_cached(UPSERT_FENWICK_VALUED)?;
    let mut null = conn.prepare_cached(UPSERT_FENWICK_NULL)?;
    for (prompt_id, category, idx, delta) in agg.fenwick_rows() {
        let (name, value) = (category.name(), category.value());
        let key = (prompt_id, category, idx);
        if let Some(&id) = ids.0.get(&key)
            && by_id.execute(params![delta, id, prompt_id, name, value, idx])? == 1
        {
            continue;
        }
        let before = conn.last_insert_rowid();
        match value {
            Some(v) => valued.execute(params![prompt_id, name, v, idx, delta])?,
            None => null.execute(params![prompt_id, name, idx, delta])?,
        };
        let inserted = conn.last_insert_rowid();
        if inserted != before {
            ids.0.insert(key, inserted);
        }
    }
    let mut counts = conn.prepare_cached(UPSERT_COUNT)?;
    for (prompt_id, bucket, delta) in agg.count_rows() {
        counts.execute(params![prompt_id, bucket, delta])?;
    }
    let mut totals = conn.prepare_cached(crate::storage::migration5::UPSERT_TOTALS)?;
    for (prompt_id, sessions, events) in agg.total_rows() {
        totals.execute(params![prompt_id, sessions, events])?;
    }
    flush_presence(conn, agg)
}

/// Writes the presence rows of the sessions that joined or left.
fn flush_presence(conn: &Connection, agg: &PendingAggregates) -> Result<(), StorageError> {
    use crate::storage::migration4::{CLEAR_PRESENCE, INSERT_PRESENCE, random_rank};
    if agg.presence.is_empty() {
        return Ok(());
    }
    let mut clear = conn.prepare_cached(CLEAR_PRESENCE)?;
    let mut insert = conn.prepare_cached(INSERT_PRESENCE)?;
    for (session_id, prompt_id, write) in agg.presence_writes() {
        if write.clear {
            clear.execute(params![session_id])?;
        }
        for &node in &write.nodes {
            insert.execute(params![session_id, node, prompt_id, random_rank()])?;
        }
    }
    Ok(())
}
