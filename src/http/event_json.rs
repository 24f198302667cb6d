//! A stored event's JSON (docs/api.md, "Events" and "Search"): the `201`
//! of an event route and a search item, both borrowed from the
//! [`StoredEvent`] the store returns.
//!
//! An event's `data` is a JSON value in the stored event, shaped by its
//! type; [`EventData`] and the four data shapes describe it, and
//! [`super::events`] narrows `data` per event route.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::event::EventType;
use crate::domain::event::StoredEvent;

/// An event's type, as the API names it: one of [`EventType::ALL`].
#[derive(Serialize)]
#[serde(transparent)]
pub struct Evtype(pub &'static str);

impl PartialSchema for Evtype {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The event's type."))
            .enum_values(Some(EventType::ALL.map(EventType::as_str)))
            .into()
    }
}

impl ToSchema for Evtype {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Evtype")
    }
}

/// The schema of a value that is always `null`.
pub fn null_schema() -> Object {
    Object::with_type(Type::Null)
}

/// Event data as it leaves the server: `{"name"}` for join/leave,
/// `{"rating"}`, `{"index"}` or `{}`.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum EventData {
    /// Join and leave.
    Name(NameData),
    /// Numeric responses.
    Rating(RatingData),
    /// Colour and word responses.
    Index(IndexData),
    /// Everything else.
    Empty(EmptyData),
}

/// Data of `join`/`leave` as read: the poster's display name.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameData {
    /// From the user token's claims, or `Anonymous`.
    pub name: String,
}

/// Data of a numeric response.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingData {
    /// Between the prompt's `min` and `max`; outside is 409.
    pub rating: i64,
}

/// Data of a colour or word response: an index into the choices.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexData {
    /// Into the prompt's colours or options; past the end is 409.
    #[schema(minimum = 0)]
    pub index: i64,
}

/// Data of events without data.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyData {}

/// `201` of an event route: the stored event as its poster sees it.
#[derive(Serialize, ToSchema)]
pub struct EventCreated<'a> {
    /// `ipe_…`
    uid: &'a str,
    user_sub: &'a str,
    session_uid: &'a str,
    #[serde(rename = "type")]
    evtype: Evtype,
    prompt_time: f64,
    /// Always null.
    #[schema(schema_with = null_schema, required = true)]
    icon: Option<&'a str>,
    #[schema(value_type = EventData)]
    data: &'a Value,
}

impl<'a> From<&'a StoredEvent> for EventCreated<'a> {
    fn from(e: &'a StoredEvent) -> Self {
        EventCreated {
            uid: &e.uid,
            user_sub: &e.user_sub,
            session_uid: &e.session_uid,
            evtype: Evtype(e.evtype),
            prompt_time: e.prompt_time,
            icon: e.icon.as_deref(),
            data: &e.data,
        }
    }
}

// Members in alphabetical order, as search items have always been
// serialized.
/// An event found by search.
#[derive(Serialize, ToSchema)]
#[schema(as = SearchItem)]
pub struct EventItem<'a> {
    /// Unix seconds when stored.
    created_at: f64,
    #[schema(value_type = EventData)]
    data: &'a Value,
    evtype: Evtype,
    /// Always null.
    #[schema(schema_with = null_schema, required = true)]
    icon: Option<&'a str>,
    interactive_prompt_uid: &'a str,
    prompt_time: f64,
    session_uid: &'a str,
    /// `ipe_…`
    uid: &'a str,
    user_sub: &'a str,
}

impl<'a> From<&'a StoredEvent> for EventItem<'a> {
    fn from(e: &'a StoredEvent) -> Self {
        EventItem {
            created_at: e.created_at,
            data: &e.data,
            evtype: Evtype(e.evtype),
            icon: e.icon.as_deref(),
            interactive_prompt_uid: &e.interactive_prompt_uid,
            prompt_time: e.prompt_time,
            session_uid: &e.session_uid,
            uid: &e.uid,
            user_sub: &e.user_sub,
        }
    }
}
