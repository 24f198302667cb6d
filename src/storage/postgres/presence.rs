//! Who is here on PostgreSQL (docs/api.md, "Who is here"): writing a
//! batch's presence rows, reading a step's sample, and the rows `chorus
//! check` compares.

use deadpool_postgres::GenericClient;
use tokio_postgres::Statement;

use super::params::Params;

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
    let statements = PresenceStatements::prepare(c).await?;
    let columns = PresenceColumns::of(agg);
    for (statement, params) in columns.writes(&statements) {
        c.execute_raw(statement, params).await?;
    }
    Ok(())
}

/// The presence writes, prepared (once per connection).
pub struct PresenceStatements {
    clear: Statement,
    insert: Statement,
}

impl PresenceStatements {
    /// Prepares them on `c` (a cache lookup after the first time).
    pub async fn prepare(c: &impl GenericClient) -> Result<Self, StorageError> {
        Ok(PresenceStatements {
            clear: c.prepare_cached(CLEAR_SESSIONS).await?,
            insert: c.prepare_cached(INSERT_ROWS).await?,
        })
    }
}

/// A batch's presence writes as column arrays.
#[derive(Default)]
pub struct PresenceColumns {
    cleared: Vec<i64>,
    sessions: Vec<i64>,
    nodes: Vec<i64>,
    prompts: Vec<i64>,
    ranks: Vec<i64>,
}

impl PresenceColumns {
    /// The rows to clear and to add for `agg`'s sessions (fresh ranks).
    pub fn of(agg: &PendingAggregates) -> Self {
        let mut columns = PresenceColumns::default();
        if agg.presence.is_empty() {
            return columns;
        }
        for (session, prompt, write) in agg.presence_writes() {
            if write.clear {
                columns.cleared.push(session);
            }
            for &node in &write.nodes {
                columns.sessions.push(session);
                columns.nodes.push(node);
                columns.prompts.push(prompt);
                columns.ranks.push(random_rank());
            }
        }
        columns
    }

    /// The statements that have rows, with their parameters: the clearing
    /// first, then the new rows.
    pub fn writes<'a>(&'a self, s: &'a PresenceStatements) -> Vec<(&'a Statement, Params<'a>)> {
        let mut out: Vec<(&Statement, Params<'a>)> = Vec::with_capacity(2);
        if !self.cleared.is_empty() {
            out.push((&s.clear, vec![&self.cleared]));
        }
        if !self.sessions.is_empty() {
            let rows: Params<'a> = vec![&self.sessions, &self.nodes, &self.prompts, &self.ranks];
            out.push((&s.insert, rows));
        }
        out
    }
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
    if !sessions.is_empty() {
        let insert = c.prepare_cached(INSERT_ROWS).await?;
        c.execute(&insert, &[&sessions, &nodes, &prompts, &ranks])
            .await?;
    }
    Ok(())
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
