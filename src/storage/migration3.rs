//! Migration 3: every event carries its prompt (docs/rules.md, "Storage";
//! docs/decisions.md, "A prompt-time index").
//!
//! `interactive_prompt_events.interactive_prompt_id`, filled in place from
//! each event's session, with an index on `(interactive_prompt_id,
//! prompt_time, uid)`: reading one prompt's events in a prompt-time range
//! (search, replay buckets, export, `check`) is then one range of one index,
//! whatever the prompt's number of sessions and whatever other prompts hold.
//! The global `(prompt_time, uid)` index goes: no read uses it once the
//! per-prompt one exists, and every insert paid for it (BENCHMARKS.md,
//! "The events table at scale").

use super::dialect::Dialect;

/// The statements of migration 3 in `dialect`.
pub fn statements(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => SQLITE.to_owned(),
        Dialect::Postgres => POSTGRES.to_owned(),
    }
}

/// SQLite cannot add a `NOT NULL` column with a foreign key to a table
/// that has rows (`ADD COLUMN … REFERENCES` needs a null default while
/// foreign keys are on), so the table is rebuilt: a copy with the column,
/// filled by one join, renamed over the old one. The copy is made without
/// its indexes, which are then built each in one sorted pass (faster than
/// inserting a million random uids one by one into a live index). The
/// copy keeps every row's `id`. Nothing references the events table, so
/// dropping it cascades nowhere.
const SQLITE: &str = "
CREATE TABLE interactive_prompt_events_new(
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL,
    interactive_prompt_session_id INTEGER NOT NULL REFERENCES interactive_prompt_sessions(id) ON DELETE CASCADE,
    evtype TEXT NOT NULL,
    data TEXT NOT NULL,
    prompt_time REAL NOT NULL,
    created_at REAL NOT NULL,
    interactive_prompt_id INTEGER NOT NULL REFERENCES interactive_prompts(id) ON DELETE CASCADE
);
INSERT INTO interactive_prompt_events_new
    (id, uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
    SELECT e.id, e.uid, e.interactive_prompt_session_id, e.evtype, e.data, e.prompt_time, e.created_at,
           s.interactive_prompt_id
    FROM interactive_prompt_events e JOIN interactive_prompt_sessions s ON s.id = e.interactive_prompt_session_id
    ORDER BY e.id;
DROP TABLE interactive_prompt_events;
ALTER TABLE interactive_prompt_events_new RENAME TO interactive_prompt_events;
CREATE UNIQUE INDEX interactive_prompt_events_uid_idx ON interactive_prompt_events(uid);
CREATE INDEX interactive_prompt_events_ips_id_prompt_time_idx
    ON interactive_prompt_events(interactive_prompt_session_id, prompt_time);
CREATE INDEX interactive_prompt_events_created_at_session_idx
    ON interactive_prompt_events(created_at, interactive_prompt_session_id) WHERE evtype='join';
CREATE INDEX interactive_prompt_events_ip_id_prompt_time_uid_idx
    ON interactive_prompt_events(interactive_prompt_id, prompt_time, uid);
";

/// PostgreSQL adds the column in place: nullable first, filled from the
/// sessions, then `NOT NULL` (one scan to check it). The foreign key is
/// added with the column; an empty table checks it for free, a large one
/// once.
const POSTGRES: &str = "
ALTER TABLE interactive_prompt_events
    ADD COLUMN interactive_prompt_id BIGINT NULL REFERENCES interactive_prompts(id) ON DELETE CASCADE;
UPDATE interactive_prompt_events e SET interactive_prompt_id = s.interactive_prompt_id
    FROM interactive_prompt_sessions s WHERE s.id = e.interactive_prompt_session_id;
ALTER TABLE interactive_prompt_events ALTER COLUMN interactive_prompt_id SET NOT NULL;
CREATE INDEX interactive_prompt_events_ip_id_prompt_time_uid_idx
    ON interactive_prompt_events(interactive_prompt_id, prompt_time, uid);
DROP INDEX interactive_prompt_events_prompt_time_uid_idx;
";
