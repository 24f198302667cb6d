//! The pub/sub message, decoded once and serialized once per event.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::event::StoredEvent;

/// The wire message of SPEC §7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMessage {
    /// `ipe_…`
    pub uid: String,
    /// The user's `sub`.
    pub user_sub: String,
    /// `ips_…`
    pub session_uid: String,
    /// The event type.
    pub evtype: String,
    /// Outgoing data (`{"name"}` for join/leave).
    pub data: Value,
    /// Always null.
    pub icon: Option<String>,
    /// Seconds into the prompt.
    pub prompt_time: f64,
    /// Unix seconds when stored.
    pub created_at: f64,
}

impl From<&StoredEvent> for EventMessage {
    fn from(e: &StoredEvent) -> Self {
        EventMessage {
            uid: e.uid.clone(),
            user_sub: e.user_sub.clone(),
            session_uid: e.session_uid.clone(),
            evtype: e.evtype.to_owned(),
            data: e.data.clone(),
            icon: None,
            prompt_time: e.prompt_time,
            created_at: e.created_at,
        }
    }
}

/// The stream item of an event (SPEC §6: a search item without
/// `interactive_prompt_uid` and `created_at`).
#[derive(Serialize)]
struct StreamItem<'a> {
    uid: &'a str,
    user_sub: &'a str,
    session_uid: &'a str,
    evtype: &'a str,
    icon: Option<&'a str>,
    data: &'a Value,
    prompt_time: f64,
}

/// An event on its way to viewers: its identity, prompt time and the JSON
/// of its stream item, serialized once and shared by every viewer.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// `ipe_…`
    pub uid: Arc<str>,
    /// Seconds into the prompt.
    pub prompt_time: f64,
    /// Unix seconds when stored.
    pub created_at: f64,
    /// The stream item as JSON text.
    pub json: Arc<str>,
}

impl LiveEvent {
    /// Prepares a message for viewers.
    pub fn from_message(m: &EventMessage) -> Self {
        let item = StreamItem {
            uid: &m.uid,
            user_sub: &m.user_sub,
            session_uid: &m.session_uid,
            evtype: &m.evtype,
            icon: m.icon.as_deref(),
            data: &m.data,
            prompt_time: m.prompt_time,
        };
        LiveEvent {
            uid: m.uid.as_str().into(),
            prompt_time: m.prompt_time,
            created_at: m.created_at,
            json: serde_json::to_string(&item)
                .expect("stream items serialize")
                .into(),
        }
    }

    /// Prepares a stored event for viewers.
    pub fn from_stored(e: &StoredEvent) -> Self {
        Self::from_message(&EventMessage::from(e))
    }
}
