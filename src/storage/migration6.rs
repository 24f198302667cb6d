//! Migration 6: the per-prompt index covers the range reads
//! (docs/decisions.md, "A prompt-time index"; BENCHMARKS.md, "The events
//! table at scale").
//!
//! The index on `(interactive_prompt_id, prompt_time, uid)` of migration 3
//! is replaced by one with the same key that also holds every other column
//! a prompt's range reads select (`interactive_prompt_session_id`,
//! `evtype`, `data`, `created_at`): search, replay buckets, export and
//! `check` then read a bucket's rows from a few adjacent index pages
//! instead of one table page per row. A small prompt's rows are scattered
//! among the other prompts' in the table, so without it a bucket read
//! beside a million other events touched a page per event and cost about
//! twice what it did alone. Event data is a few bytes of JSON (docs/rules.md,
//! "Event types"), so the index entries stay small on both engines.

use super::dialect::Dialect;

/// The index this migration creates.
pub const COVERING_INDEX: &str = "interactive_prompt_events_ip_id_prompt_time_uid_covering_idx";

/// The statements of migration 6 in `dialect`. SQLite indexes every
/// column (it has no `INCLUDE`); PostgreSQL keys on the three and carries
/// the rest (`INCLUDE`), so the key and its order are the same as before.
pub fn statements(dialect: Dialect) -> String {
    let columns = match dialect {
        Dialect::Sqlite => {
            "(interactive_prompt_id, prompt_time, uid,
            interactive_prompt_session_id, evtype, data, created_at)"
        }
        Dialect::Postgres => {
            "(interactive_prompt_id, prompt_time, uid)
            INCLUDE (interactive_prompt_session_id, evtype, data, created_at)"
        }
    };
    format!(
        "CREATE INDEX {COVERING_INDEX} ON interactive_prompt_events{columns};
DROP INDEX IF EXISTS interactive_prompt_events_ip_id_prompt_time_uid_idx;
"
    )
}
