//! Writes, run by the writer thread inside its open transaction.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::cache::CachedUser;
use super::job::JobCtx;
use super::reads;
use crate::domain::clock::now;
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::presence;
use crate::domain::prompt::{Prompt, PromptRecord};
use crate::domain::rules::{self, Accepted, Violation};
use crate::domain::session::{Session, SessionOwner, SessionState};
use crate::domain::uid;
use crate::domain::user::{Shown, UserIdentity};
use crate::storage::{StartedSession, StorageError};

/// Inserts a session (`$1` prompt id, `$2` user id, `$3` uid).
pub const INSERT_SESSION: &str = "INSERT INTO interactive_prompt_sessions(interactive_prompt_id, user_id, uid) VALUES ($1, $2, $3)";

/// Inserts an event (`$1` uid, `$2` session id, `$3` type, `$4` stored
/// data, `$5` prompt time, `$6` created at, `$7` prompt id).
pub const INSERT_EVENT: &str = "INSERT INTO interactive_prompt_events(uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

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
) -> Result<Option<Arc<PromptRecord>>, StorageError> {
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
) -> Result<Option<Arc<PromptRecord>>, StorageError> {
    let prompt = reads::prompt_by_uid(conn, uid)?.map(Arc::new);
    if let Some(p) = &prompt {
        ctx.hot.remember_prompt(p.clone());
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
    Ok(read_prompt(conn, ctx, uid)?.map(Arc::unwrap_or_clone))
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
        conn.prepare_cached(INSERT_SESSION)?
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
        prompt: Arc::unwrap_or_clone(prompt),
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

/// An accepted event as the writer stored it: what it added to the
/// posted event. The answer ([`Appended::into_stored`]) is built by the
/// caller, off the writer thread.
pub struct Appended {
    event: NewEvent,
    uid: String,
    created_at: f64,
    /// The user's display name, for the types whose data carries it.
    name: Option<String>,
    picture: Option<String>,
}

impl Appended {
    /// The stored event as it leaves the server.
    pub fn into_stored(self) -> StoredEvent {
        let Appended {
            event,
            uid,
            created_at,
            name,
            picture,
        } = self;
        let shown = Shown {
            name: name.as_deref(),
            picture: picture.as_deref(),
        };
        StoredEvent::new(
            uid,
            event.user_sub,
            event.session_uid,
            // The prompt was found by this uid.
            event.prompt_uid,
            event.kind,
            shown,
            event.prompt_time,
            created_at,
        )
    }
}

/// The writer's job for [`append_event`], with the event's stored data
/// serialized now, by the caller, so that the writer thread (the serial
/// part) need not.
pub fn append_job(
    ev: NewEvent,
) -> impl FnOnce(&Connection, &mut JobCtx<'_>) -> Result<Result<Appended, Violation>, StorageError>
+ Send
+ 'static {
    let data = ev.kind.stored_data().to_string();
    move |conn, ctx| append_event(conn, ctx, ev, &data)
}

/// Checks an event against the rules and stores it if accepted, adding its
/// aggregate deltas to the job's (flushed by the writer before commit).
/// The prompt, the session and its state come from the writer's caches,
/// so an accepted event costs one insert. `data` is the event's stored
/// data (`EventKind::stored_data`), serialized by the caller.
pub fn append_event(
    conn: &Connection,
    ctx: &mut JobCtx<'_>,
    ev: NewEvent,
    data: &str,
) -> Result<Result<Appended, Violation>, StorageError> {
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
    let (name, picture) = shown_user(conn, ctx, &ev)?;
    let event_uid = uid::event();
    let created_at = now();
    conn.prepare_cached(INSERT_EVENT)?.execute(params![
        event_uid,
        session_id,
        ev.kind.event_type().as_str(),
        data,
        ev.prompt_time,
        created_at,
        prompt.id
    ])?;
    if let Some(session) = ctx.cache.sessions.get_mut(&ev.session_uid) {
        session.state.apply(ev.kind, ev.prompt_time);
    }
    ctx.agg.add(prompt.id, &effects);
    let presence = presence::write_for(ev.kind, ev.prompt_time, joined, prompt.duration_seconds);
    if let Some(write) = presence {
        ctx.agg.add_presence(session_id, prompt.id, write);
    }
    Ok(Ok(Appended {
        event: ev,
        uid: event_uid,
        created_at,
        name,
        picture,
    }))
}

/// The poster's display name (only for the event types whose data carries
/// it) and picture, from the writer's cache or the database.
fn shown_user(
    conn: &Connection,
    ctx: &JobCtx<'_>,
    ev: &NewEvent,
) -> Result<(Option<String>, Option<String>), StorageError> {
    let (name, picture) = match ctx.cache.users.get(&ev.user_sub) {
        Some(user) => (user.name.as_ref(), user.picture.clone()),
        None => {
            return Ok(conn
                .prepare_cached("SELECT given_name, picture FROM users WHERE sub = $1")?
                .query_row(params![ev.user_sub], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .unwrap_or_default());
        }
    };
    let carries_name = ev.kind.event_type().carries_name();
    Ok((name.filter(|_| carries_name).cloned(), picture))
}
