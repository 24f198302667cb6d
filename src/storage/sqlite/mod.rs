//! The embedded SQLite engine: one writer thread with group commit
//! ([`writer`]) and a pool of read-only connections for queries.
//!
//! SQLite allows one writer at a time, so this engine serves exactly one
//! server process; use PostgreSQL to run several.

mod audit;
pub mod backup;
mod cache;
mod connection;
mod durability;
mod erase;
mod export;
pub mod flush;
mod job;
mod named;
mod presence;
mod read_pool;
mod reads;
mod writer;
mod writes;

pub use self::connection::{CACHE_PRAGMAS, PRAGMAS};
pub use self::writes::{INSERT_EVENT, INSERT_SESSION};

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::Connection;

use self::audit::Audit;
use self::cache::Hot;
use self::read_pool::ReadPool;
use self::writer::Writer;
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::prompt::{Prompt, PromptRecord};
use crate::domain::rules::Violation;
use crate::domain::search::SearchQuery;
use crate::domain::stats::{Stats, Timeline};
use crate::domain::user::UserIdentity;
use crate::storage::audit::Mode;
use crate::storage::listing::{ListQuery, PromptPage};
use crate::storage::presence::SampledRow;
use crate::storage::{
    PromptCheck, QueryPlan, SearchPage, StartedSession, StorageError, search_sql,
};

/// Where the database lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// A file (created if missing).
    File(PathBuf),
    /// Memory, gone when the process exits (tests and demos).
    Memory,
}

/// How the SQLite engine is tuned.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteSettings {
    /// WAL length, in frames of about 4 KiB, past which the checkpointer
    /// restarts the WAL (see [`connection::checkpointer`]); positive.
    pub wal_restart_frames: i64,
    /// Most pages (of 4 KiB) the database file may hold: an operator's
    /// quota. Past it, writes are answered 503 and nothing partial is
    /// kept; reads go on. None: no limit but the disk's.
    pub max_page_count: Option<u64>,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        SqliteSettings {
            wal_restart_frames: connection::RESTART_AFTER_FRAMES,
            max_page_count: None,
        }
    }
}

/// The SQLite engine; cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: Option<Arc<ReadPool>>,
    hot: Arc<Hot>,
    /// The checkpointer stops once every clone of the store is gone.
    _alive: Arc<()>,
}

impl SqliteStore {
    /// Opens the database, migrating it, and starts the writer.
    pub async fn open(location: Location, settings: &SqliteSettings) -> Result<Self, StorageError> {
        let restart_after = settings.wal_restart_frames;
        let max_pages = settings.max_page_count;
        tokio::task::spawn_blocking(move || {
            let (mut conn, readers) = match &location {
                Location::File(path) => {
                    let conn = connection::open(path)?;
                    (conn, Some(Arc::new(ReadPool::new(path.clone()))))
                }
                Location::Memory => (connection::open_memory()?, None),
            };
            connection::migrate(&mut conn)?;
            if let Some(pages) = max_pages {
                // Per connection: the writer's is the one that grows the file.
                conn.pragma_update(None, "max_page_count", pages)?;
            }
            let alive = Arc::new(());
            let sync = match &location {
                Location::File(path) => {
                    connection::checkpointer(path, Arc::downgrade(&alive), restart_after)?;
                    let wal = connection::open_wal(path)?;
                    Some(Box::new(move || wal.sync_data()) as durability::SyncFn)
                }
                Location::Memory => None,
            };
            let hot = Arc::new(Hot::default());
            Ok(SqliteStore {
                writer: Writer::spawn(conn, hot.clone(), sync),
                readers,
                hot,
                _alive: alive,
            })
        })
        .await
        .map_err(|_| StorageError::Stopped)?
    }

    /// Runs a read on a pooled read-only connection (or, in memory, on the writer).
    async fn read<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        match &self.readers {
            Some(pool) => pool.run(f).await,
            None => self.writer.run(move |conn, _| f(conn)).await,
        }
    }

    /// See [`crate::storage::Store::create_prompt`].
    pub async fn create_prompt(
        &self,
        prompt: Prompt,
        duration_seconds: i64,
    ) -> Result<PromptRecord, StorageError> {
        self.writer
            .run(move |c, _| writes::create_prompt(c, prompt, duration_seconds))
            .await
    }

    /// See [`crate::storage::Store::prompt`]. Prompts the writer has seen
    /// are answered from memory; others are read, and the writer is asked
    /// to remember them.
    pub async fn prompt(&self, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
        if let Some(p) = self.hot.prompt(uid) {
            return Ok(Some(PromptRecord::clone(&p)));
        }
        let uid = uid.to_owned();
        let found = {
            let uid = uid.clone();
            self.read(move |c| reads::prompt_by_uid(c, &uid)).await?
        };
        if found.is_some() {
            self.writer
                .spawn_job(move |c, ctx| writes::prompt_by_uid(c, ctx, &uid).map(|_| ()));
        }
        Ok(found)
    }

    /// See [`crate::storage::Store::delete_prompt`].
    pub async fn delete_prompt(&self, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
        let uid = uid.to_owned();
        self.writer
            .run(move |c, ctx| writes::delete_prompt(c, ctx, &uid))
            .await
    }

    /// See [`crate::storage::Store::start_session`].
    pub async fn start_session(
        &self,
        prompt_uid: &str,
        user: UserIdentity,
    ) -> Result<Option<StartedSession>, StorageError> {
        let prompt_uid = prompt_uid.to_owned();
        self.writer
            .run_single_write(move |c, ctx| writes::start_session(c, ctx, &prompt_uid, &user))
            .await
    }

    /// See [`crate::storage::Store::append_event`].
    pub async fn append_event(
        &self,
        event: NewEvent,
    ) -> Result<Result<StoredEvent, Violation>, StorageError> {
        let job = writes::append_job(event);
        let done = self.writer.run_single_write(job).await?;
        Ok(done.map(writes::Appended::into_stored))
    }

    /// Asks the writer to keep `prompt`'s Fenwick arrays in memory.
    fn warm_trees(&self, prompt: &PromptRecord) {
        let prompt = prompt.clone();
        self.writer.spawn_job(move |c, ctx| {
            if !ctx.hot.has_trees(prompt.id) {
                metrics::counter!(crate::metrics::AGGREGATE_READS).increment(1);
                let stored = reads::stored_aggregates(c, prompt.id)?;
                ctx.hot.load_trees(&prompt, &stored, ctx.committed);
            }
            Ok(())
        });
    }

    /// See [`crate::storage::Store::stats`]: from memory once the prompt's
    /// arrays are kept, else from its O(log bins) rows.
    pub async fn stats(&self, prompt: &PromptRecord, bin: u32) -> Result<Stats, StorageError> {
        if let Some(stats) = self.hot.stats(prompt, bin) {
            return Ok(stats);
        }
        self.warm_trees(prompt);
        let prompt = prompt.clone();
        metrics::counter!(crate::metrics::AGGREGATE_READS).increment(1);
        self.read(move |c| reads::stats(c, &prompt, bin)).await
    }

    /// See [`crate::storage::Store::timeline`]: from memory once the
    /// prompt's arrays are kept (versioned), else from all its rows.
    pub async fn timeline(
        &self,
        prompt: &PromptRecord,
    ) -> Result<(Timeline, Option<u64>), StorageError> {
        if let Some((timeline, version)) = self.hot.timeline(prompt) {
            return Ok((timeline, Some(version)));
        }
        self.warm_trees(prompt);
        let prompt = prompt.clone();
        metrics::counter!(crate::metrics::AGGREGATE_READS).increment(1);
        let timeline = self.read(move |c| reads::timeline(c, &prompt)).await?;
        Ok((timeline, None))
    }

    /// See [`crate::storage::Store::figures_version`].
    pub async fn figures_version(
        &self,
        prompt: &PromptRecord,
    ) -> Result<Option<u64>, StorageError> {
        Ok(self.hot.version(prompt.id))
    }

    /// See [`crate::storage::Store::search`].
    pub async fn search(
        &self,
        prompt: &PromptRecord,
        query: SearchQuery,
    ) -> Result<SearchPage, StorageError> {
        let (id, uid) = (prompt.id, prompt.uid.clone());
        self.read(move |c| {
            let (sql, params) = search_sql::render(id, &query);
            let rows = reads::query_events(c, &sql, params, &uid)?;
            let count = match query.dropout {
                Some(d) => reads::bucket_count(c, id, d.bucket)?,
                None => 0,
            };
            Ok(crate::storage::finish_search(&query, rows, count))
        })
        .await
    }

    /// See [`crate::storage::Store::bucket_events`].
    pub async fn bucket_events(
        &self,
        prompt: &PromptRecord,
        bucket: i64,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let (id, uid) = (prompt.id, prompt.uid.clone());
        self.read(move |c| {
            let (sql, params) = search_sql::bucket(id, bucket);
            reads::query_events(c, &sql, params, &uid)
        })
        .await
    }

    /// See [`crate::storage::Store::explain`].
    pub async fn explain(&self, prompt: &PromptRecord) -> Result<Vec<QueryPlan>, StorageError> {
        let reads_of = search_sql::range_reads(prompt.id, &prompt.uid);
        self.read(move |c| {
            let plan = |(name, sql, params): search_sql::NamedQuery| {
                let plan = reads::explain(c, &sql, params)?;
                Ok(QueryPlan { name, sql, plan })
            };
            reads_of.into_iter().map(plan).collect()
        })
        .await
    }

    /// See [`crate::storage::Store::committed_since`].
    pub async fn committed_since(
        &self,
        prompt: &PromptRecord,
        since: f64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let (id, uid) = (prompt.id, prompt.uid.clone());
        self.read(move |c| {
            let (sql, params) = search_sql::committed_since(id, since, limit);
            let mut events = reads::query_events(c, &sql, params, &uid)?;
            events.reverse();
            Ok(events)
        })
        .await
    }

    /// See [`crate::storage::Store::check`].
    pub async fn check(&self) -> Result<Vec<PromptCheck>, StorageError> {
        // One read transaction: every query sees the same snapshot, even
        // while the writer commits events meanwhile.
        // (In memory, the read runs inside the writer's transaction.)
        self.read(|c| {
            let own = c.is_autocommit();
            if own {
                c.execute_batch("BEGIN")?;
            }
            let out = Audit(c).run(Mode::Check);
            if own {
                let _ = c.execute_batch("COMMIT");
            }
            out
        })
        .await
    }

    /// See [`crate::storage::Store::rebuild`].
    pub async fn rebuild(&self) -> Result<Vec<PromptCheck>, StorageError> {
        self.writer
            .run(|c, ctx| {
                ctx.invalidate = true;
                Audit(c).run(Mode::Rebuild)
            })
            .await
    }

    /// See [`crate::storage::Store::presence_sample`].
    pub async fn presence_sample(
        &self,
        prompt_id: i64,
        nodes: &[i64],
        range: (i64, i64),
        per_node: i64,
    ) -> Result<Vec<SampledRow>, StorageError> {
        let nodes = nodes.to_vec();
        self.read(move |c| presence::sample(c, prompt_id, &nodes, range, per_node))
            .await
    }

    /// See [`crate::storage::Store::list_prompts`].
    pub async fn list_prompts(&self) -> Result<Vec<PromptRecord>, StorageError> {
        self.read(reads::live_prompts).await
    }

    /// See [`crate::storage::Store::prompt_page`].
    pub async fn prompt_page(&self, query: ListQuery) -> Result<PromptPage, StorageError> {
        self.read(move |c| reads::prompt_page(c, &query)).await
    }

    /// See [`crate::storage::Store::ping`]: fails too once the writer can
    /// no longer vouch for its writes (a failed fsync).
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.writer.check()?;
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }
}
