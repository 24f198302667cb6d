//! The event rules of SPEC §3 and the aggregate updates of SPEC §4.
//!
//! Every storage engine loads the prompt and the [`Session`] (its owner and
//! [`SessionState`]), then calls [`check`]; if the event is accepted, the
//! [`Accepted`] it returns holds what the engine needs to store it: the
//! prompt, the session, and the [`Effects`] on the aggregates. Keeping this
//! in one pure function is what makes both engines agree.

use std::borrow::Borrow;

use super::bins::Bins;
use super::event::{EventKind, EventType};
use super::prompt::{Prompt, PromptRecord};

/// A rule that refused an event (SPEC §3), in rule order.
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

impl Violation {
    /// The error `type` string of the HTTP response.
    pub fn error_type(self) -> &'static str {
        match self {
            Violation::NotFound => "not_found",
            Violation::ImpossiblePromptTime => "impossible_prompt_time",
            Violation::SessionNotFound => "session_not_found",
            Violation::SessionAlreadyStarted => "session_already_started",
            Violation::SessionNotStarted => "session_not_started",
            Violation::SessionAlreadyEnded => "session_already_ended",
            Violation::SessionHasLaterEvent => "session_has_later_event",
            Violation::SessionHasSameEventAtSameTime => "session_has_same_event_at_same_time",
            Violation::ImpossibleEvent => "impossible_event",
            Violation::ImpossibleEventData => "impossible_event_data",
        }
    }

    /// The HTTP status: 404 for rule 1, 409 for the rest.
    pub fn status(self) -> u16 {
        if self == Violation::NotFound {
            404
        } else {
            409
        }
    }
}

/// What the rules need to know of a session's accepted events, folded in
/// the order they were accepted (which is `(prompt_time, id)` order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionState {
    /// Number of accepted events.
    pub events: u64,
    /// Type of the most recently accepted event.
    pub last_type: Option<EventType>,
    /// Latest prompt time of any event (meaningful when `events > 0`).
    pub last_time: f64,
    /// Types of the events at `last_time`.
    pub types_at_last_time: Vec<EventType>,
    /// Whether the latest press event is a start.
    pub pressing: bool,
    /// The session's current numeric answer.
    pub rating: Option<i64>,
    /// The session's current colour answer.
    pub color: Option<i64>,
    /// The session's current word answer.
    pub word: Option<i64>,
}

impl SessionState {
    /// Folds one more accepted event into the state.
    pub fn apply(&mut self, kind: EventKind, t: f64) {
        if self.events == 0 || t > self.last_time {
            self.last_time = t;
            self.types_at_last_time.clear();
        }
        self.types_at_last_time.push(kind.event_type());
        self.events += 1;
        self.last_type = Some(kind.event_type());
        match kind {
            EventKind::PressStart => self.pressing = true,
            EventKind::PressEnd => self.pressing = false,
            EventKind::Numeric { rating } => self.rating = Some(rating),
            EventKind::Color { index } => self.color = Some(index),
            EventKind::Word { index } => self.word = Some(index),
            EventKind::Join | EventKind::Leave | EventKind::Like => {}
        }
    }

    /// The state after the given events, in acceptance order.
    pub fn from_events(events: impl IntoIterator<Item = (EventKind, f64)>) -> Self {
        let mut state = Self::default();
        for (kind, t) in events {
            state.apply(kind, t);
        }
        state
    }
}

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOwner {
    /// Database id of the session's prompt.
    pub prompt_id: i64,
    /// `sub` of the session's user.
    pub user_sub: String,
}

/// A stored session as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Database id of the session.
    pub id: i64,
    /// Its prompt and user.
    pub owner: SessionOwner,
    /// Its accepted events, folded.
    pub state: SessionState,
}

/// A Fenwick tree category (SPEC §4): name plus optional value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Users present (joins minus leaves).
    Users,
    /// Likes so far.
    Likes,
    /// Sessions whose current numeric answer is this rating.
    NumericActive(i64),
    /// Presses started so far.
    Press,
    /// Sessions pressing now.
    PressActive,
    /// Sessions whose current colour answer is this index.
    ColorActive(i64),
    /// Sessions whose current word answer is this index.
    WordActive(i64),
}

impl Category {
    /// The stored `category` column.
    pub fn name(self) -> &'static str {
        match self {
            Category::Users => "users",
            Category::Likes => "likes",
            Category::NumericActive(_) => "numeric_active",
            Category::Press => "press",
            Category::PressActive => "press_active",
            Category::ColorActive(_) => "color_active",
            Category::WordActive(_) => "word_active",
        }
    }

    /// The stored `category_value` column.
    pub fn value(self) -> Option<i64> {
        match self {
            Category::NumericActive(v) | Category::ColorActive(v) | Category::WordActive(v) => {
                Some(v)
            }
            _ => None,
        }
    }

    /// Parses stored columns back into a category.
    pub fn from_columns(name: &str, value: Option<i64>) -> Option<Self> {
        Some(match (name, value) {
            ("users", None) => Category::Users,
            ("likes", None) => Category::Likes,
            ("press", None) => Category::Press,
            ("press_active", None) => Category::PressActive,
            ("numeric_active", Some(v)) => Category::NumericActive(v),
            ("color_active", Some(v)) => Category::ColorActive(v),
            ("word_active", Some(v)) => Category::WordActive(v),
            _ => return None,
        })
    }

    /// Every category a prompt keeps trees for, in display order.
    pub fn all_for(prompt: &Prompt) -> Vec<Category> {
        let mut out = vec![Category::Users, Category::Likes];
        match prompt {
            Prompt::Numeric { min, max, .. } => {
                out.extend((*min..=*max).map(Category::NumericActive))
            }
            Prompt::Press { .. } => out.extend([Category::Press, Category::PressActive]),
            Prompt::Color { colors, .. } => {
                out.extend((0..colors.len() as i64).map(Category::ColorActive))
            }
            Prompt::Word { options, .. } => {
                out.extend((0..options.len() as i64).map(Category::WordActive))
            }
        }
        out
    }
}

/// What an accepted event changes in the aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Effects {
    /// The bin every Fenwick delta applies at.
    pub bin: u32,
    /// Number of bins of the prompt.
    pub bins: u32,
    /// The one-second count bucket, `floor(t)`.
    pub bucket: i64,
    /// Fenwick deltas at `bin`.
    pub deltas: Vec<(Category, i64)>,
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

/// Checks a new event against SPEC §3, returning the prompt, the session
/// and the event's aggregate effects (SPEC §4) if it is accepted. `prompt`
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

/// The aggregate updates of an accepted event (SPEC §4 table).
pub fn effects(duration_seconds: i64, state: &SessionState, kind: EventKind, t: f64) -> Effects {
    let bins = Bins::new(duration_seconds);
    let mut deltas = Vec::with_capacity(2);
    let mut replace = |new: Category, old: Option<Category>| {
        deltas.push((new, 1));
        if let Some(old) = old {
            deltas.push((old, -1));
        }
    };
    match kind {
        EventKind::Join => replace(Category::Users, None),
        EventKind::Like => replace(Category::Likes, None),
        EventKind::Leave => {
            deltas.push((Category::Users, -1));
            if state.pressing {
                deltas.push((Category::PressActive, -1));
            }
        }
        EventKind::Numeric { rating } => replace(
            Category::NumericActive(rating),
            state.rating.map(Category::NumericActive),
        ),
        EventKind::Color { index } => replace(
            Category::ColorActive(index),
            state.color.map(Category::ColorActive),
        ),
        EventKind::Word { index } => replace(
            Category::WordActive(index),
            state.word.map(Category::WordActive),
        ),
        EventKind::PressStart => {
            deltas.push((Category::Press, 1));
            deltas.push((Category::PressActive, 1));
        }
        EventKind::PressEnd => deltas.push((Category::PressActive, -1)),
    }
    Effects {
        bin: bins.bin_of(t),
        bins: bins.count(),
        bucket: t.floor() as i64,
        deltas,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
