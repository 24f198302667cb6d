//! The event rules (docs/rules.md, "The event rules"): whether a new
//! event is accepted, and if so what it changes in the aggregates.
//!
//! Every storage engine loads the prompt and the [`Session`] (its owner and
//! [`SessionState`]), then calls [`check`]; if the event is accepted, the
//! [`Accepted`] it returns holds what the engine needs to store it: the
//! prompt, the session, and the [`Effects`] on the aggregates. Keeping this
//! in one pure function is what makes both engines agree.

use std::borrow::Borrow;

use super::aggregates::{Effects, effects};
use super::event::{EventKind, EventType};
use super::prompt::{Prompt, PromptRecord};
use super::session::{Session, SessionState};

/// A rule that refused an event (docs/rules.md, "The event rules"), in rule order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// Rule 1: the prompt does not exist or is deleted.
    #[error("interactive prompt not found")]
    NotFound,
    /// Rule 2: the prompt time is outside `0 ..= duration`.
    #[error("prompt time is outside the prompt's duration")]
    ImpossiblePromptTime,
    /// Rule 3: no such session for this prompt and user.
    #[error("session not found for this prompt and user")]
    SessionNotFound,
    /// Rule 4: a join on a session that already has events.
    #[error("session has already started")]
    SessionAlreadyStarted,
    /// Rule 4: a non-join on a session without events.
    #[error("session has not started: join first")]
    SessionNotStarted,
    /// Rule 5: the session's last event is a leave.
    #[error("session has already ended")]
    SessionAlreadyEnded,
    /// Rule 6: the session has an event later than this one.
    #[error("session has an event at a later prompt time")]
    SessionHasLaterEvent,
    /// Rule 7: the session has an event of this type at this prompt time.
    #[error("session already has this event at this prompt time")]
    SessionHasSameEventAtSameTime,
    /// Rule 8: the event type does not suit the prompt's style.
    #[error("this event does not suit the prompt's style")]
    ImpossibleEvent,
    /// Rule 9: the event data does not suit the prompt.
    #[error("this event's data does not suit the prompt")]
    ImpossibleEventData,
}

/// An event the rules accepted: what its engine needs to store it.
#[derive(Debug)]
pub struct Accepted<P, S> {
    /// The event's prompt (as the engine holds it).
    pub prompt: P,
    /// The event's session (as the engine holds it); the engine folds the
    /// event into its state once the event is stored.
    pub session: S,
    /// What the event changes in the aggregates.
    pub effects: Effects,
}

/// Checks a new event against the event rules (docs/rules.md, "The event
/// rules"), returning the prompt, the session and the event's aggregate
/// effects (docs/rules.md, "Fenwick trees" and "Counts") if it is accepted. `prompt`
/// and `session` are those named by the request, if they exist at all;
/// the engine decides how it holds them (owned, borrowed, locked).
pub fn check<P: Borrow<PromptRecord>, S: Borrow<Session>>(
    prompt: Option<P>,
    session: Option<S>,
    user_sub: &str,
    kind: EventKind,
    t: f64,
) -> Result<Accepted<P, S>, Violation> {
    let prompt = prompt
        .filter(|p| p.borrow().deleted_at.is_none())
        .ok_or(Violation::NotFound)?;
    let record = prompt.borrow();
    if !(t.is_finite() && 0.0 <= t && t <= record.duration_seconds as f64) {
        return Err(Violation::ImpossiblePromptTime);
    }
    let session = session
        .filter(|s| {
            let owner = &s.borrow().owner;
            owner.prompt_id == record.id && owner.user_sub == user_sub
        })
        .ok_or(Violation::SessionNotFound)?;
    let effects = check_session(record, &session.borrow().state, kind, t)?;
    Ok(Accepted {
        prompt,
        session,
        effects,
    })
}

/// Rules 4–9, on a session that exists and belongs to the poster.
fn check_session(
    prompt: &PromptRecord,
    state: &SessionState,
    kind: EventKind,
    t: f64,
) -> Result<Effects, Violation> {
    let ty = kind.event_type();
    match (ty, state.events) {
        (EventType::Join, n) if n > 0 => return Err(Violation::SessionAlreadyStarted),
        (EventType::Join, _) => {}
        (_, 0) => return Err(Violation::SessionNotStarted),
        _ => {}
    }
    if state.last_type == Some(EventType::Leave) {
        return Err(Violation::SessionAlreadyEnded);
    }
    if state.events > 0 {
        if state.last_time > t {
            return Err(Violation::SessionHasLaterEvent);
        }
        if state.last_time == t && state.types_at_last_time.contains(&ty) {
            return Err(Violation::SessionHasSameEventAtSameTime);
        }
    }
    let suits = matches!(
        (kind, &prompt.prompt),
        (EventKind::Join | EventKind::Leave | EventKind::Like, _)
            | (EventKind::Numeric { .. }, Prompt::Numeric { .. })
            | (
                EventKind::PressStart | EventKind::PressEnd,
                Prompt::Press { .. }
            )
            | (EventKind::Color { .. }, Prompt::Color { .. })
            | (EventKind::Word { .. }, Prompt::Word { .. })
    );
    if !suits {
        return Err(Violation::ImpossibleEvent);
    }
    let data_ok = match (kind, &prompt.prompt) {
        (EventKind::Numeric { rating }, Prompt::Numeric { min, max, .. }) => {
            (*min..=*max).contains(&rating)
        }
        (EventKind::Color { index } | EventKind::Word { index }, p) => {
            index >= 0 && (index as u64) < p.choice_count().unwrap_or(0) as u64
        }
        (EventKind::PressStart, _) => !state.pressing,
        (EventKind::PressEnd, _) => state.pressing,
        _ => true,
    };
    if !data_ok {
        return Err(Violation::ImpossibleEventData);
    }
    Ok(effects(prompt.duration_seconds, state, kind, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::aggregates::Category;
    use crate::domain::session::SessionOwner;

    fn prompt(p: Prompt) -> PromptRecord {
        PromptRecord {
            id: 1,
            uid: "ip_x".into(),
            prompt: p,
            duration_seconds: 10,
            created_at: 0.0,
            deleted_at: None,
        }
    }

    fn press() -> PromptRecord {
        prompt(Prompt::Press {
            text: "hold".into(),
        })
    }

    fn owner() -> SessionOwner {
        SessionOwner {
            prompt_id: 1,
            user_sub: "u".into(),
        }
    }

    /// A session of prompt 1 by user `u` in `state`.
    fn session(state: &SessionState) -> Session {
        Session {
            id: 9,
            owner: owner(),
            state: state.clone(),
        }
    }

    /// The effects of an accepted event, or the violation.
    fn check(
        prompt: Option<&PromptRecord>,
        session: Option<&Session>,
        user_sub: &str,
        kind: EventKind,
        t: f64,
    ) -> Result<Effects, Violation> {
        super::check(prompt, session, user_sub, kind, t).map(|a| a.effects)
    }

    #[test]
    fn the_first_failing_rule_decides() {
        let p = press();
        let fresh = SessionState::default();
        assert_eq!(
            check(None, None, "u", EventKind::Join, 99.0),
            Err(Violation::NotFound)
        );
        assert_eq!(
            check(Some(&p), None, "u", EventKind::Join, 99.0),
            Err(Violation::ImpossiblePromptTime)
        );
        assert_eq!(
            check(Some(&p), None, "u", EventKind::Join, 1.0),
            Err(Violation::SessionNotFound)
        );
        assert_eq!(
            check(Some(&p), Some(&session(&fresh)), "v", EventKind::Join, 1.0),
            Err(Violation::SessionNotFound)
        );
        assert_eq!(
            check(Some(&p), Some(&session(&fresh)), "u", EventKind::Like, 1.0),
            Err(Violation::SessionNotStarted)
        );
        let joined = SessionState::from_events([(EventKind::Join, 2.0)]);
        assert_eq!(
            check(Some(&p), Some(&session(&joined)), "u", EventKind::Join, 3.0),
            Err(Violation::SessionAlreadyStarted)
        );
        assert_eq!(
            check(Some(&p), Some(&session(&joined)), "u", EventKind::Like, 1.0),
            Err(Violation::SessionHasLaterEvent)
        );
        assert!(check(Some(&p), Some(&session(&joined)), "u", EventKind::Like, 2.0).is_ok());
        let liked = SessionState::from_events([(EventKind::Join, 2.0), (EventKind::Like, 2.0)]);
        assert_eq!(
            check(Some(&p), Some(&session(&liked)), "u", EventKind::Like, 2.0),
            Err(Violation::SessionHasSameEventAtSameTime)
        );
        assert_eq!(
            check(
                Some(&p),
                Some(&session(&liked)),
                "u",
                EventKind::Numeric { rating: 1 },
                2.0
            ),
            Err(Violation::ImpossibleEvent)
        );
        assert_eq!(
            check(
                Some(&p),
                Some(&session(&liked)),
                "u",
                EventKind::PressEnd,
                3.0
            ),
            Err(Violation::ImpossibleEventData)
        );
        let left = SessionState::from_events([(EventKind::Join, 2.0), (EventKind::Leave, 3.0)]);
        assert_eq!(
            check(Some(&p), Some(&session(&left)), "u", EventKind::Like, 1.0),
            Err(Violation::SessionAlreadyEnded)
        );
    }

    #[test]
    fn leaving_while_pressing_releases_the_press() {
        let p = press();
        let state =
            SessionState::from_events([(EventKind::Join, 0.0), (EventKind::PressStart, 1.0)]);
        let fx = check(
            Some(&p),
            Some(&session(&state)),
            "u",
            EventKind::Leave,
            10.0,
        )
        .unwrap();
        assert_eq!(
            fx.deltas,
            vec![(Category::Users, -1), (Category::PressActive, -1)]
        );
        assert_eq!((fx.bin, fx.bins, fx.bucket), (14, 15, 10));
    }

    #[test]
    fn a_new_answer_replaces_the_previous_one() {
        let p = prompt(Prompt::Word {
            text: "w".into(),
            options: vec!["a".into(), "b".into()],
        });
        let state = SessionState::from_events([
            (EventKind::Join, 0.0),
            (EventKind::Word { index: 0 }, 1.0),
        ]);
        let fx = check(
            Some(&p),
            Some(&session(&state)),
            "u",
            EventKind::Word { index: 1 },
            5.5,
        )
        .unwrap();
        assert_eq!(
            fx.deltas,
            vec![(Category::WordActive(1), 1), (Category::WordActive(0), -1)]
        );
        assert_eq!(fx.bucket, 5);
        let bad = check(
            Some(&p),
            Some(&session(&state)),
            "u",
            EventKind::Word { index: 2 },
            5.5,
        );
        assert_eq!(bad, Err(Violation::ImpossibleEventData));
    }

    #[test]
    fn deleted_prompts_refuse_events() {
        let mut p = press();
        p.deleted_at = Some(1.0);
        assert_eq!(
            check(Some(&p), None, "u", EventKind::Join, 1.0),
            Err(Violation::NotFound)
        );
    }
}
