//! Storage engines behind one narrow interface.
//!
//! [`Store`] is chosen by the `--database` URL: embedded SQLite (the default, one server process)
//! or PostgreSQL (any number of processes). Both check events with [`crate::domain::rules::check`]
//! and keep the aggregates with [`aggregates::PendingAggregates`], so they agree.

pub mod aggregates;
mod audit;
pub mod dialect;
pub mod erasure;
pub mod export;
pub mod listing;
mod migration3;
pub mod migration4;
pub mod migration5;
pub mod named;
pub mod postgres;
pub mod presence;
pub mod rows;
pub mod schema;
pub mod search_sql;
pub mod sqlite;

use serde_json::Value;

use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::named::{DefinitionSettings, NamedPrompt};
use crate::domain::prompt::{Prompt, PromptRecord};
use crate::domain::rules::Violation;
use crate::domain::search::SearchQuery;
use crate::domain::stats::{Stats, Timeline};
use crate::domain::user::UserIdentity;

/// A failure of the storage engine itself (never a rule violation).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    /// The database URL is not understood.
    #[error("unsupported database URL {0:?}: use sqlite://PATH, sqlite::memory: or postgres://…")]
    BadUrl(String),
    /// PostgreSQL reported an error.
    #[error("postgres: {0}")]
    Postgres(String),
    /// PostgreSQL aborted the transaction and asked for it to be retried
    /// (serialization failure `40001` or deadlock `40P01`).
    #[error("postgres asked for a retry: {0}")]
    Retryable(String),
    /// The database cannot serve this request now, but may soon: it is
    /// unreachable or restarting, out of space, or could not confirm a
    /// write. Nothing of the request was kept unless the message says its
    /// outcome is unknown. Answered 503 with `Retry-After`.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The engine's worker stopped (the process is shutting down).
    #[error("the storage engine has stopped")]
    Stopped,
    /// The transaction holding this request failed to commit.
    #[error("commit failed: {0}")]
    Commit(String),
    /// A stored row could not be decoded.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            // The disk or the configured quota is full: writes fail until
            // space is freed, reads go on.
            Some(ErrorCode::DiskFull) => {
                StorageError::Unavailable(format!("the database is full: {e}"))
            }
            _ => StorageError::Sqlite(e),
        }
    }
}

/// A started session.
#[derive(Debug, Clone)]
pub struct StartedSession {
    /// The prompt.
    pub prompt: PromptRecord,
    /// `ips_…`
    pub session_uid: String,
}

/// The result of `chorus check` for one prompt.
#[derive(Debug, Clone)]
pub struct PromptCheck {
    /// The prompt's uid.
    pub prompt_uid: String,
    /// Number of events examined.
    pub events: usize,
    /// Differences found; empty when consistent.
    pub differences: Vec<String>,
}

/// The plan an engine chooses for one of the server's queries
/// (`chorus explain`).
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// What the query is for.
    pub name: &'static str,
    /// The SQL, as the server sends it.
    pub sql: String,
    /// The engine's plan, one step a line.
    pub plan: Vec<String>,
}

/// A result page of a search.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// Matching events, in the requested order.
    pub items: Vec<StoredEvent>,
    /// Sort to request the next page with, if there may be one.
    pub next_page_sort: Option<Value>,
}

/// How the engines are tuned (each engine reads its own part).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageSettings {
    /// The SQLite engine's.
    pub sqlite: sqlite::SqliteSettings,
    /// The PostgreSQL engine's.
    pub postgres: postgres::PostgresSettings,
}

/// A storage engine, chosen by URL.
#[derive(Clone)]
pub enum Store {
    /// Embedded SQLite.
    Sqlite(sqlite::SqliteStore),
    /// PostgreSQL, shared by any number of server processes.
    Postgres(postgres::PostgresStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $body:expr) => {
        match $self {
            Store::Sqlite($s) => $body,
            Store::Postgres($s) => $body,
        }
    };
}

impl Store {
    /// Opens (creating and migrating) the database at `url`, tuned by `settings`.
    pub async fn open(url: &str, settings: &StorageSettings) -> Result<Store, StorageError> {
        let location = if let Some(path) = url.strip_prefix("sqlite://") {
            sqlite::Location::File(path.into())
        } else if url == "sqlite::memory:" {
            sqlite::Location::Memory
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = postgres::PostgresStore::open(url, &settings.postgres).await?;
            return Ok(Store::Postgres(store));
        } else {
            return Err(StorageError::BadUrl(url.to_owned()));
        };
        let store = sqlite::SqliteStore::open(location, &settings.sqlite).await?;
        Ok(Store::Sqlite(store))
    }

    /// Stores a new prompt.
    pub async fn create_prompt(
        &self,
        prompt: Prompt,
        duration_seconds: i64,
    ) -> Result<PromptRecord, StorageError> {
        dispatch!(self, s => s.create_prompt(prompt, duration_seconds).await)
    }

    /// Looks a prompt up by uid (deleted ones included).
    pub async fn prompt(&self, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
        dispatch!(self, s => s.prompt(uid).await)
    }

    /// Looks a prompt up by uid for stats and timelines, which may lag
    /// behind by the staleness bound (docs/scaling.md, "Stats and
    /// timelines on PostgreSQL"): on PostgreSQL from this process's cache.
    pub async fn read_prompt(&self, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
        match self {
            Store::Sqlite(s) => s.prompt(uid).await,
            Store::Postgres(s) => s.read_prompt(uid).await,
        }
    }

    /// Soft-deletes a prompt; returns it, or `None` if there is no such prompt.
    pub async fn delete_prompt(&self, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
        dispatch!(self, s => s.delete_prompt(uid).await)
    }

    /// Starts a session of a live prompt, creating the user on first sight;
    /// `None` when the prompt does not exist or is deleted.
    pub async fn start_session(
        &self,
        prompt_uid: &str,
        user: UserIdentity,
    ) -> Result<Option<StartedSession>, StorageError> {
        dispatch!(self, s => s.start_session(prompt_uid, user).await)
    }

    /// Checks an event against the rules and, if accepted, stores it and
    /// updates its aggregates in one committed transaction.
    pub async fn append_event(
        &self,
        event: NewEvent,
    ) -> Result<Result<StoredEvent, Violation>, StorageError> {
        dispatch!(self, s => s.append_event(event).await)
    }

    /// Stats through `bin` (< bins) of a prompt.
    pub async fn stats(&self, prompt: &PromptRecord, bin: u32) -> Result<Stats, StorageError> {
        dispatch!(self, s => s.stats(prompt, bin).await)
    }

    /// Every bin's stats, and the version of the in-memory figures (None: read from the database).
    pub async fn timeline(
        &self,
        p: &PromptRecord,
    ) -> Result<(Timeline, Option<u64>), StorageError> {
        dispatch!(self, s => s.timeline(p).await)
    }

    /// The version of the figures [`Store::timeline`] would answer from now
    /// (None: not in memory), changing with them, never reused in a process;
    /// on PostgreSQL within the staleness bound, as stats.
    pub async fn figures_version(&self, p: &PromptRecord) -> Result<Option<u64>, StorageError> {
        dispatch!(self, s => s.figures_version(p).await)
    }

    /// Runs a search within one prompt.
    pub async fn search(
        &self,
        prompt: &PromptRecord,
        query: SearchQuery,
    ) -> Result<SearchPage, StorageError> {
        dispatch!(self, s => s.search(prompt, query).await)
    }

    /// Every event of a prompt in the one-second bucket `[k, k + 1)`, in
    /// `(prompt_time, uid)` order (for stream replay).
    pub async fn bucket_events(
        &self,
        prompt: &PromptRecord,
        bucket: i64,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        dispatch!(self, s => s.bucket_events(prompt, bucket).await)
    }

    /// One page of an export ([`search_sql::export_page`]), encoded as read ([`export`]).
    pub async fn export_chunk(
        &self,
        prompt: &PromptRecord,
        after: Option<search_sql::ExportCursor>,
        limit: usize,
        encoder: std::sync::Arc<dyn export::ExportEncoder>,
    ) -> Result<export::ExportChunk, StorageError> {
        dispatch!(self, s => s.export_chunk(prompt, after, limit, encoder).await)
    }

    /// The newest `limit` events of a prompt stored at or after `since`
    /// (unix seconds), oldest first: what pub/sub recovers after a gap.
    pub async fn committed_since(
        &self,
        prompt: &PromptRecord,
        since: f64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        dispatch!(self, s => s.committed_since(prompt, since, limit).await)
    }

    /// Verifies every prompt's aggregates against its events.
    pub async fn check(&self) -> Result<Vec<PromptCheck>, StorageError> {
        dispatch!(self, s => s.check().await)
    }

    /// The engine's plans for every range read of `prompt`'s events
    /// ([`search_sql::range_reads`]), without running them.
    pub async fn explain(&self, prompt: &PromptRecord) -> Result<Vec<QueryPlan>, StorageError> {
        dispatch!(self, s => s.explain(prompt).await)
    }

    /// Recomputes every prompt's aggregates from its events.
    pub async fn rebuild(&self) -> Result<Vec<PromptCheck>, StorageError> {
        dispatch!(self, s => s.rebuild().await)
    }

    /// One page of the admin listing of prompts, newest first, with each
    /// prompt's session and event totals.
    pub async fn prompt_page(
        &self,
        query: listing::ListQuery,
    ) -> Result<listing::PromptPage, StorageError> {
        dispatch!(self, s => s.prompt_page(query).await)
    }

    /// Erases the user `sub` (docs/api.md, "Data ownership"): their
    /// events, sessions and user row, with every aggregate and total they
    /// contributed to corrected, in one transaction; `None` when there is
    /// no such user.
    pub async fn erase_user(&self, sub: &str) -> Result<Option<erasure::Erasure>, StorageError> {
        dispatch!(self, s => s.erase_user(sub).await)
    }

    /// The named prompt `identifier` (deleted or not) with its newest instance.
    pub async fn named_prompt(
        &self,
        identifier: &str,
    ) -> Result<Option<NamedPrompt>, StorageError> {
        dispatch!(self, s => s.named_prompt(identifier).await)
    }

    /// Every named prompt not deleted, by identifier.
    pub async fn named_prompts(&self) -> Result<Vec<NamedPrompt>, StorageError> {
        dispatch!(self, s => s.named_prompts().await)
    }

    /// Creates or updates a named prompt's definition (a new version when
    /// its prompt or duration changes, or it was deleted).
    pub async fn put_named_prompt(
        &self,
        identifier: &str,
        settings: DefinitionSettings,
    ) -> Result<NamedPrompt, StorageError> {
        dispatch!(self, s => s.put_named_prompt(identifier, settings).await)
    }

    /// Soft-deletes a named prompt; returns it as it was, or `None` when it
    /// is unknown or already deleted. Its instances stay.
    pub async fn delete_named_prompt(
        &self,
        identifier: &str,
    ) -> Result<Option<NamedPrompt>, StorageError> {
        dispatch!(self, s => s.delete_named_prompt(identifier).await)
    }

    /// The current instance of a named prompt, made now when there is none
    /// (exactly one, however many callers and processes race); `None` when
    /// the identifier is unknown or deleted.
    pub async fn named_instance(
        &self,
        identifier: &str,
    ) -> Result<Option<PromptRecord>, StorageError> {
        dispatch!(self, s => s.named_instance(identifier).await)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        dispatch!(self, s => s.ping().await)
    }

    /// Every prompt that is not deleted, oldest first (for the dev-mode
    /// prompt list and `chorus demo`).
    pub async fn list_prompts(&self) -> Result<Vec<PromptRecord>, StorageError> {
        dispatch!(self, s => s.list_prompts().await)
    }
}

/// Turns the rows of a rendered search into a page: applies
/// `dropout_for_total` sampling (each row kept with probability
/// `min(1, m / count)`), random order, the limit and `next_page_sort`.
pub fn finish_search(
    query: &SearchQuery,
    mut rows: Vec<StoredEvent>,
    bucket_count: i64,
) -> SearchPage {
    use rand::Rng;
    use rand::seq::SliceRandom;
    let mut rng = rand::rng();
    if let Some(d) = query.dropout {
        let keep = if bucket_count <= 0 {
            1.0
        } else {
            (d.total as f64 / bucket_count as f64).min(1.0)
        };
        rows.retain(|_| rng.random_bool(keep));
        if query.random {
            rows.shuffle(&mut rng);
        }
        rows.truncate(query.limit);
        return SearchPage {
            items: rows,
            next_page_sort: None,
        };
    }
    let more = rows.len() > query.limit;
    rows.truncate(query.limit);
    let next_page_sort = match rows.last() {
        Some(last) if more => query.next_page_sort(last.prompt_time, &last.uid),
        _ => None,
    };
    SearchPage {
        items: rows,
        next_page_sort,
    }
}
