//! Events: what happened in a session, typed together with its data.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::user::{ANONYMOUS, Shown};

/// The eight event types (`evtype`), in the order of docs/rules.md, "Event types".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The participant started the prompt.
    Join,
    /// The participant finished or left the prompt.
    Leave,
    /// A like, at any moment.
    Like,
    /// A rating on a numeric prompt.
    NumericPromptResponse,
    /// Started pressing on a press prompt.
    PressPromptStartResponse,
    /// Stopped pressing on a press prompt.
    PressPromptEndResponse,
    /// Chose a colour.
    ColorPromptResponse,
    /// Chose a word.
    WordPromptResponse,
}

impl EventType {
    /// Every type.
    pub const ALL: [EventType; 8] = [
        EventType::Join,
        EventType::Leave,
        EventType::Like,
        EventType::NumericPromptResponse,
        EventType::PressPromptStartResponse,
        EventType::PressPromptEndResponse,
        EventType::ColorPromptResponse,
        EventType::WordPromptResponse,
    ];

    /// The stored `evtype` string.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Join => "join",
            EventType::Leave => "leave",
            EventType::Like => "like",
            EventType::NumericPromptResponse => "numeric_prompt_response",
            EventType::PressPromptStartResponse => "press_prompt_start_response",
            EventType::PressPromptEndResponse => "press_prompt_end_response",
            EventType::ColorPromptResponse => "color_prompt_response",
            EventType::WordPromptResponse => "word_prompt_response",
        }
    }

    /// Parses a stored `evtype` string.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether `join`/`leave`, whose outgoing data carries the display name.
    pub fn carries_name(self) -> bool {
        matches!(self, EventType::Join | EventType::Leave)
    }
}

/// An event's type with its data, e.g. a rating of 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `join`, data `{}`.
    Join,
    /// `leave`, data `{}`.
    Leave,
    /// `like`, data `{}`.
    Like,
    /// `numeric_prompt_response`, data `{"rating"}`.
    Numeric {
        /// The rating chosen.
        rating: i64,
    },
    /// `press_prompt_start_response`, data `{}`.
    PressStart,
    /// `press_prompt_end_response`, data `{}`.
    PressEnd,
    /// `color_prompt_response`, data `{"index"}`.
    Color {
        /// Index into the prompt's colours.
        index: i64,
    },
    /// `word_prompt_response`, data `{"index"}`.
    Word {
        /// Index into the prompt's options.
        index: i64,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyData {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingData {
    rating: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexData {
    index: i64,
}

impl EventKind {
    /// The type without its data.
    pub fn event_type(self) -> EventType {
        match self {
            EventKind::Join => EventType::Join,
            EventKind::Leave => EventType::Leave,
            EventKind::Like => EventType::Like,
            EventKind::Numeric { .. } => EventType::NumericPromptResponse,
            EventKind::PressStart => EventType::PressPromptStartResponse,
            EventKind::PressEnd => EventType::PressPromptEndResponse,
            EventKind::Color { .. } => EventType::ColorPromptResponse,
            EventKind::Word { .. } => EventType::WordPromptResponse,
        }
    }

    /// Parses the data of an event of type `ty` (from a request body or a
    /// stored row). Errors name the field and the problem.
    pub fn from_data(ty: EventType, data: Value) -> Result<Self, serde_json::Error> {
        if !data.is_object() {
            return Err(serde::de::Error::custom("data must be a JSON object"));
        }
        Ok(match ty {
            EventType::Join => {
                serde_json::from_value::<EmptyData>(data).map(|_| EventKind::Join)?
            }
            EventType::Leave => {
                serde_json::from_value::<EmptyData>(data).map(|_| EventKind::Leave)?
            }
            EventType::Like => {
                serde_json::from_value::<EmptyData>(data).map(|_| EventKind::Like)?
            }
            EventType::PressPromptStartResponse => {
                serde_json::from_value::<EmptyData>(data).map(|_| EventKind::PressStart)?
            }
            EventType::PressPromptEndResponse => {
                serde_json::from_value::<EmptyData>(data).map(|_| EventKind::PressEnd)?
            }
            EventType::NumericPromptResponse => EventKind::Numeric {
                rating: serde_json::from_value::<RatingData>(data)?.rating,
            },
            EventType::ColorPromptResponse => EventKind::Color {
                index: serde_json::from_value::<IndexData>(data)?.index,
            },
            EventType::WordPromptResponse => EventKind::Word {
                index: serde_json::from_value::<IndexData>(data)?.index,
            },
        })
    }

    /// The data as stored (`{}`, `{"rating": r}` or `{"index": i}`).
    pub fn stored_data(self) -> Value {
        match self {
            EventKind::Numeric { rating } => json!({ "rating": rating }),
            EventKind::Color { index } | EventKind::Word { index } => json!({ "index": index }),
            _ => json!({}),
        }
    }

    /// The data as it leaves the server: join/leave carry the display name.
    pub fn public_data(self, display_name: &str) -> Value {
        if self.event_type().carries_name() {
            json!({ "name": display_name })
        } else {
            self.stored_data()
        }
    }
}

/// An event to check and store.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The prompt's uid.
    pub prompt_uid: String,
    /// The session's uid.
    pub session_uid: String,
    /// The posting user's `sub`.
    pub user_sub: String,
    /// Type and data.
    pub kind: EventKind,
    /// Seconds into the prompt.
    pub prompt_time: f64,
}

/// A stored event as it leaves the server (search items, stream packets,
/// pub/sub messages and event responses all derive from it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    /// `ipe_…`
    pub uid: String,
    /// The user's `sub`.
    pub user_sub: String,
    /// `ips_…`
    pub session_uid: String,
    /// `ip_…`
    pub interactive_prompt_uid: String,
    /// The event type.
    pub evtype: &'static str,
    /// The user's picture URL, or null.
    pub icon: Option<String>,
    /// Stored data, or `{"name"}` for join/leave.
    pub data: Value,
    /// Seconds into the prompt.
    pub prompt_time: f64,
    /// Unix seconds when stored.
    pub created_at: f64,
}

impl StoredEvent {
    /// Builds the outgoing form of a stored row.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        uid: String,
        user_sub: String,
        session_uid: String,
        interactive_prompt_uid: String,
        kind: EventKind,
        user: Shown<'_>,
        prompt_time: f64,
        created_at: f64,
    ) -> Self {
        StoredEvent {
            uid,
            user_sub,
            session_uid,
            interactive_prompt_uid,
            evtype: kind.event_type().as_str(),
            icon: user.picture.map(str::to_owned),
            data: kind.public_data(user.name.unwrap_or(ANONYMOUS)),
            prompt_time,
            created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_through_their_strings() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("jump"), None);
    }

    #[test]
    fn data_is_parsed_strictly() {
        assert_eq!(
            EventKind::from_data(EventType::Join, json!({})).unwrap(),
            EventKind::Join
        );
        assert!(EventKind::from_data(EventType::Join, json!({"x": 1})).is_err());
        assert!(EventKind::from_data(EventType::Join, json!([])).is_err());
        let r =
            EventKind::from_data(EventType::NumericPromptResponse, json!({"rating": 3})).unwrap();
        assert_eq!(r.stored_data(), json!({"rating": 3}));
        assert!(
            EventKind::from_data(EventType::NumericPromptResponse, json!({"rating": 3.5})).is_err()
        );
        assert!(EventKind::from_data(EventType::ColorPromptResponse, json!({})).is_err());
        assert_eq!(EventKind::Leave.public_data("Ann"), json!({"name": "Ann"}));
    }
}
