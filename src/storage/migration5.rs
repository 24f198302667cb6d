//! Migration 5: what running a prompt programme needs (docs/api.md,
//! "Listing prompts" and "Named prompts").
//!
//! * `interactive_prompt_totals` — each prompt's number of sessions and of
//!   events, kept in the same transaction as every session and event (and
//!   every erasure), so the admin listing reads one row per prompt instead
//!   of counting. Filled here from the rows already stored.
//! * `interactive_prompt_definitions` — named prompts by identifier, with
//!   their current version and how long an instance stays current.
//! * `interactive_prompt_instances` — the prompts made for a definition,
//!   numbered per definition: the unique `(definition_id, seq)` is what lets
//!   exactly one of many racing requests create the next instance.
//!
//! It reads only tables of migration 1, so it applies whichever other
//! migrations ran before it.

use super::dialect::Dialect;

/// The statements of migration 5.
pub fn programme(dialect: Dialect) -> String {
    let (id, real, int) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY", "REAL", "INTEGER"),
        Dialect::Postgres => (
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            "DOUBLE PRECISION",
            "BIGINT",
        ),
    };
    let collate = match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " COLLATE \"C\"",
    };
    format!(
        r#"
CREATE TABLE interactive_prompt_totals(
    interactive_prompt_id {int} PRIMARY KEY REFERENCES interactive_prompts(id) ON DELETE CASCADE,
    sessions {int} NOT NULL,
    events {int} NOT NULL
);
INSERT INTO interactive_prompt_totals(interactive_prompt_id, sessions, events)
SELECT p.id,
    (SELECT COUNT(*) FROM interactive_prompt_sessions s WHERE s.interactive_prompt_id = p.id),
    (SELECT COUNT(*) FROM interactive_prompt_events e
        JOIN interactive_prompt_sessions s ON s.id = e.interactive_prompt_session_id
        WHERE s.interactive_prompt_id = p.id)
FROM interactive_prompts p;
CREATE TABLE interactive_prompt_definitions(
    id {id},
    identifier TEXT{collate} UNIQUE NOT NULL,
    version {int} NOT NULL,
    prompt TEXT NOT NULL,
    duration_seconds {int} NOT NULL,
    expires_seconds {int} NOT NULL,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    deleted_at {real} NULL
);
CREATE TABLE interactive_prompt_instances(
    id {id},
    definition_id {int} NOT NULL REFERENCES interactive_prompt_definitions(id) ON DELETE CASCADE,
    seq {int} NOT NULL,
    version {int} NOT NULL,
    interactive_prompt_id {int} UNIQUE NOT NULL REFERENCES interactive_prompts(id) ON DELETE CASCADE,
    created_at {real} NOT NULL
);
CREATE UNIQUE INDEX interactive_prompt_instances_definition_seq_idx
    ON interactive_prompt_instances(definition_id, seq);
"#
    )
}

/// Adds to a prompt's totals (`$1` prompt id, `$2` sessions, `$3` events).
pub const UPSERT_TOTALS: &str = "INSERT INTO interactive_prompt_totals
    (interactive_prompt_id, sessions, events) VALUES ($1, $2, $3)
    ON CONFLICT (interactive_prompt_id) DO UPDATE SET
    sessions = interactive_prompt_totals.sessions + excluded.sessions,
    events = interactive_prompt_totals.events + excluded.events";

/// Sets a prompt's totals (`$1` prompt id, `$2` sessions, `$3` events).
pub const SET_TOTALS: &str = "INSERT INTO interactive_prompt_totals
    (interactive_prompt_id, sessions, events) VALUES ($1, $2, $3)
    ON CONFLICT (interactive_prompt_id) DO UPDATE SET
    sessions = excluded.sessions, events = excluded.events";

/// A prompt's stored totals and its number of sessions (`$1` prompt id).
pub const SELECT_TOTALS: &str = "SELECT
    COALESCE((SELECT sessions FROM interactive_prompt_totals WHERE interactive_prompt_id = $1), 0),
    COALESCE((SELECT events FROM interactive_prompt_totals WHERE interactive_prompt_id = $1), 0),
    (SELECT COUNT(*) FROM interactive_prompt_sessions WHERE interactive_prompt_id = $1)";
