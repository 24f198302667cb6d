//! What the event rules (docs/rules.md, "The event rules") know of a
//! session: who owns it, and its accepted events folded into a
//! [`SessionState`].

use crate::domain::event::{EventKind, EventType};

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
    /// Prompt time of its `join` (who is here: docs/api.md, "Who is here").
    pub joined_at: Option<f64>,
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
            EventKind::Join => self.joined_at = Some(t),
            EventKind::Leave | EventKind::Like => {}
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
