//! Erasing a user (docs/api.md, "Data ownership"), shared by the engines:
//! the statements, and the aggregate deltas that take back everything the
//! user's sessions contributed.
//!
//! Each engine runs the same steps in one transaction: find the user,
//! read their sessions and those sessions' events, delete the events, the
//! sessions and the user, and write [`take_back`]'s deltas with the same
//! flush as the event path. On PostgreSQL the user row and the session
//! rows are locked first (`FOR UPDATE`, sessions in uid order, as every
//! event batch locks them), so a concurrent batch on one of the sessions
//! either commits before the erasure reads the events (and is erased with
//! them) or finds the session gone (409 `session_not_found`); a session
//! start for the same `sub` waits for the user row and then creates a new
//! user.

use std::collections::HashMap;

use crate::domain::aggregates::session_effects;
use crate::domain::event::EventKind;
use crate::storage::aggregates::PendingAggregates;

/// What an erasure removed (the `200` of `DELETE /api/1/users/{sub}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Erasure {
    /// The user's `sub`.
    pub sub: String,
    /// Sessions removed, with or without events.
    pub sessions: i64,
    /// Events removed.
    pub events: i64,
    /// The uids of the prompts those sessions took, each once: whose
    /// cached figures and replay buckets must not be served again.
    pub prompt_uids: Vec<String>,
}

/// One session of the user being erased, with its prompt.
#[derive(Debug, Clone)]
pub struct UserSession {
    /// The session's row id.
    pub id: i64,
    /// The session's uid.
    pub uid: String,
    /// The prompt's row id.
    pub prompt_id: i64,
    /// The prompt's uid.
    pub prompt_uid: String,
    /// The prompt's duration, which decides the bins.
    pub duration_seconds: i64,
}

/// The user's row id by `sub` (PostgreSQL appends `FOR UPDATE`).
pub const USER_ID: &str = "SELECT id FROM users WHERE sub = $1";

/// The user's sessions with their prompts, in uid order (PostgreSQL
/// appends `FOR UPDATE OF s`): columns in [`UserSession`]'s order.
pub const USER_SESSIONS: &str =
    "SELECT s.id, s.uid, s.interactive_prompt_id, p.uid, p.duration_seconds
    FROM interactive_prompt_sessions s JOIN interactive_prompts p ON p.id = s.interactive_prompt_id
    WHERE s.user_id = $1 ORDER BY s.uid";

/// The events of the user's sessions, grouped by session in acceptance
/// order (as `chorus check` replays them): `(session id, evtype, data,
/// prompt time)`.
pub const USER_EVENTS: &str =
    "SELECT e.interactive_prompt_session_id, e.evtype, e.data, e.prompt_time
    FROM interactive_prompt_events e
    JOIN interactive_prompt_sessions s ON s.id = e.interactive_prompt_session_id
    WHERE s.user_id = $1 ORDER BY e.interactive_prompt_session_id, e.prompt_time, e.id";

/// Deletes the events of the user's sessions.
pub const DELETE_EVENTS: &str = "DELETE FROM interactive_prompt_events
    WHERE interactive_prompt_session_id IN (SELECT id FROM interactive_prompt_sessions WHERE user_id = $1)";

/// Deletes the user's sessions.
pub const DELETE_SESSIONS: &str = "DELETE FROM interactive_prompt_sessions WHERE user_id = $1";

/// Deletes the user.
pub const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";

/// The deltas that take back everything `sessions` contributed: each
/// event's Fenwick updates and count (replayed per session, so answer
/// replacement and a press taken back at leave come out as they went in),
/// and the prompts' session and event totals. `events` are `(session id,
/// kind, prompt time)` grouped by session in acceptance order.
pub fn take_back(sessions: &[UserSession], events: &[(i64, EventKind, f64)]) -> PendingAggregates {
    let by_id: HashMap<i64, &UserSession> = sessions.iter().map(|s| (s.id, s)).collect();
    let mut pending = PendingAggregates::default();
    for s in sessions {
        pending.add_sessions(s.prompt_id, -1);
    }
    for run in events.chunk_by(|a, b| a.0 == b.0) {
        let Some(session) = by_id.get(&run[0].0) else {
            continue;
        };
        let replayed = run.iter().map(|&(_, kind, t)| (kind, t));
        for fx in session_effects(session.duration_seconds, replayed) {
            pending.remove(session.prompt_id, &fx);
        }
    }
    pending
}

/// The prompts of `sessions`, each once, in first-seen order.
pub fn prompt_uids(sessions: &[UserSession]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sessions {
        if !out.contains(&s.prompt_uid) {
            out.push(s.prompt_uid.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::aggregates::expected_aggregates;

    fn session(id: i64) -> UserSession {
        UserSession {
            id,
            uid: format!("ips_{id}"),
            prompt_id: 7,
            prompt_uid: "ip_x".into(),
            duration_seconds: 60,
        }
    }

    #[test]
    fn taking_back_sessions_leaves_the_rows_of_the_others() {
        use EventKind::*;
        // Session 1 stays; sessions 2 and 3 are erased: 2 replaces its
        // answer, then leaves; 3 leaves while pressing (its leave took the
        // press back). The rules' style checks do not matter here.
        let kept = vec![
            (1, Join, 0.0),
            (1, Numeric { rating: 7 }, 2.5),
            (1, Like, 3.0),
        ];
        let erased = vec![
            (2, Join, 0.5),
            (2, Numeric { rating: 7 }, 1.0),
            (2, Numeric { rating: 4 }, 10.0),
            (2, Leave, 60.0),
            (3, Join, 1.0),
            (3, PressStart, 2.0),
            (3, Like, 2.0),
            (3, Leave, 30.0),
        ];
        let all: Vec<_> = kept.iter().chain(&erased).copied().collect();
        let before = expected_aggregates(60, &all);
        let sessions = [session(2), session(3)];
        let pending = take_back(&sessions, &erased);
        let mut fenwick = before.fenwick.clone();
        for (&(_, category, idx), &delta) in &pending.fenwick {
            *fenwick.entry((category, idx)).or_default() += delta;
        }
        fenwick.retain(|_, v| *v != 0);
        let mut counts = before.counts.clone();
        for (&(_, bucket), &delta) in &pending.counts {
            *counts.entry(bucket).or_default() += delta;
        }
        counts.retain(|_, v| *v != 0);
        let after = expected_aggregates(60, &kept);
        assert_eq!(fenwick, after.fenwick);
        assert_eq!(counts, after.counts);
        assert_eq!(pending.total_rows(), vec![(7, -2, -8)]);
    }

    #[test]
    fn a_session_without_events_counts_and_prompts_are_listed_once() {
        let sessions = [session(1), session(2)];
        let pending = take_back(&sessions, &[]);
        assert_eq!(pending.total_rows(), vec![(7, -2, 0)]);
        assert!(pending.fenwick_rows().is_empty());
        assert_eq!(prompt_uids(&sessions), vec!["ip_x".to_owned()]);
    }
}
