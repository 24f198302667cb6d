//! Writes, run by the writer thread inside its open transaction.

use rusqlite::{Connection, OptionalExtension, params};

use super::cache::CachedUser;
use super::job::JobCtx;
use super::reads;
use crate::domain::aggregates::PromptAggregates;
use crate::domain::clock::now;
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::presence;
use crate::domain::prompt::{Prompt, PromptRecord};
use crate::domain::rules::{self, Accepted, Violation};
use crate::domain::session::{Session, SessionOwner, SessionState};
use crate::domain::uid;
use crate::domain::user::{Shown, UserIdentity};
use crate::storage::aggregates::PendingAggregates;
use crate::storage::{StartedSession, StorageError};

/// Inserts a prompt.
pub fn create_prompt(
    conn: &Connection,
    prompt: Prompt,
    duration_seconds: i64,
) -> Result<PromptRecord, StorageError> {
    let record = PromptRecord::unsaved(prompt, duration_seconds, now());
    let json = serde_json::to_string(&record.prompt).expect("prompts serialize");
    let mut stmt = conn.prepare_cached(
        "INSERT INTO interactive_prompts(uid, prompt, duration_seconds, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )?;
    let id = stmt.query_row(
        params![record.uid, json, duration_seconds, record.created_at],
        |r| r.get(0),
    )?;
    Ok(PromptRecord { id, ..record })
}

/// A prompt by uid, from the shared cache or the database (then cached).
pub fn prompt_by_uid(
    conn: &Connection,
    ctx: &JobCtx<'_>,
    uid: &str,
) -> Result<Option<PromptRecord>, StorageError> {
    if let Some(p) = ctx.hot.prompt(uid) {
        return Ok(Some(p));
    }
    read_prompt(conn, ctx, uid)
}

/// Reads a prompt from the database and remembers it.
fn read_prompt(
    conn: &Connection,
    ctx: &JobCtx<'_>,
    uid: &str,
) -> Result<Option<PromptRecord>, StorageError> {
    let prompt = reads::prompt_by_uid(conn, uid)?;
    if let Some(p) = &prompt {
        ctx.hot.remember_prompt(p);
    }
    Ok(prompt)
}

/// Soft-deletes a prompt (idempotent).
pub fn delete_prompt(
    conn: &Connection,
    ctx: &JobCtx<'_>,
    uid: &str,
) -> Result<Option<PromptRecord>, StorageError> {
    conn.prepare_cached(
        "UPDATE interactive_prompts SET deleted_at = $1 WHERE uid = $2 AND deleted_at IS NULL",
    )?
    .execute(params![now(), uid])?;
    read_prompt(conn, ctx, uid)
}

/// Creates or refreshes the user, then a session of a live prompt. A
/// returning user whose row would not change costs one insert; otherwise
/// both writes share a savepoint.
pub fn start_session(
    conn: &Connection,
    ctx: &mut JobCtx<'_>,
    prompt_uid: &str,
    user: &UserIdentity,
) -> Result<Option<StartedSession>, StorageError> {
    let Some(prompt) = prompt_by_uid(conn, ctx, prompt_uid)?.filter(|p| p.deleted_at.is_none())
    else {
        return Ok(None);
    };
    let unchanged = ctx
        .cache
        .users
        .get(&user.sub)
        .filter(|u| {
            (user.display_name.is_none() || user.display_name == u.name)
                && (user.picture.is_none() || user.picture == u.picture)
        })
        .cloned();
    let session_uid = uid::generate(uid::SESSION);
    let insert_session = |user_id: i64| -> Result<i64, StorageError> {
        conn.prepare_cached("INSERT INTO interactive_prompt_sessions(interactive_prompt_id, user_id, uid) VALUES ($1, $2, $3)")?
            .execute(params![prompt.id, user_id, session_uid])?;
        Ok(conn.last_insert_rowid())
    };
    let (session_id, stored_user) = match unchanged {
        Some(stored) => (insert_session(stored.id)?, stored),
        None => atomically(conn, || {
            let stored = upsert_user(conn, user)?;
            Ok((insert_session(stored.id)?, stored))
        })?,
    };
    // Counted in the batch's totals, written with its aggregate rows.
    ctx.agg.add_sessions(prompt.id, 1);
    let session = Session {
        id: session_id,
        owner: SessionOwner {
            prompt_id: prompt.id,
            user_sub: user.sub.clone(),
        },
        state: SessionState::default(),
    };
    ctx.cache.remember(&session_uid, session, stored_user);
    Ok(Some(StartedSession {
        prompt,
        session_uid,
    }))
}

/// Creates the user or refreshes its display name and picture (each kept
/// when the token carries none); returns its row.
fn upsert_user(conn: &Connection, user: &UserIdentity) -> Result<CachedUser, StorageError> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO users(sub, given_name, picture, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sub) DO UPDATE SET given_name = COALESCE(excluded.given_name, users.given_name),
                 picture = COALESCE(excluded.picture, users.picture)
             RETURNING id, given_name, picture",
        )?
        .query_row(
            params![user.sub, user.display_name, user.picture, now()],
            |r| {
                Ok(CachedUser {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    picture: r.get(2)?,
                })
            },
        )?)
}

/// Runs `f` inside a savepoint: all of its writes stay, or none.
fn atomically<T>(
    conn: &Connection,
    f: impl FnOnce() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    conn.prepare_cached("SAVEPOINT step")?.execute([])?;
    match f() {
        Ok(value) => {
            conn.prepare_cached("RELEASE step")?.execute([])?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO step; RELEASE step");
            Err(e)
        }
    }
}

struct SessionRow {
    id: i64,
    owner: SessionOwner,
    user: CachedUser,
}

/// A session with its state, from the writer's cache or the database
/// (then cached, with its user's display name).
fn session<'c>(
    conn: &Connection,
    ctx: &'c mut JobCtx<'_>,
    session_uid: &str,
) -> Result<Option<&'c mut Session>, StorageError> {
    if !ctx.cache.sessions.contains_key(session_uid) {
        let Some(row) = session_row(conn, session_uid)? else {
            return Ok(None);
        };
        let state = session_state(conn, row.id)?;
        let session = Session {
            id: row.id,
            owner: row.owner,
            state,
        };
        ctx.cache.remember(session_uid, session, row.user);
    }
    Ok(ctx.cache.sessions.get_mut(session_uid))
}

fn session_row(conn: &Connection, session_uid: &str) -> Result<Option<SessionRow>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.interactive_prompt_id, u.sub, u.given_name, u.id, u.picture
         FROM interactive_prompt_sessions s JOIN users u ON u.id = s.user_id WHERE s.uid = $1",
    )?;
    Ok(stmt
        .query_row(params![session_uid], |r| {
            Ok(SessionRow {
                id: r.get(0)?,
                owner: SessionOwner {
                    prompt_id: r.get(1)?,
                    user_sub: r.get(2)?,
                },
                user: CachedUser {
                    id: r.get(4)?,
                    name: r.get(3)?,
                    picture: r.get(5)?,
                },
            })
        })
        .optional()?)
}

fn session_state(conn: &Connection, session_id: i64) -> Result<SessionState, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT evtype, data, prompt_time FROM interactive_prompt_events
         WHERE interactive_prompt_session_id = $1 ORDER BY prompt_time, id",
    )?;
    let mut rows = stmt.query(params![session_id])?;
    let mut state = SessionState::default();
    while let Some(row) = rows.next()? {
        let (evtype, data): (String, String) = (row.get(0)?, row.get(1)?);
        state.apply(reads::decode_kind(&evtype, &data)?, row.get(2)?);
    }
    Ok(state)
}

/// Checks an event against the rules and stores it if accepted, adding its
/// aggregate deltas to the job's (flushed by the writer before commit).
/// The prompt, the session and its state come from the writer's caches,
/// so an accepted event costs one insert.
pub fn append_event(
    conn: &Connection,
    ctx: &mut JobCtx<'_>,
    ev: &NewEvent,
) -> Result<Result<StoredEvent, Violation>, StorageError> {
    let prompt = prompt_by_uid(conn, ctx, &ev.prompt_uid)?;
    let session = session(conn, ctx, &ev.session_uid)?;
    let accepted = match rules::check(prompt, session, &ev.user_sub, ev.kind, ev.prompt_time) {
        Ok(accepted) => accepted,
        Err(v) => return Ok(Err(v)),
    };
    let session_id = accepted.session.id;
    let joined = accepted.session.state.joined_at;
    let Accepted {
        prompt, effects, ..
    } = accepted;
    // Everything that can fail comes before the insert: this job runs
    // without a savepoint (see `Writer::run_single_write`).
    let (name, picture): (Option<String>, Option<String>) = match ctx.cache.users.get(&ev.user_sub)
    {
        Some(user) => (user.name.clone(), user.picture.clone()),
        None => conn
            .prepare_cached("SELECT given_name, picture FROM users WHERE sub = $1")?
            .query_row(params![ev.user_sub], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .unwrap_or_default(),
    };
    let event_uid = uid::event();
    let created_at = now();
    let data = ev.kind.stored_data().to_string();
    conn.prepare_cached(
        "INSERT INTO interactive_prompt_events(uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )?
    .execute(params![event_uid, session_id, ev.kind.event_type().as_str(), data, ev.prompt_time, created_at, prompt.id])?;
    if let Some(session) = ctx.cache.sessions.get_mut(&ev.session_uid) {
        session.state.apply(ev.kind, ev.prompt_time);
    }
    ctx.agg.add(prompt.id, &effects);
    let presence = presence::write_for(ev.kind, ev.prompt_time, joined, prompt.duration_seconds);
    if let Some(write) = presence {
        ctx.agg.add_presence(session_id, prompt.id, write);
    }

    Ok(Ok(StoredEvent::new(
        event_uid,
        ev.user_sub.clone(),
        ev.session_uid.clone(),
        prompt.uid,
        ev.kind,
        Shown {
            name: name.as_deref(),
            picture: picture.as_deref(),
        },
        ev.prompt_time,
        created_at,
    )))
}

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
    flush(conn, &pending)
}

/// Writes merged aggregate deltas (inside the open transaction).
pub fn flush(conn: &Connection, agg: &PendingAggregates) -> Result<(), StorageError> {
    use crate::storage::schema::{UPSERT_COUNT, UPSERT_FENWICK_NULL, UPSERT_FENWICK_VALUED};
    if agg.is_empty() {
        return Ok(());
    }
    let mut valued = conn.prepare_cached(UPSERT_FENWICK_VALUED)?;
    let mut null = conn.prepare_cached(UPSERT_FENWICK_NULL)?;
    for (prompt_id, category, idx, delta) in agg.fenwick_rows() {
        match category.value() {
            Some(v) => {
                valued.execute(rusqlite::params![prompt_id, category.name(), v, idx, delta])?
            }
            None => null.execute(rusqlite::params![prompt_id, category.name(), idx, delta])?,
        };
    }
    let mut counts = conn.prepare_cached(UPSERT_COUNT)?;
    for (prompt_id, bucket, delta) in agg.count_rows() {
        counts.execute(rusqlite::params![prompt_id, bucket, delta])?;
    }
    let mut totals = conn.prepare_cached(crate::storage::migration5::UPSERT_TOTALS)?;
    for (prompt_id, sessions, events) in agg.total_rows() {
        totals.execute(rusqlite::params![prompt_id, sessions, events])?;
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
