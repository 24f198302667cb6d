//! Erasing a user on SQLite: one job of the writer thread, so it runs
//! between two requests and no event can interleave with it
//! ([`crate::storage::erasure`] has the steps).

use rusqlite::{Connection, OptionalExtension, params};

use super::job::JobCtx;
use crate::storage::StorageError;
use crate::storage::erasure::{self, Erasure, UserSession};
use crate::storage::rows::decode_kind;

/// Erases the user `sub` inside the writer's open transaction (run in the
/// job's own savepoint, so its deltas count only if every step succeeded);
/// `None` when there is no such user. The writer forgets the user and
/// their sessions, so a later event on one is refused
/// (`session_not_found`) and a later session start creates a new user.
pub fn erase_user(
    conn: &Connection,
    ctx: &mut JobCtx<'_>,
    sub: &str,
) -> Result<Option<Erasure>, StorageError> {
    let user_id: Option<i64> = conn
        .prepare_cached(erasure::USER_ID)?
        .query_row(params![sub], |r| r.get(0))
        .optional()?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let sessions = conn
        .prepare_cached(erasure::USER_SESSIONS)?
        .query_map(params![user_id], |r| {
            Ok(UserSession {
                id: r.get(0)?,
                uid: r.get(1)?,
                prompt_id: r.get(2)?,
                prompt_uid: r.get(3)?,
                duration_seconds: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut events = Vec::new();
    let mut stmt = conn.prepare_cached(erasure::USER_EVENTS)?;
    let mut rows = stmt.query(params![user_id])?;
    while let Some(row) = rows.next()? {
        let (evtype, data): (String, String) = (row.get(1)?, row.get(2)?);
        events.push((row.get(0)?, decode_kind(&evtype, &data)?, row.get(3)?));
    }
    conn.prepare_cached(erasure::DELETE_EVENTS)?
        .execute(params![user_id])?;
    conn.prepare_cached(erasure::DELETE_SESSIONS)?
        .execute(params![user_id])?;
    conn.prepare_cached(erasure::DELETE_USER)?
        .execute(params![user_id])?;
    ctx.agg.merge(erasure::take_back(&sessions, &events));
    for s in &sessions {
        ctx.cache.sessions.remove(&s.uid);
    }
    ctx.cache.users.remove(sub);
    Ok(Some(Erasure {
        sub: sub.to_owned(),
        sessions: sessions.len() as i64,
        events: events.len() as i64,
        prompt_uids: erasure::prompt_uids(&sessions),
    }))
}

impl super::SqliteStore {
    /// See [`crate::storage::Store::erase_user`]: one job of the writer,
    /// committed (and durable) before the answer; the kept Fenwick arrays
    /// take the group's corrections like any event's.
    pub async fn erase_user(&self, sub: &str) -> Result<Option<Erasure>, StorageError> {
        let sub = sub.to_owned();
        self.writer
            .run(move |c, ctx| erase_user(c, ctx, &sub))
            .await
    }
}
