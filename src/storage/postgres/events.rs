//! Appending events, in batches: every session of the batch locked, each
//! event checked against the rules as if it had committed alone, the
//! accepted ones inserted with their merged aggregate updates — in two
//! round trips whatever the batch's size: the reads (sent with the
//! `BEGIN`), then the writes (sent with the `COMMIT`).

use std::borrow::Borrow;
use std::collections::HashMap;

use deadpool_postgres::{Client, GenericClient};
use futures::future::try_join3;
use tokio_postgres::Statement;

use super::batch::Sent;
use super::presence::{PresenceColumns, PresenceStatements};
use super::reads;
use super::writes::{AggregateColumns, UpsertStatements};
use crate::domain::clock::now;
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::presence;
use crate::domain::prompt::PromptRecord;
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

/// The statements of an events batch, prepared once per connection, so
/// that every later statement is sent at once without a round trip of its
/// own.
pub struct EventStatements {
    prompts: Statement,
    lock: Statement,
    histories: Statement,
    insert: Statement,
    presence: PresenceStatements,
    upserts: UpsertStatements,
}

impl EventStatements {
    /// Prepares them on `c` (a cache lookup after the first time).
    pub async fn prepare(c: &Client) -> Result<Self, StorageError> {
        Ok(EventStatements {
            prompts: c.prepare_cached(&reads::prompts_by_uids_sql()).await?,
            lock: c.prepare_cached(LOCK_SESSIONS).await?,
            histories: c.prepare_cached(SESSION_HISTORIES).await?,
            insert: c.prepare_cached(INSERT_EVENTS).await?,
            presence: PresenceStatements::prepare(c).await?,
            upserts: UpsertStatements::prepare(c).await?,
        })
    }
}

/// What a batch decided, its reads done: what each request gets, the
/// aggregate deltas, and the rows left to write.
pub struct Decided {
    /// Each event's outcome, in the batch's order.
    pub results: Vec<Result<StoredEvent, Violation>>,
    /// The merged aggregate deltas of the accepted events.
    pub pending: PendingAggregates,
    rows: EventRows,
    presence: PresenceColumns,
    upserts: AggregateColumns,
}

/// Reads what the rules need and checks each event against them, in
/// order, inside the open transaction: the batch's prompts, its sessions
/// locked (`FOR UPDATE`, in uid order, so requests on one session
/// serialize across processes) and their histories read after the lock,
/// all three statements sent at the first poll (pipelined: one round trip,
/// behind the `BEGIN` if it was sent just before). Rules see the events of
/// the batch before them, exactly as if each had committed alone.
pub async fn decide(
    c: &Client,
    s: &EventStatements,
    events: &[&NewEvent],
) -> Result<Decided, StorageError> {
    let mut prompt_uids: Vec<String> = events
        .iter()
        .map(|e| reads::text(&e.prompt_uid).into_owned())
        .collect();
    prompt_uids.sort_unstable();
    prompt_uids.dedup();
    let mut session_uids: Vec<String> = events
        .iter()
        .map(|e| reads::text(&e.session_uid).into_owned())
        .collect();
    session_uids.sort_unstable();
    session_uids.dedup();
    let (prompt_rows, locked, history) = try_join3(
        c.query(&s.prompts, &[&prompt_uids]),
        c.query(&s.lock, &[&session_uids]),
        c.query(&s.histories, &[&session_uids]),
    )
    .await?;
    let mut prompts: HashMap<String, PromptRecord> = HashMap::with_capacity(prompt_rows.len());
    for r in &prompt_rows {
        let prompt = reads::prompt_from_row(r)?;
        prompts.insert(prompt.uid.clone(), prompt);
    }
    let mut sessions = locked_sessions(&locked, &history)?;
    let mut pending = PendingAggregates::default();
    let mut rows = EventRows::default();
    let mut results = Vec::with_capacity(events.len());
    for ev in events {
        let prompt = prompts.get(reads::text(&ev.prompt_uid).as_ref());
        let session = sessions.get_mut(reads::text(&ev.session_uid).as_ref());
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
    Ok(Decided {
        results,
        presence: PresenceColumns::of(&pending),
        upserts: AggregateColumns::of(&pending),
        pending,
        rows,
    })
}

/// Sends the batch's writes at once (pipelined), each after the one
/// before it: the events, their sessions' presence rows, then the
/// aggregate upserts last, in the order every transaction locks them, so
/// that the hot rows (a prompt's top Fenwick rows, its totals) are held
/// only from their upsert to the `COMMIT` sent right behind them.
pub fn write<'a>(c: &'a Client, s: &'a EventStatements, d: &'a Decided) -> Vec<Sent<'a>> {
    let mut sent: Vec<Sent<'a>> = Vec::new();
    if d.rows.uid.is_empty() {
        return sent;
    }
    let r = &d.rows;
    let insert: super::params::Params<'a> = vec![
        &r.uid,
        &r.session_id,
        &r.evtype,
        &r.data,
        &r.prompt_time,
        &r.created_at,
        &r.prompt_id,
    ];
    let statements = std::iter::once((&s.insert, insert))
        .chain(d.presence.writes(&s.presence))
        .chain(d.upserts.upserts(&s.upserts));
    for (statement, params) in statements {
        sent.push(Box::pin(c.execute_raw(statement, params)));
    }
    sent
}

/// The batch's sessions, as locked, with their states replayed from their
/// histories.
fn locked_sessions(
    locked: &[tokio_postgres::Row],
    history: &[tokio_postgres::Row],
) -> Result<HashMap<String, LockedSession>, StorageError> {
    let mut sessions: HashMap<String, LockedSession> = HashMap::with_capacity(locked.len());
    let mut by_id = HashMap::with_capacity(locked.len());
    for r in locked {
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
    for r in history {
        // Read after the lock: a session is in both (it cannot be deleted
        // while locked).
        let Some(session) = by_id.get(&r.get::<_, i64>(0)) else {
            continue;
        };
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

/// Every event of the sessions with the given uids, in the order the rules
/// replay them (a statement of its own, run after [`LOCK_SESSIONS`]: its
/// snapshot is taken once the locks are held, so it sees every event of
/// the batches that held them). Each session's events are looked up by
/// its id (a `LATERAL` subquery the planner cannot flatten), so the
/// per-session index serves them whatever the table's statistics say: as
/// a join over `ANY($1)`, a table not yet analysed (a fresh database
/// filling at thousands of events a second) was scanned whole by every
/// batch.
const SESSION_HISTORIES: &str = "SELECT s.id, e.evtype, e.data, e.prompt_time
    FROM UNNEST($1::text[]) AS u(uid)
    JOIN interactive_prompt_sessions s ON s.uid = u.uid
    CROSS JOIN LATERAL (SELECT evtype, data, prompt_time, id FROM interactive_prompt_events
        WHERE interactive_prompt_session_id = s.id ORDER BY prompt_time, id) e
    ORDER BY s.id, e.prompt_time, e.id";

/// Inserts a batch's accepted events (column arrays).
const INSERT_EVENTS: &str = "INSERT INTO interactive_prompt_events(uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
    SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::int8[])";
