//! The state every handler shares; cheap to clone.

use std::sync::Arc;

use crate::auth::Auth;
use crate::ingest::Ingest;
use crate::pubsub::PubSub;
use crate::storage::Store;
use crate::storage::presence::FacesCache;
use crate::stream::StreamContext;

use super::embed_page::EmbedPage;
use super::rate_limit::RateLimits;

/// The state handlers share: one reference-counted [`Shared`], so cloning it
/// (axum does, once per extractor) is a single atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the shared handles.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Shared handles: storage, keys, pub/sub, limits and the stream's context.
pub struct Shared {
    /// The storage engine.
    pub store: Store,
    /// Token keys.
    pub auth: Arc<Auth>,
    /// Where accepted events are published (and whether it is reachable).
    pub pubsub: PubSub,
    /// Stores, counts and publishes accepted events.
    pub ingest: Ingest,
    /// The rate limits: events per user and per session, sessions started
    /// per user, reads per user.
    pub limits: Arc<RateLimits>,
    /// Whether dev-only routes are enabled.
    pub dev: bool,
    /// What the live stream needs (the stream route hands it each socket).
    pub stream: StreamContext,
    /// The participant page `/p/{uid}`, for the configured embed origins.
    pub embed: EmbedPage,
    /// This process's samples of who is here.
    pub faces: FacesCache,
    /// This process's timeline bodies, by prompt.
    pub timelines: super::timeline_cache::TimelineCache,
}
