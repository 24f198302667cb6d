//! What the PostgreSQL batcher ([`super::batch`]) commits: events and
//! sessions, each a [`BatchWrite`].

use std::future::Future;

use deadpool_postgres::Client;

use super::batch::{BatchWrite, Sent, Written};
use super::events::{self, Decided, EventStatements};
use super::sessions::{self, NewSession};
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::rules::Violation;
use crate::storage::aggregates::PendingAggregates;
use crate::storage::{StartedSession, StorageError};

/// Events: checked against the rules and stored ([`events::decide`],
/// [`events::write`]).
pub struct Events;

impl BatchWrite for Events {
    type Item = NewEvent;
    type Output = Result<StoredEvent, Violation>;
    type Statements = EventStatements;
    type Decided = Decided;
    const NAME: &'static str = "append_event";
    const STORED: &'static str =
        "SELECT EXISTS (SELECT 1 FROM interactive_prompt_events WHERE uid = $1)";
    fn written(outputs: &[Self::Output]) -> Option<&str> {
        outputs
            .iter()
            .find_map(|o| Some(o.as_ref().ok()?.uid.as_str()))
    }
    fn prepare(
        c: &Client,
    ) -> impl Future<Output = Result<EventStatements, StorageError>> + Send + '_ {
        EventStatements::prepare(c)
    }
    fn decide<'a>(
        c: &'a Client,
        s: &'a EventStatements,
        items: &'a [&'a NewEvent],
    ) -> impl Future<Output = Result<Decided, StorageError>> + Send + 'a {
        events::decide(c, s, items)
    }
    fn outcome(decided: Decided) -> Written<Self::Output> {
        (decided.results, decided.pending)
    }
    fn pending(decided: &Decided) -> &PendingAggregates {
        &decided.pending
    }
    fn write<'a>(c: &'a Client, s: &'a EventStatements, d: &'a Decided) -> Vec<Sent<'a>> {
        events::write(c, s, d)
    }
}

/// Sessions: started, with their users ([`sessions::start_sessions`], all
/// of it in the first step).
pub struct Sessions;

impl BatchWrite for Sessions {
    type Item = NewSession;
    type Output = Option<StartedSession>;
    type Statements = ();
    type Decided = Written<Option<StartedSession>>;
    const NAME: &'static str = "start_session";
    const STORED: &'static str =
        "SELECT EXISTS (SELECT 1 FROM interactive_prompt_sessions WHERE uid = $1)";
    fn written(outputs: &[Self::Output]) -> Option<&str> {
        outputs
            .iter()
            .find_map(|o| Some(o.as_ref()?.session_uid.as_str()))
    }
    async fn prepare(_: &Client) -> Result<(), StorageError> {
        Ok(())
    }
    async fn decide<'a>(
        c: &'a Client,
        _: &'a (),
        items: &'a [&'a NewSession],
    ) -> Result<Self::Decided, StorageError> {
        let started = sessions::start_sessions(c, items).await?;
        Ok((started, PendingAggregates::default()))
    }
    fn outcome(decided: Self::Decided) -> Written<Self::Output> {
        decided
    }
    fn pending(decided: &Self::Decided) -> &PendingAggregates {
        &decided.1
    }
    fn write<'a>(_: &'a Client, _: &'a (), _: &'a Self::Decided) -> Vec<Sent<'a>> {
        Vec::new()
    }
}
