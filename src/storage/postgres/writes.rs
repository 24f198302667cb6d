//! Writes on a PostgreSQL transaction.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};

use deadpool_postgres::GenericClient;

use super::reads;
use crate::domain::clock::now;
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::prompt::{Prompt, PromptRecord};
use crate::domain::rules::{self, Accepted, Session, SessionOwner, SessionState, Violation};
use crate::domain::uid;
use crate::domain::user::UserIdentity;
use crate::storage::aggregates::{PendingAggregates, PromptAggregates};
use crate::storage::rows::decode_kind;
use crate::storage::{StartedSession, StorageError};

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

/// A session to start: the prompt's uid and the user.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The prompt's uid.
    pub prompt_uid: String,
    /// The user taking it.
    pub user: UserIdentity,
}

/// Creates or refreshes each user, then starts a session of each live
/// prompt asked for (None: no such prompt, or deleted), inside one
/// transaction and in a fixed number of round trips. Users are upserted
/// in `sub` order (concurrent batches lock them in the same order); a user
/// named twice in the batch keeps the last name given.
pub async fn start_sessions(
    c: &impl GenericClient,
    asked: &[&NewSession],
) -> Result<Vec<Option<StartedSession>>, StorageError> {
    let mut prompts = prompts_of(c, asked.iter().map(|a| a.prompt_uid.as_str())).await?;
    prompts.retain(|_, p| p.as_ref().is_some_and(|p| p.deleted_at.is_none()));
    let live = asked
        .iter()
        .filter(|a| prompts.contains_key(a.prompt_uid.as_str()));
    let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
    for a in live {
        let name = names
            .entry(reads::text(&a.user.sub).into_owned())
            .or_default();
        if let Some(given) = &a.user.display_name {
            *name = Some(reads::text(given).into_owned());
        }
    }
    let mut user_ids = HashMap::with_capacity(names.len());
    if !names.is_empty() {
        let (subs, given): (Vec<String>, Vec<Option<String>>) = names.into_iter().unzip();
        let created_at = now();
        let upsert = c.prepare_cached(UPSERT_USERS).await?;
        let rows = c.query(&upsert, &[&subs, &given, &created_at]).await?;
        for r in &rows {
            user_ids.insert(r.get::<_, String>(0), r.get::<_, i64>(1));
        }
    }
    let (mut prompt_ids, mut users, mut uids) = (Vec::new(), Vec::new(), Vec::new());
    let started = asked
        .iter()
        .map(|a| {
            let prompt = prompts.get(a.prompt_uid.as_str())?.clone()?;
            let session_uid = uid::generate(uid::SESSION);
            prompt_ids.push(prompt.id);
            users.push(user_ids[reads::text(&a.user.sub).as_ref()]);
            uids.push(session_uid.clone());
            Some(StartedSession {
                prompt,
                session_uid,
            })
        })
        .collect();
    if !uids.is_empty() {
        let insert = c.prepare_cached(INSERT_SESSIONS).await?;
        c.execute(&insert, &[&prompt_ids, &users, &uids]).await?;
    }
    Ok(started)
}

/// The prompts of a batch by uid, each read once (None: no such prompt;
/// deleted ones included).
async fn prompts_of<'a>(
    c: &impl GenericClient,
    uids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<&'a str, Option<PromptRecord>>, StorageError> {
    let mut prompts = HashMap::new();
    for uid in uids {
        if !prompts.contains_key(uid) {
            prompts.insert(uid, reads::prompt_by_uid(c, uid).await?);
        }
    }
    Ok(prompts)
}

/// A locked session of a batch, with its owner's display name; its state
/// is updated as the batch's events are accepted.
struct LockedSession {
    session: Session,
    display_name: Option<String>,
}

impl Borrow<Session> for &mut LockedSession {
    fn borrow(&self) -> &Session {
        &self.session
    }
}

/// Checks each event against the rules, in order, and stores those
/// accepted with their merged aggregate updates, inside one transaction.
///
/// Every session row of the batch is locked first (`FOR UPDATE`, in uid
/// order), so requests on one session serialize across processes, and
/// batches cannot deadlock one another: each locks its sessions in the same
/// order, then its aggregate rows in the same order. Rules see the events
/// of the batch before them, exactly as if each had committed alone. The
/// batch costs a fixed number of round trips, whatever its size.
pub async fn append_events(
    c: &impl GenericClient,
    events: &[&NewEvent],
) -> Result<Vec<Result<StoredEvent, Violation>>, StorageError> {
    let prompts = prompts_of(c, events.iter().map(|e| e.prompt_uid.as_str())).await?;
    let mut sessions = lock_sessions(c, events).await?;
    let mut pending = PendingAggregates::default();
    let mut rows = EventRows::default();
    let mut results = Vec::with_capacity(events.len());
    for ev in events {
        let prompt = prompts[ev.prompt_uid.as_str()].as_ref();
        let session = sessions.get_mut(ev.session_uid.as_str());
        let Accepted {
            prompt,
            session,
            effects,
        } = match rules::check(prompt, session, &ev.user_sub, ev.kind, ev.prompt_time) {
            Ok(accepted) => accepted,
            Err(v) => {
                results.push(Err(v));
                continue;
            }
        };
        session.session.state.apply(ev.kind, ev.prompt_time);
        pending.add(prompt.id, &effects);
        let stored = StoredEvent::new(
            uid::generate(uid::EVENT),
            ev.user_sub.clone(),
            ev.session_uid.clone(),
            prompt.uid.clone(),
            ev.kind,
            session.display_name.as_deref(),
            ev.prompt_time,
            now(),
        );
        rows.push(&stored, session.session.id, ev);
        results.push(Ok(stored));
    }
    if !rows.uid.is_empty() {
        let insert = c.prepare_cached(INSERT_EVENTS).await?;
        c.execute(
            &insert,
            &[
                &rows.uid,
                &rows.session_id,
                &rows.evtype,
                &rows.data,
                &rows.prompt_time,
                &rows.created_at,
            ],
        )
        .await?;
        flush(c, &pending).await?;
    }
    Ok(results)
}

/// Locks the batch's sessions in uid order and reads their states.
async fn lock_sessions(
    c: &impl GenericClient,
    events: &[&NewEvent],
) -> Result<HashMap<String, LockedSession>, StorageError> {
    let mut uids: Vec<String> = events
        .iter()
        .map(|e| reads::text(&e.session_uid).into_owned())
        .collect();
    uids.sort_unstable();
    uids.dedup();
    let lock = c.prepare_cached(LOCK_SESSIONS).await?;
    let locked = c.query(&lock, &[&uids]).await?;
    let mut sessions: HashMap<String, LockedSession> = HashMap::with_capacity(locked.len());
    let mut by_id = HashMap::with_capacity(locked.len());
    for r in &locked {
        let uid: String = r.get(0);
        by_id.insert(r.get::<_, i64>(1), uid.clone());
        let session = LockedSession {
            session: Session {
                id: r.get(1),
                owner: SessionOwner {
                    prompt_id: r.get(2),
                    user_sub: r.get(3),
                },
                state: SessionState::default(),
            },
            display_name: r.get(4),
        };
        sessions.insert(uid, session);
    }
    let ids: Vec<i64> = by_id.keys().copied().collect();
    let select = c.prepare_cached(SESSION_HISTORIES).await?;
    let history = c.query(&select, &[&ids]).await?;
    for r in &history {
        let session = &by_id[&r.get::<_, i64>(0)];
        let kind = decode_kind(r.get::<_, &str>(1), r.get::<_, &str>(2))?;
        let state = &mut sessions
            .get_mut(session)
            .expect("locked above")
            .session
            .state;
        state.apply(kind, r.get(3));
    }
    Ok(sessions)
}

/// Accepted events as column arrays, for one `UNNEST` insert.
#[derive(Default)]
struct EventRows {
    uid: Vec<String>,
    session_id: Vec<i64>,
    evtype: Vec<&'static str>,
    data: Vec<String>,
    prompt_time: Vec<f64>,
    created_at: Vec<f64>,
}

impl EventRows {
    fn push(&mut self, stored: &StoredEvent, session_id: i64, ev: &NewEvent) {
        self.uid.push(stored.uid.clone());
        self.session_id.push(session_id);
        self.evtype.push(ev.kind.event_type().as_str());
        self.data.push(ev.kind.stored_data().to_string());
        self.prompt_time.push(ev.prompt_time);
        self.created_at.push(stored.created_at);
    }
}

/// Writes aggregate deltas: one `UNNEST` upsert per kind of row, each in a
/// stable row order (so concurrent transactions lock rows in the same
/// order and never deadlock one another).
pub async fn flush(c: &impl GenericClient, agg: &PendingAggregates) -> Result<(), StorageError> {
    let (mut valued, mut null) = (FenwickColumns::default(), FenwickColumns::default());
    for (prompt_id, category, idx, delta) in agg.fenwick_rows() {
        let columns = if category.value().is_some() {
            &mut valued
        } else {
            &mut null
        };
        columns.prompt_id.push(prompt_id);
        columns.category.push(category.name());
        columns.value.extend(category.value());
        columns.idx.push(i64::from(idx));
        columns.delta.push(delta);
    }
    if !valued.prompt_id.is_empty() {
        let FenwickColumns {
            prompt_id,
            category,
            value,
            idx,
            delta,
        } = &valued;
        let upsert = c.prepare_cached(UPSERT_FENWICK_VALUED_ROWS).await?;
        c.execute(&upsert, &[prompt_id, category, value, idx, delta])
            .await?;
    }
    if !null.prompt_id.is_empty() {
        let FenwickColumns {
            prompt_id,
            category,
            idx,
            delta,
            ..
        } = &null;
        let upsert = c.prepare_cached(UPSERT_FENWICK_NULL_ROWS).await?;
        c.execute(&upsert, &[prompt_id, category, idx, delta])
            .await?;
    }
    let counts = agg.count_rows();
    if !counts.is_empty() {
        let columns: (Vec<i64>, Vec<i64>, Vec<i64>) = (
            counts.iter().map(|r| r.0).collect(),
            counts.iter().map(|r| r.1).collect(),
            counts.iter().map(|r| r.2).collect(),
        );
        let upsert = c.prepare_cached(UPSERT_COUNT_ROWS).await?;
        c.execute(&upsert, &[&columns.0, &columns.1, &columns.2])
            .await?;
    }
    Ok(())
}

/// Fenwick rows as column arrays, for one `UNNEST` upsert.
#[derive(Default)]
struct FenwickColumns {
    prompt_id: Vec<i64>,
    category: Vec<&'static str>,
    /// Empty for the rows whose `category_value` is null.
    value: Vec<i64>,
    idx: Vec<i64>,
    delta: Vec<i64>,
}

/// [`UPSERT_FENWICK_VALUED`](crate::storage::schema::UPSERT_FENWICK_VALUED)
/// for many rows at once (column arrays, in order).
const UPSERT_FENWICK_VALUED_ROWS: &str = "INSERT INTO interactive_prompt_event_fenwick_trees
    (interactive_prompt_id, category, category_value, idx, val)
    SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::int8[])
    ON CONFLICT (interactive_prompt_id, category, category_value, idx)
    DO UPDATE SET val = interactive_prompt_event_fenwick_trees.val + excluded.val";

/// The same for rows whose `category_value` is null.
const UPSERT_FENWICK_NULL_ROWS: &str = "INSERT INTO interactive_prompt_event_fenwick_trees
    (interactive_prompt_id, category, category_value, idx, val)
    SELECT p, c, NULL, i, v FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int8[]) AS t(p, c, i, v)
    ON CONFLICT (interactive_prompt_id, category, idx) WHERE category_value IS NULL
    DO UPDATE SET val = interactive_prompt_event_fenwick_trees.val + excluded.val";

/// The same for one-second count rows.
const UPSERT_COUNT_ROWS: &str = "INSERT INTO interactive_prompt_event_counts
    (interactive_prompt_id, bucket, total)
    SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[])
    ON CONFLICT (interactive_prompt_id, bucket)
    DO UPDATE SET total = interactive_prompt_event_counts.total + excluded.total";

/// Creates or renames a batch's users (column arrays `sub`, `given_name`),
/// returning each `sub` with its row id.
const UPSERT_USERS: &str = "INSERT INTO users(sub, given_name, created_at)
    SELECT s, g, $3 FROM UNNEST($1::text[], $2::text[]) AS t(s, g)
    ON CONFLICT (sub) DO UPDATE SET given_name = COALESCE(excluded.given_name, users.given_name)
    RETURNING sub, id";

/// Inserts a batch's sessions (column arrays).
const INSERT_SESSIONS: &str =
    "INSERT INTO interactive_prompt_sessions(interactive_prompt_id, user_id, uid)
    SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[])";

/// Locks sessions by uid, in uid order, with their owners.
const LOCK_SESSIONS: &str = "SELECT s.uid, s.id, s.interactive_prompt_id, u.sub, u.given_name
    FROM interactive_prompt_sessions s JOIN users u ON u.id = s.user_id
    WHERE s.uid = ANY($1) ORDER BY s.uid FOR UPDATE OF s";

/// Every event of the given sessions, in the order the rules replay them.
const SESSION_HISTORIES: &str = "SELECT interactive_prompt_session_id, evtype, data, prompt_time
    FROM interactive_prompt_events
    WHERE interactive_prompt_session_id = ANY($1) ORDER BY interactive_prompt_session_id, prompt_time, id";

/// Inserts a batch's accepted events (column arrays).
const INSERT_EVENTS: &str = "INSERT INTO interactive_prompt_events(uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at)
    SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::float8[], $6::float8[])";

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
