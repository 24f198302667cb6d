//! An accepted event on the wire. There is one event shape, the domain's
//! [`StoredEvent`], and one serialiser, of its stream item; each event is
//! serialised once on its way out:
//!
//! * to this process's viewers, as a [`LiveEvent`]: the stream item's JSON
//!   text, shared by every viewer (docs/stream-protocol.md, "What you
//!   receive");
//! * to other processes, as the pub/sub message: the same text with
//!   `created_at` added (docs/stream-protocol.md, "Pub/sub"). A receiving
//!   process rebuilds the stream item from the message's raw JSON values,
//!   without decoding and re-encoding them.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::domain::event::StoredEvent;

/// The stream item of an event: a search item without
/// `interactive_prompt_uid` and `created_at`.
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

fn item_json(e: &StoredEvent) -> String {
    let item = StreamItem {
        uid: &e.uid,
        user_sub: &e.user_sub,
        session_uid: &e.session_uid,
        evtype: e.evtype,
        icon: e.icon.as_deref(),
        data: &e.data,
        prompt_time: e.prompt_time,
    };
    serde_json::to_string(&item).expect("stream items serialize")
}

/// The pub/sub message of an event: `{"uid", "user_sub", "session_uid",
/// "evtype", "icon", "data", "prompt_time", "created_at"}`, its stream
/// item with `created_at` added.
pub fn message_json(e: &StoredEvent) -> String {
    let mut json = item_json(e);
    json.pop(); // the item's closing brace
    // A finite `f64` displays as a plain decimal that parses back exactly.
    write!(json, ",\"created_at\":{}}}", e.created_at).expect("writing to a String");
    json
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

/// A pub/sub message as received, its values left as raw JSON.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    uid: &'a RawValue,
    #[serde(borrow)]
    user_sub: &'a RawValue,
    #[serde(borrow)]
    session_uid: &'a RawValue,
    #[serde(borrow)]
    evtype: &'a RawValue,
    #[serde(default, borrow)]
    icon: Option<&'a RawValue>,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(borrow)]
    prompt_time: &'a RawValue,
    created_at: f64,
}

/// A raw value that must be a JSON string.
fn text<'a>(name: &str, raw: &'a RawValue) -> Result<&'a RawValue, serde_json::Error> {
    if raw.get().starts_with('"') {
        Ok(raw)
    } else {
        Err(serde::de::Error::custom(format!("{name} must be a string")))
    }
}

impl LiveEvent {
    /// Prepares a stored event for this process's viewers.
    pub fn from_stored(e: &StoredEvent) -> Self {
        LiveEvent {
            uid: e.uid.as_str().into(),
            prompt_time: e.prompt_time,
            created_at: e.created_at,
            json: item_json(e).into(),
        }
    }

    /// Prepares a pub/sub message (see [`message_json`]) for viewers.
    pub fn from_message(payload: &[u8]) -> Result<Self, serde_json::Error> {
        let m: Message<'_> = serde_json::from_slice(payload)?;
        let uid: Cow<'_, str> = serde_json::from_str(m.uid.get())?;
        let prompt_time: f64 = serde_json::from_str(m.prompt_time.get())?;
        if !m.data.get().starts_with('{') {
            return Err(serde::de::Error::custom("data must be an object"));
        }
        let icon = match m.icon {
            Some(icon) if icon.get() != "null" => text("icon", icon)?.get(),
            _ => "null",
        };
        let mut json = String::with_capacity(payload.len());
        for (key, value) in [
            ("{\"uid\":", m.uid.get()),
            (",\"user_sub\":", text("user_sub", m.user_sub)?.get()),
            (
                ",\"session_uid\":",
                text("session_uid", m.session_uid)?.get(),
            ),
            (",\"evtype\":", text("evtype", m.evtype)?.get()),
            (",\"icon\":", icon),
            (",\"data\":", m.data.get()),
            (",\"prompt_time\":", m.prompt_time.get()),
        ] {
            json.push_str(key);
            json.push_str(value);
        }
        json.push('}');
        Ok(LiveEvent {
            uid: uid.as_ref().into(),
            prompt_time,
            created_at: m.created_at,
            json: json.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::event::EventKind;
    use crate::domain::user::Shown;

    fn stored() -> StoredEvent {
        StoredEvent::new(
            "ipe_1".into(),
            "u\"1".into(),
            "ips_1".into(),
            "ip_1".into(),
            EventKind::Numeric { rating: 7 },
            Shown {
                name: Some("Ann"),
                picture: Some("https://e.com/a.png"),
            },
            2.5,
            1_733_540_000.123_456,
        )
    }

    #[test]
    fn the_message_is_the_stream_item_with_created_at() {
        let e = stored();
        let item: Value = serde_json::from_str(&LiveEvent::from_stored(&e).json).unwrap();
        let message: Value = serde_json::from_str(&message_json(&e)).unwrap();
        assert_eq!(
            item,
            json!({"uid": "ipe_1", "user_sub": "u\"1", "session_uid": "ips_1",
                   "evtype": "numeric_prompt_response", "icon": "https://e.com/a.png",
                   "data": {"rating": 7}, "prompt_time": 2.5})
        );
        let mut expected = item.clone();
        expected["created_at"] = json!(e.created_at);
        assert_eq!(message, expected);
        assert_eq!(message["created_at"].as_f64(), Some(e.created_at));
    }

    #[test]
    fn a_received_message_gives_the_same_live_event_as_the_stored_one() {
        let e = stored();
        let received = LiveEvent::from_message(message_json(&e).as_bytes()).unwrap();
        assert_eq!(received, LiveEvent::from_stored(&e));
        // Another producer's field order and spacing make the same item.
        let other = br#"{"created_at": 5.5, "data": {}, "icon": null, "evtype": "like",
            "session_uid": "ips_2", "user_sub": "u2", "uid": "ipe_2", "prompt_time": 1}"#;
        let live = LiveEvent::from_message(other).unwrap();
        assert_eq!(
            (&*live.uid, live.prompt_time, live.created_at),
            ("ipe_2", 1.0, 5.5)
        );
        let item: Value = serde_json::from_str(&live.json).unwrap();
        assert_eq!(item["evtype"], "like");
        assert!(item.get("created_at").is_none());
    }

    #[test]
    fn malformed_messages_are_refused() {
        for bad in [
            &b"not json"[..],
            br#"{"uid": "ipe_1"}"#,
            br#"{"uid": 1, "user_sub": "u", "session_uid": "s", "evtype": "like", "data": {}, "prompt_time": 1, "created_at": 1}"#,
            br#"{"uid": "a", "user_sub": 2, "session_uid": "s", "evtype": "like", "data": {}, "prompt_time": 1, "created_at": 1}"#,
            br#"{"uid": "a", "user_sub": "u", "session_uid": "s", "evtype": "like", "data": [], "prompt_time": 1, "created_at": 1}"#,
            br#"{"uid": "a", "user_sub": "u", "session_uid": "s", "evtype": "like", "data": {}, "prompt_time": "1", "created_at": 1}"#,
        ] {
            assert!(LiveEvent::from_message(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
