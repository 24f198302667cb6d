//! Erasing a user on PostgreSQL, in one transaction that takes the locks
//! the ingest path takes ([`crate::storage::erasure`] has the steps and
//! why they cannot interleave with a batch).

use deadpool_postgres::GenericClient;

use super::reads::text;
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;
use crate::storage::erasure::{self, Erasure, UserSession};
use crate::storage::rows::decode_kind;

/// Erases the user `sub` inside the open transaction `c`, writing the
/// aggregate corrections; returns what was removed and the deltas written
/// (for this process's stats cache), or `None` when there is no such user.
pub async fn erase_user(
    c: &impl GenericClient,
    sub: &str,
) -> Result<Option<(Erasure, PendingAggregates)>, StorageError> {
    let user = format!("{} FOR UPDATE", erasure::USER_ID);
    let Some(row) = c.query_opt(&user, &[&text(sub)]).await? else {
        return Ok(None);
    };
    let user_id: i64 = row.get(0);
    let lock_sessions = format!("{} FOR UPDATE OF s", erasure::USER_SESSIONS);
    let sessions: Vec<UserSession> = c
        .query(&lock_sessions, &[&user_id])
        .await?
        .iter()
        .map(|r| UserSession {
            id: r.get(0),
            uid: r.get(1),
            prompt_id: r.get(2),
            prompt_uid: r.get(3),
            duration_seconds: r.get(4),
        })
        .collect();
    // Read after the locks: every batch that held one of these sessions
    // has committed, and no other can add to them now.
    let events = c
        .query(erasure::USER_EVENTS, &[&user_id])
        .await?
        .iter()
        .map(|r| {
            let kind = decode_kind(r.get::<_, &str>(1), r.get::<_, &str>(2))?;
            Ok((r.get(0), kind, r.get(3)))
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    c.execute(erasure::DELETE_EVENTS, &[&user_id]).await?;
    c.execute(erasure::DELETE_SESSIONS, &[&user_id]).await?;
    c.execute(erasure::DELETE_USER, &[&user_id]).await?;
    let pending = erasure::take_back(&sessions, &events);
    super::writes::flush(c, &pending).await?;
    let erased = Erasure {
        sub: sub.to_owned(),
        sessions: sessions.len() as i64,
        events: events.len() as i64,
        prompt_uids: erasure::prompt_uids(&sessions),
    };
    Ok(Some((erased, pending)))
}

impl super::PostgresStore {
    /// See [`crate::storage::Store::erase_user`]: one transaction on a
    /// pooled connection, tried again while PostgreSQL reports a deadlock
    /// or serialization failure. This process's cached figures of the
    /// user's prompts take the corrections before the answer (other
    /// processes' within the staleness bound).
    pub async fn erase_user(&self, sub: &str) -> Result<Option<Erasure>, StorageError> {
        super::retrying("erase_user", || self.erase_once(sub)).await
    }

    async fn erase_once(&self, sub: &str) -> Result<Option<Erasure>, StorageError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some((erased, pending)) = erase_user(&tx, sub).await? else {
            return Ok(None);
        };
        let writing = self.cache.begin(&pending);
        let committed = tx.commit().await.map_err(StorageError::from);
        writing.end(committed.is_ok());
        committed?;
        Ok(Some(erased))
    }
}
