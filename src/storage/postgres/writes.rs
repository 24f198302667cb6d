//! Writes on a PostgreSQL transaction.

use deadpool_postgres::GenericClient;

use super::reads;
use crate::domain::prompt::{Prompt, PromptRecord};
use crate::domain::rules::{self, SessionOwner, SessionState, Violation};
use crate::domain::uid;
use crate::storage::aggregates::{PendingAggregates, PromptAggregates};
use crate::storage::rows::decode_kind;
use crate::storage::schema::{UPSERT_COUNT, UPSERT_FENWICK_NULL, UPSERT_FENWICK_VALUED};
use crate::storage::{NewEvent, StartedSession, StorageError, StoredEvent, UserIdentity, now};

/// Inserts a prompt.
pub async fn create_prompt(
    c: &impl GenericClient,
    prompt: Prompt,
    duration_seconds: i64,
) -> Result<PromptRecord, StorageError> {
    let record = PromptRecord::unsaved(prompt, duration_seconds, now());
    let json = serde_json::to_string(&record.prompt).expect("prompts serialize");
    let row = c
        .query_one(
            "INSERT INTO interactive_prompts(uid, prompt, duration_seconds, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&record.uid, &json, &duration_seconds, &record.created_at],
        )
        .await?;
    Ok(PromptRecord {
        id: row.get(0),
        ..record
    })
}

/// Soft-deletes a prompt (idempotent).
pub async fn delete_prompt(
    c: &impl GenericClient,
    uid: &str,
) -> Result<Option<PromptRecord>, StorageError> {
    c.execute(
        "UPDATE interactive_prompts SET deleted_at = $1 WHERE uid = $2 AND deleted_at IS NULL",
        &[&now(), &reads::text(uid)],
    )
    .await?;
    reads::prompt_by_uid(c, uid).await
}

/// Creates or refreshes the user, then a session of a live prompt.
pub async fn start_session(
    c: &impl GenericClient,
    prompt_uid: &str,
    user: &UserIdentity,
) -> Result<Option<StartedSession>, StorageError> {
    let Some(prompt) = reads::prompt_by_uid(c, prompt_uid)
        .await?
        .filter(|p| p.deleted_at.is_none())
    else {
        return Ok(None);
    };
    let user_id: i64 = c
        .query_one(
            "INSERT INTO users(sub, given_name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (sub) DO UPDATE SET given_name = COALESCE(excluded.given_name, users.given_name)
             RETURNING id",
            &[&reads::text(&user.sub), &user.display_name.as_deref().map(reads::text), &now()],
        )
        .await?
        .get(0);
    let session_uid = uid::generate(uid::SESSION);
    c.execute(
        "INSERT INTO interactive_prompt_sessions(interactive_prompt_id, user_id, uid) VALUES ($1, $2, $3)",
        &[&prompt.id, &user_id, &session_uid],
    )
    .await?;
    Ok(Some(StartedSession {
        prompt,
        session_uid,
    }))
}

/// Checks an event against the rules and stores it with its aggregate
/// updates if accepted. The session row is locked first, so concurrent
/// requests on one session serialize, across processes too.
pub async fn append_event(
    c: &impl GenericClient,
    ev: &NewEvent,
) -> Result<Result<StoredEvent, Violation>, StorageError> {
    let prompt = reads::prompt_by_uid(c, &ev.prompt_uid).await?;
    let session = c
        .query_opt(
            "SELECT s.id, s.interactive_prompt_id, u.sub, u.given_name
             FROM interactive_prompt_sessions s JOIN users u ON u.id = s.user_id WHERE s.uid = $1 FOR UPDATE OF s",
            &[&reads::text(&ev.session_uid)],
        )
        .await?;
    let session = session.map(|r| {
        let owner = SessionOwner {
            prompt_id: r.get(1),
            user_sub: r.get(2),
        };
        (r.get::<_, i64>(0), owner, r.get::<_, Option<String>>(3))
    });
    let mut state = SessionState::default();
    if let Some((id, _, _)) = &session {
        let rows = c
            .query(
                "SELECT evtype, data, prompt_time FROM interactive_prompt_events
                 WHERE interactive_prompt_session_id = $1 ORDER BY prompt_time, id",
                &[id],
            )
            .await?;
        for r in &rows {
            state.apply(
                decode_kind(r.get::<_, &str>(0), r.get::<_, &str>(1))?,
                r.get(2),
            );
        }
    }
    let checked = rules::check(
        prompt.as_ref(),
        session.as_ref().map(|(_, o, _)| (o, &state)),
        &ev.user_sub,
        ev.kind,
        ev.prompt_time,
    );
    let effects = match checked {
        Ok(fx) => fx,
        Err(v) => return Ok(Err(v)),
    };
    let (prompt, (session_id, _, display_name)) =
        (prompt.expect("checked"), session.expect("checked"));
    let event_uid = uid::generate(uid::EVENT);
    let created_at = now();
    let data = ev.kind.stored_data().to_string();
    c.execute(
        "INSERT INTO interactive_prompt_events(uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&event_uid, &session_id, &ev.kind.event_type().as_str(), &data, &ev.prompt_time, &created_at],
    )
    .await?;
    let mut pending = PendingAggregates::default();
    pending.add(prompt.id, &effects);
    flush(c, &pending).await?;
    Ok(Ok(StoredEvent::new(
        event_uid,
        ev.user_sub.clone(),
        ev.session_uid.clone(),
        prompt.uid,
        ev.kind,
        display_name.as_deref(),
        ev.prompt_time,
        created_at,
    )))
}

/// Writes aggregate deltas, rows in a stable order (no deadlocks between
/// concurrent transactions).
pub async fn flush(c: &impl GenericClient, agg: &PendingAggregates) -> Result<(), StorageError> {
    let (valued, null, counts) = (
        c.prepare_cached(UPSERT_FENWICK_VALUED).await?,
        c.prepare_cached(UPSERT_FENWICK_NULL).await?,
        c.prepare_cached(UPSERT_COUNT).await?,
    );
    for (prompt_id, category, idx, delta) in agg.fenwick_rows() {
        let idx = i64::from(idx);
        match category.value() {
            Some(v) => {
                c.execute(&valued, &[&prompt_id, &category.name(), &v, &idx, &delta])
                    .await?
            }
            None => {
                c.execute(&null, &[&prompt_id, &category.name(), &idx, &delta])
                    .await?
            }
        };
    }
    for (prompt_id, bucket, delta) in agg.count_rows() {
        c.execute(&counts, &[&prompt_id, &bucket, &delta]).await?;
    }
    Ok(())
}

/// Replaces a prompt's aggregate rows with `expected`.
pub async fn replace_aggregates(
    c: &impl GenericClient,
    prompt_id: i64,
    expected: &PromptAggregates,
) -> Result<(), StorageError> {
    c.execute(
        "DELETE FROM interactive_prompt_event_fenwick_trees WHERE interactive_prompt_id = $1",
        &[&prompt_id],
    )
    .await?;
    c.execute(
        "DELETE FROM interactive_prompt_event_counts WHERE interactive_prompt_id = $1",
        &[&prompt_id],
    )
    .await?;
    let pending = PendingAggregates::from_rows(prompt_id, expected);
    flush(c, &pending).await
}
