//! Who is here on PostgreSQL (docs/api.md, "Who is here"): writing a
//! batch's presence rows, reading a step's sample, and the rows `chorus
//! check` compares.

use deadpool_postgres::GenericClient;

use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;
use crate::storage::migration4::{
    CLEAR_PROMPT_PRESENCE, NODE_SAMPLE, PROMPT_PRESENCE, random_rank,
};
use crate::storage::presence::SampledRow;

/// Writes the presence rows of a batch's sessions that joined or left:
/// the rows of those that left removed, then every new row, each in one
/// statement. Only the batch holding a session's lock writes its rows.
pub async fn flush(c: &impl GenericClient, agg: &PendingAggregates) -> Result<(), StorageError> {
    if agg.presence.is_empty() {
        return Ok(());
    }
    let writes = agg.presence_writes();
    let cleared: Vec<i64> = writes
        .iter()
        .filter(|(_, _, w)| w.clear)
        .map(|(session, _, _)| *session)
        .collect();
    if !cleared.is_empty() {
        let clear = c.prepare_cached(CLEAR_SESSIONS).await?;
        c.execute(&clear, &[&cleared]).await?;
    }
    let (mut sessions, mut nodes, mut prompts, mut ranks) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (session, prompt, write) in &writes {
        for &node in &write.nodes {
            sessions.push(*session);
            nodes.push(node);
            prompts.push(*prompt);
            ranks.push(random_rank());
        }
    }
    insert_rows(c, &sessions, &nodes, &prompts, &ranks).await
}

async fn insert_rows(
    c: &impl GenericClient,
    sessions: &[i64],
    nodes: &[i64],
    prompts: &[i64],
    ranks: &[i64],
) -> Result<(), StorageError> {
    if sessions.is_empty() {
        return Ok(());
    }
    let insert = c.prepare_cached(INSERT_ROWS).await?;
    c.execute(&insert, &[&sessions, &nodes, &prompts, &ranks])
        .await?;
    Ok(())
}

/// Removes the presence rows of many sessions (`$1` session ids).
const CLEAR_SESSIONS: &str =
    "DELETE FROM interactive_prompt_presence WHERE interactive_prompt_session_id = ANY($1)";

/// Adds presence rows (column arrays: session id, node, prompt id, rank).
const INSERT_ROWS: &str = "INSERT INTO interactive_prompt_presence
    (interactive_prompt_session_id, node, interactive_prompt_id, rank)
    SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[])
    ON CONFLICT (interactive_prompt_session_id, node) DO NOTHING";

/// A prompt's stored presence rows `(session id, node)`, in order.
pub async fn prompt_rows(
    c: &impl GenericClient,
    prompt_id: i64,
) -> Result<Vec<(i64, i64)>, StorageError> {
    let rows = c.query(PROMPT_PRESENCE, &[&prompt_id]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Replaces a prompt's presence rows with `rows` (fresh ranks).
pub async fn replace(
    c: &impl GenericClient,
    prompt_id: i64,
    rows: &[(i64, i64)],
) -> Result<(), StorageError> {
    c.execute(CLEAR_PROMPT_PRESENCE, &[&prompt_id]).await?;
    let sessions: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let nodes: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let prompts = vec![prompt_id; rows.len()];
    let ranks: Vec<i64> = rows.iter().map(|_| random_rank()).collect();
    insert_rows(c, &sessions, &nodes, &prompts, &ranks).await
}

/// The lowest-ranked `per_node` sessions in `[from, to)` of each node, with
/// their users: one pipelined query per node.
pub async fn sample(
    c: &impl GenericClient,
    prompt_id: i64,
    nodes: &[i64],
    (from, to): (i64, i64),
    per_node: i64,
) -> Result<Vec<SampledRow>, StorageError> {
    let stmt = c.prepare_cached(NODE_SAMPLE).await?;
    let queries = nodes.iter().map(|node| {
        let stmt = &stmt;
        async move {
            c.query(stmt, &[&prompt_id, node, &from, &to, &per_node])
                .await
        }
    });
    let answers = futures::future::try_join_all(queries).await?;
    Ok(answers
        .iter()
        .flatten()
        .map(|r| SampledRow {
            rank: r.get(0),
            sub: r.get(1),
            picture: r.get(2),
            name: r.get(3),
        })
        .collect())
}
