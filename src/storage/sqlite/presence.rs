//! Who is here on SQLite (docs/api.md, "Who is here"): reading a step's
//! sample, and the rows `chorus check` compares. (A group's rows are
//! written with its aggregates: [`super::flush::flush`].)

use std::collections::HashSet;

use rusqlite::{Connection, params};

use crate::storage::StorageError;
use crate::storage::migration4::{
    CLEAR_PROMPT_PRESENCE, INSERT_PRESENCE, PROMPT_PRESENCE, random_rank,
};
use crate::storage::presence::{KEPT, SampledRow};

/// The lowest-ranked `per_node` sessions in `[from, to)` of each node,
/// in rank order, with their users — as far as [`crate::storage::presence::pick`]
/// needs them: the ranks are read from the `(prompt, node, rank)` index
/// alone, and a row's session and user are read only until [`KEPT`]
/// people with a picture are found (or every row when there are fewer).
/// The rows never read could not have been picked.
pub fn sample(
    conn: &Connection,
    prompt_id: i64,
    nodes: &[i64],
    (from, to): (i64, i64),
    per_node: i64,
) -> Result<Vec<SampledRow>, StorageError> {
    let mut ranks = conn.prepare_cached(NODE_RANKS)?;
    let mut candidates: Vec<(i64, i64)> = Vec::new();
    for node in nodes {
        let rows = ranks.query_map(params![prompt_id, node, from, to, per_node], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        for row in rows {
            candidates.push(row?);
        }
    }
    candidates.sort_unstable();
    let mut person = conn.prepare_cached(ROW_PERSON)?;
    let (mut out, mut shown) = (Vec::new(), HashSet::new());
    for (rank, rowid) in candidates {
        let (sub, picture, name): (String, Option<String>, Option<String>) =
            person.query_row([rowid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        if picture.is_some() {
            shown.insert(sub.clone());
        }
        out.push(SampledRow {
            rank,
            sub,
            picture,
            name,
        });
        if shown.len() == KEPT {
            break;
        }
    }
    Ok(out)
}

/// The lowest ranks of one node in a range, and their rows' rowids: the
/// `(prompt, node, rank)` index holds both, so no table row is read.
const NODE_RANKS: &str = "SELECT rank, rowid FROM interactive_prompt_presence
    WHERE interactive_prompt_id = ?1 AND node = ?2 AND rank >= ?3 AND rank < ?4
    ORDER BY rank LIMIT ?5";

/// The user of one presence row.
const ROW_PERSON: &str = "SELECT u.sub, u.picture, u.given_name
    FROM interactive_prompt_presence x
    JOIN interactive_prompt_sessions s ON s.id = x.interactive_prompt_session_id
    JOIN users u ON u.id = s.user_id
    WHERE x.rowid = ?1";

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
