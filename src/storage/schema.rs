//! The schema and its migrations, in both SQL dialects (docs/decisions.md,
//! "Storage"; the aggregate tables: docs/rules.md, "Fenwick trees" and "Counts").
//!
//! Migrations are numbered; each engine records the ones applied in
//! `chorus_migrations` and applies every one not recorded there at start-up,
//! oldest first, so a database made by an older version is upgraded in place
//! (and migrations developed side by side may land in either order).

use super::dialect::Dialect;

/// Table recording applied migrations.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS chorus_migrations(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)";

/// Every migration, oldest first: `(version, statements)`.
pub fn migrations(dialect: Dialect) -> Vec<(i64, String)> {
    vec![
        (1, tables(dialect)),
        (2, byte_wise_uids(dialect)),
        (3, super::migration3::statements(dialect)),
        (4, super::migration4::statements(dialect)),
        (5, super::migration5::programme(dialect)),
    ]
}

/// Migration 1: the tables and their indexes.
fn tables(dialect: Dialect) -> String {
    let (id, real) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY", "REAL"),
        Dialect::Postgres => (
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            "DOUBLE PRECISION",
        ),
    };
    let int = match dialect {
        Dialect::Sqlite => "INTEGER",
        Dialect::Postgres => "BIGINT",
    };
    format!(
        r#"
CREATE TABLE users(
    id {id},
    sub TEXT UNIQUE NOT NULL,
    given_name TEXT NULL,
    created_at {real} NOT NULL
);
CREATE TABLE interactive_prompts(
    id {id},
    uid TEXT UNIQUE NOT NULL,
    prompt TEXT NOT NULL,
    duration_seconds {int} NOT NULL,
    created_at {real} NOT NULL,
    deleted_at {real} NULL
);
CREATE TABLE interactive_prompt_sessions(
    id {id},
    interactive_prompt_id {int} NOT NULL REFERENCES interactive_prompts(id) ON DELETE CASCADE,
    user_id {int} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    uid TEXT UNIQUE NOT NULL
);
CREATE INDEX interactive_prompt_sessions_interactive_prompt_id_user_id_idx
    ON interactive_prompt_sessions(interactive_prompt_id, user_id);
CREATE INDEX interactive_prompt_sessions_user_id_idx ON interactive_prompt_sessions(user_id);
CREATE TABLE interactive_prompt_events(
    id {id},
    uid TEXT UNIQUE NOT NULL,
    interactive_prompt_session_id {int} NOT NULL REFERENCES interactive_prompt_sessions(id) ON DELETE CASCADE,
    evtype TEXT NOT NULL,
    data TEXT NOT NULL,
    prompt_time {real} NOT NULL,
    created_at {real} NOT NULL
);
CREATE INDEX interactive_prompt_events_ips_id_prompt_time_idx
    ON interactive_prompt_events(interactive_prompt_session_id, prompt_time);
CREATE INDEX interactive_prompt_events_created_at_session_idx
    ON interactive_prompt_events(created_at, interactive_prompt_session_id) WHERE evtype='join';
CREATE INDEX interactive_prompt_events_prompt_time_uid_idx
    ON interactive_prompt_events(prompt_time, uid);
CREATE TABLE interactive_prompt_event_fenwick_trees(
    id {id},
    interactive_prompt_id {int} NOT NULL REFERENCES interactive_prompts(id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    category_value {int} NULL,
    idx {int} NOT NULL,
    val {int} NOT NULL
);
CREATE UNIQUE INDEX interactive_prompt_event_fenwick_trees_key_idx
    ON interactive_prompt_event_fenwick_trees(interactive_prompt_id, category, category_value, idx);
CREATE UNIQUE INDEX interactive_prompt_event_fenwick_trees_null_key_idx
    ON interactive_prompt_event_fenwick_trees(interactive_prompt_id, category, idx) WHERE category_value IS NULL;
CREATE TABLE interactive_prompt_event_counts(
    id {id},
    interactive_prompt_id {int} NOT NULL REFERENCES interactive_prompts(id) ON DELETE CASCADE,
    bucket {int} NOT NULL,
    total {int} NOT NULL
);
CREATE UNIQUE INDEX interactive_prompt_event_counts_key_idx
    ON interactive_prompt_event_counts(interactive_prompt_id, bucket);
"#
    )
}

/// Migration 2: uids sort byte-wise on both engines (SQLite's BINARY;
/// PostgreSQL's "C" collation instead of the database's language collation).
fn byte_wise_uids(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => String::new(),
        Dialect::Postgres => [
            "ALTER TABLE interactive_prompt_events ALTER COLUMN uid TYPE TEXT COLLATE \"C\";",
            "ALTER TABLE interactive_prompt_sessions ALTER COLUMN uid TYPE TEXT COLLATE \"C\";",
            "ALTER TABLE interactive_prompts ALTER COLUMN uid TYPE TEXT COLLATE \"C\";",
            "ALTER TABLE users ALTER COLUMN sub TYPE TEXT COLLATE \"C\";",
        ]
        .concat(),
    }
}

/// Adds `delta` to a Fenwick row whose `category_value` is not null.
pub const UPSERT_FENWICK_VALUED: &str = "INSERT INTO interactive_prompt_event_fenwick_trees
    (interactive_prompt_id, category, category_value, idx, val) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (interactive_prompt_id, category, category_value, idx)
    DO UPDATE SET val = interactive_prompt_event_fenwick_trees.val + excluded.val";

/// Adds `delta` to a Fenwick row whose `category_value` is null.
pub const UPSERT_FENWICK_NULL: &str = "INSERT INTO interactive_prompt_event_fenwick_trees
    (interactive_prompt_id, category, category_value, idx, val) VALUES ($1, $2, NULL, $3, $4)
    ON CONFLICT (interactive_prompt_id, category, idx) WHERE category_value IS NULL
    DO UPDATE SET val = interactive_prompt_event_fenwick_trees.val + excluded.val";

/// Adds `delta` to a one-second count row.
pub const UPSERT_COUNT: &str = "INSERT INTO interactive_prompt_event_counts
    (interactive_prompt_id, bucket, total) VALUES ($1, $2, $3)
    ON CONFLICT (interactive_prompt_id, bucket)
    DO UPDATE SET total = interactive_prompt_event_counts.total + excluded.total";
