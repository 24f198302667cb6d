//! Appending events, in batches: every session of the batch locked, each
//! event checked against the rules as if it had committed alone, the
//! accepted ones inserted with their merged aggregate updates.

use std::borrow::Borrow;
use std::collections::HashMap;

use deadpool_postgres::GenericClient;

use super::{reads, writes};
use crate::domain::clock::now;
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::presence;
use crate::domain::rules::{self, Accepted, Violation};
use crate::domain::session::{Session, SessionOwner, SessionState};
use crate::domain::uid;
use crate::domain::user::Shown;
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;
use crate::storage::rows::decode_kind;

/// A locked session of a batch, with its owner's display name and picture;
/// its state is updated as the batch's events are accepted.
struct LockedSession {
    session: Session,
    display_name: Option<String>,
    picture: Option<String>,
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
) -> Result<(Vec<Result<StoredEvent, Violation>>, PendingAggregates), StorageError> {
    let prompts = reads::prompts_of(c, events.iter().map(|e| e.prompt_uid.as_str())).await?;
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
        let joined = session.session.state.joined_at;
        let presence =
            presence::write_for(ev.kind, ev.prompt_time, joined, prompt.duration_seconds);
        if let Some(write) = presence {
            pending.add_presence(session.session.id, prompt.id, write);
        }
        session.session.state.apply(ev.kind, ev.prompt_time);
        pending.add(prompt.id, &effects);
        let stored = StoredEvent::new(
            uid::event(),
            ev.user_sub.clone(),
            ev.session_uid.clone(),
            prompt.uid.clone(),
            ev.kind,
            Shown {
                name: session.display_name.as_deref(),
                picture: session.picture.as_deref(),
            },
            ev.prompt_time,
            now(),
        );
        rows.push(&stored, &session.session, ev);
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
                &rows.prompt_id,
            ],
        )
        .await?;
        writes::flush(c, &pending).await?;
    }
    Ok((results, pending))
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
            picture: r.get(5),
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
    prompt_id: Vec<i64>,
}

impl EventRows {
    fn push(&mut self, stored: &StoredEvent, session: &Session, ev: &NewEvent) {
        self.uid.push(stored.uid.clone());
        self.session_id.push(session.id);
        self.prompt_id.push(session.owner.prompt_id);
        self.evtype.push(ev.kind.event_type().as_str());
        self.data.push(ev.kind.stored_data().to_string());
        self.prompt_time.push(ev.prompt_time);
        self.created_at.push(stored.created_at);
    }
}

/// Locks sessions by uid, in uid order, with their owners.
const LOCK_SESSIONS: &str =
    "SELECT s.uid, s.id, s.interactive_prompt_id, u.sub, u.given_name, u.picture
    FROM interactive_prompt_sessions s JOIN users u ON u.id = s.user_id
    WHERE s.uid = ANY($1) ORDER BY s.uid FOR UPDATE OF s";

/// Every event of the given sessions, in the order the rules replay them.
const SESSION_HISTORIES: &str = "SELECT interactive_prompt_session_id, evtype, data, prompt_time
    FROM interactive_prompt_events
    WHERE interactive_prompt_session_id = ANY($1) ORDER BY interactive_prompt_session_id, prompt_time, id";

/// Inserts a batch's accepted events (column arrays).
const INSERT_EVENTS: &str = "INSERT INTO interactive_prompt_events(uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
    SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::int8[])";
