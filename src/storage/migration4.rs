//! Migration 4: faces in the room (docs/rules.md, "Sessions and users" and
//! "Presence"; docs/api.md, "Who is here").
//!
//! * `users.picture` — the user's picture URL, kept like the name.
//! * `interactive_prompt_presence` — who is in the room at each 2-second
//!   step: one row per session and node of the segment tree over the
//!   prompt's steps that covers the steps it was in the room
//!   ([`crate::domain::presence`]), with a random `rank` to sample by.
//!   Keyed by `(session, node)`, so a `leave` rewrites its session's rows
//!   and erasing a session cascades to them through the key; indexed by
//!   `(prompt, node, rank)`, so a step's sample reads a bounded run of each
//!   node on its path. Filled here from the events already stored, by the
//!   same cover [`crate::domain::presence::cover`] computes, written as a
//!   recursive query.

use super::dialect::Dialect;

/// The statements of migration 4.
pub fn statements(dialect: Dialect) -> String {
    let int = match dialect {
        Dialect::Sqlite => "INTEGER",
        Dialect::Postgres => "BIGINT",
    };
    let leaves = crate::domain::presence::LEAVES;
    let (ceil_join, ceil_leave, rank) = match dialect {
        Dialect::Sqlite => (
            "CAST(j.prompt_time / 2 AS INTEGER) + (CAST(j.prompt_time / 2 AS INTEGER) < j.prompt_time / 2)",
            "CAST(lv.prompt_time / 2 AS INTEGER) + (CAST(lv.prompt_time / 2 AS INTEGER) < lv.prompt_time / 2)",
            SQLITE_RANK,
        ),
        Dialect::Postgres => (
            "CAST(ceil(j.prompt_time / 2) AS BIGINT)",
            "CAST(ceil(lv.prompt_time / 2) AS BIGINT)",
            POSTGRES_RANK,
        ),
    };
    format!(
        r#"
ALTER TABLE users ADD COLUMN picture TEXT NULL;
CREATE TABLE interactive_prompt_presence(
    interactive_prompt_session_id {int} NOT NULL REFERENCES interactive_prompt_sessions(id) ON DELETE CASCADE,
    node {int} NOT NULL,
    interactive_prompt_id {int} NOT NULL REFERENCES interactive_prompts(id) ON DELETE CASCADE,
    rank {int} NOT NULL,
    PRIMARY KEY (interactive_prompt_session_id, node)
);
CREATE INDEX interactive_prompt_presence_node_rank_idx
    ON interactive_prompt_presence(interactive_prompt_id, node, rank);
WITH RECURSIVE runs(sid, pid, l, r) AS (
    SELECT s.id, s.interactive_prompt_id,
        {ceil_join} + {leaves},
        COALESCE({ceil_leave} - 1, p.duration_seconds / 2) + {leaves} + 1
    FROM interactive_prompt_sessions s
    JOIN interactive_prompts p ON p.id = s.interactive_prompt_id
    JOIN interactive_prompt_events j ON j.interactive_prompt_session_id = s.id AND j.evtype = 'join'
    LEFT JOIN interactive_prompt_events lv ON lv.interactive_prompt_session_id = s.id AND lv.evtype = 'leave'
    UNION ALL
    SELECT sid, pid, (l + (l & 1)) / 2, (r - (r & 1)) / 2 FROM runs WHERE l < r
)
INSERT INTO interactive_prompt_presence(interactive_prompt_session_id, node, interactive_prompt_id, rank)
SELECT sid, l, pid, {rank} FROM runs WHERE l < r AND (l & 1) = 1
UNION ALL
SELECT sid, r - 1, pid, {rank} FROM runs WHERE l < r AND (r & 1) = 1;
"#
    )
}

/// A random rank in `[0, 2^53)`, in SQLite.
const SQLITE_RANK: &str = "(random() & 9007199254740991)";
/// A random rank in `[0, 2^53)`, in PostgreSQL.
const POSTGRES_RANK: &str = "CAST(floor(random() * 9007199254740992) AS BIGINT)";

/// A random rank in `[0, 2^53)`, the range both engines draw ranks from.
pub fn random_rank() -> i64 {
    use rand::Rng;
    rand::rng().random_range(0..RANKS)
}

/// Ranks are drawn from `[0, RANKS)`.
pub const RANKS: i64 = 1 << 53;

/// Removes a session's presence rows (`$1` session id).
pub const CLEAR_PRESENCE: &str =
    "DELETE FROM interactive_prompt_presence WHERE interactive_prompt_session_id = $1";

/// Adds one presence row (`$1` session id, `$2` node, `$3` prompt id,
/// `$4` rank).
pub const INSERT_PRESENCE: &str = "INSERT INTO interactive_prompt_presence
    (interactive_prompt_session_id, node, interactive_prompt_id, rank) VALUES ($1, $2, $3, $4)
    ON CONFLICT (interactive_prompt_session_id, node) DO NOTHING";

/// A prompt's presence rows `(session id, node)` in order (`$1` prompt id).
pub const PROMPT_PRESENCE: &str = "SELECT interactive_prompt_session_id, node
    FROM interactive_prompt_presence WHERE interactive_prompt_id = $1
    ORDER BY interactive_prompt_session_id, node";

/// Removes a prompt's presence rows (`$1` prompt id).
pub const CLEAR_PROMPT_PRESENCE: &str =
    "DELETE FROM interactive_prompt_presence WHERE interactive_prompt_id = $1";

/// The sessions of one node with the lowest ranks in `[$3, $4)`, with
/// their users (`$1` prompt id, `$2` node, `$5` how many): rank, `sub`,
/// picture, display name. A bounded run of the `(prompt, node, rank)`
/// index, then one lookup per row.
pub const NODE_SAMPLE: &str = "SELECT x.rank, u.sub, u.picture, u.given_name FROM
    (SELECT rank, interactive_prompt_session_id AS sid FROM interactive_prompt_presence
     WHERE interactive_prompt_id = $1 AND node = $2 AND rank >= $3 AND rank < $4
     ORDER BY rank LIMIT $5) x
    JOIN interactive_prompt_sessions s ON s.id = x.sid
    JOIN users u ON u.id = s.user_id";
