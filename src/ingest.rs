//! The one path of an accepted event, for the HTTP API and the demo crowd
//! alike: checked against the rules and stored (one committed transaction,
//! docs/rules.md, "The event rules"), counted in
//! `chorus_events_accepted_total`, then published to the prompt's viewers
//! (docs/stream-protocol.md, "Pub/sub").

use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::rules::Violation;
use crate::pubsub::PubSub;
use crate::storage::{StorageError, Store};

/// Stores, counts and publishes accepted events; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    store: Store,
    pubsub: PubSub,
}

impl Ingest {
    /// Events go into `store` and out through `pubsub`.
    pub fn new(store: Store, pubsub: PubSub) -> Self {
        Ingest { store, pubsub }
    }

    /// The store events go into.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Checks `event` and, if the rules accept it, stores it, counts it and
    /// publishes it; returns it as stored, or the first rule it broke.
    ///
    /// It runs as a task of its own, to its end even if the caller stops
    /// waiting (a client gone, a request timeout): an event that is stored
    /// is always published.
    pub async fn accept(
        &self,
        event: NewEvent,
    ) -> Result<Result<StoredEvent, Violation>, StorageError> {
        let this = self.clone();
        tokio::spawn(async move { this.store_and_publish(event).await })
            .await
            .map_err(|_| StorageError::Stopped)?
    }

    async fn store_and_publish(
        &self,
        event: NewEvent,
    ) -> Result<Result<StoredEvent, Violation>, StorageError> {
        let stored = match self.store.append_event(event).await? {
            Ok(stored) => stored,
            Err(violation) => return Ok(Err(violation)),
        };
        metrics::counter!(crate::metrics::EVENTS_ACCEPTED, "evtype" => stored.evtype).increment(1);
        self.pubsub.publish(&stored).await;
        Ok(Ok(stored))
    }
}
