//! Who is here on SQLite (docs/api.md, "Who is here"): reading a step's
//! sample, and the rows `chorus check` compares. (A group's rows are
//! written with its aggregates: [`super::writes::flush`].)

use rusqlite::{Connection, params};

use crate::storage::StorageError;
use crate::storage::migration4::{
    CLEAR_PROMPT_PRESENCE, INSERT_PRESENCE, NODE_SAMPLE, PROMPT_PRESENCE, random_rank,
};
use crate::storage::presence::SampledRow;

/// The lowest-ranked `per_node` sessions in `[from, to)` of each node,
/// with their users.
pub fn sample(
    conn: &Connection,
    prompt_id: i64,
    nodes: &[i64],
    (from, to): (i64, i64),
    per_node: i64,
) -> Result<Vec<SampledRow>, StorageError> {
    let mut stmt = conn.prepare_cached(NODE_SAMPLE)?;
    let mut out = Vec::new();
    for node in nodes {
        let rows = stmt.query_map(params![prompt_id, node, from, to, per_node], |r| {
            Ok(SampledRow {
                rank: r.get(0)?,
                sub: r.get(1)?,
                picture: r.get(2)?,
                name: r.get(3)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// A prompt's stored presence rows `(session id, node)`, in order.
pub fn prompt_rows(conn: &Connection, prompt_id: i64) -> Result<Vec<(i64, i64)>, StorageError> {
    let mut stmt = conn.prepare_cached(PROMPT_PRESENCE)?;
    let rows = stmt.query_map([prompt_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces a prompt's presence rows with `rows` (fresh ranks).
pub fn replace(conn: &Connection, prompt_id: i64, rows: &[(i64, i64)]) -> Result<(), StorageError> {
    conn.execute(CLEAR_PROMPT_PRESENCE, [prompt_id])?;
    let mut insert = conn.prepare_cached(INSERT_PRESENCE)?;
    for &(session, node) in rows {
        insert.execute(params![session, node, prompt_id, random_rank()])?;
    }
    Ok(())
}
