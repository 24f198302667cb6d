//! The PostgreSQL engine: any number of server processes share one
//! database. Each request runs in its own transaction on a pooled
//! connection, except events and new sessions: each process commits those
//! waiting together ([`batch`]). Events lock their session row (`FOR UPDATE`) so
//! two requests on one session behave as if run one after the other, even
//! across processes.

mod audit;
mod batch;
mod batch_kinds;
mod connect;
mod erase;
mod events;
mod named;
mod params;
mod presence;
mod read_cache;
mod reads;
mod sessions;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};

use self::audit::Audit;
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::prompt::{Prompt, PromptRecord};
use crate::domain::rules::Violation;
use crate::domain::search::SearchQuery;
use crate::domain::stats::{Stats, Timeline};
use crate::domain::user::UserIdentity;
use crate::storage::audit::{Mode, audit};
use crate::storage::dialect::Dialect;
use crate::storage::export::{self, ExportChunk, ExportEncoder};
use crate::storage::listing::{ListQuery, PromptPage};
use crate::storage::schema;
use crate::storage::{
    PromptCheck, QueryPlan, SearchPage, StartedSession, StorageError, search_sql,
};

/// Default pooled connections per server process
/// ([`PostgresSettings::pool_size`]).
pub const POOL_SIZE: usize = 16;

/// How the PostgreSQL engine is tuned.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresSettings {
    /// Pooled connections per server process; positive. Each process also
    /// holds one connection per batcher ([`batch`]): keep processes ×
    /// (pool size + 2) under PostgreSQL's `max_connections`.
    pub pool_size: usize,
    /// Longest a request waits for a pooled connection before it is
    /// answered 503 `storage_unavailable`.
    pub pool_wait: Duration,
    /// Longest opening a connection (or checking a pooled one) may take.
    pub connect_timeout: Duration,
    /// Longest one statement may run (PostgreSQL's `statement_timeout`);
    /// a statement cancelled by it is answered 503. `chorus check`,
    /// `rebuild` and migrations are exempt.
    pub statement_timeout: Duration,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        PostgresSettings {
            pool_size: POOL_SIZE,
            pool_wait: connect::POOL_WAIT,
            connect_timeout: connect::CONNECT_TIMEOUT,
            statement_timeout: connect::STATEMENT_TIMEOUT,
        }
    }
}

/// Lifts the statement timeout for the rest of a transaction that may
/// rightly run long (migrations, `chorus check` and `rebuild`).
const NO_STATEMENT_TIMEOUT: &str = "SET LOCAL statement_timeout = 0";

/// Advisory lock key serializing migrations across processes.
const MIGRATION_LOCK: i64 = 0x6368_6f72_7573; // "chorus"

/// The PostgreSQL engine; cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// Prompts and figures for stats and timelines ([`read_cache`]).
    cache: Arc<read_cache::ReadCache>,
    events: batch::Batcher<batch::Events>,
    sessions: batch::Batcher<batch::Sessions>,
}

/// Attempts at a write transaction PostgreSQL keeps asking to retry.
const RETRY_ATTEMPTS: u32 = 5;

/// Runs a write transaction again (after a short, growing, jittered pause)
/// while PostgreSQL aborts it with a serialization failure or a deadlock;
/// any other outcome, and the last attempt's, is returned as is.
async fn retrying<T, F, Fut>(what: &'static str, mut attempt: F) -> Result<T, StorageError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StorageError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(StorageError::Retryable(why)) if tries < RETRY_ATTEMPTS => {
                metrics::counter!(crate::metrics::TRANSACTION_RETRIES, "operation" => what)
                    .increment(1);
                tracing::warn!(operation = what, attempt = tries, %why, "retrying the transaction");
                let pause = 5u64 << tries;
                tokio::time::sleep(std::time::Duration::from_millis(
                    pause + rand::random_range(0..pause),
                ))
                .await;
                tries += 1;
            }
            other => return other,
        }
    }
}

impl PostgresStore {
    /// Connects, migrating the schema (once, even if several processes start together).
    pub async fn open(url: &str, settings: &PostgresSettings) -> Result<Self, StorageError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StorageError::Postgres(e.to_string()))?;
        let pool = connect::pool(config.clone(), settings.pool_size, settings)?;
        let cache = Arc::new(read_cache::ReadCache::default());
        let store = PostgresStore {
            events: batch::Batcher::spawn(config.clone(), settings.clone(), cache.clone()),
            sessions: batch::Batcher::spawn(config, settings.clone(), cache.clone()),
            pool,
            cache,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StorageError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(NO_STATEMENT_TIMEOUT).await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(schema::MIGRATIONS_TABLE).await?;
        let applied: Vec<i64> = tx
            .query("SELECT version::BIGINT FROM chorus_migrations", &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for (version, sql) in schema::migrations(Dialect::Postgres) {
            if !applied.contains(&version) {
                tx.batch_execute(&sql).await?;
                tx.execute(
                    "INSERT INTO chorus_migrations(version, applied_at) VALUES ($1, $2)",
                    &[&(version as i32), &crate::domain::clock::now()],
                )
                .await?;
                tracing::info!(version, "applied PostgreSQL migration");
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`crate::storage::Store::create_prompt`].
    pub async fn create_prompt(
        &self,
        prompt: Prompt,
        duration_seconds: i64,
    ) -> Result<PromptRecord, StorageError> {
        writes::create_prompt(&self.pool.get().await?, prompt, duration_seconds).await
    }

    /// See [`crate::storage::Store::prompt`].
    pub async fn prompt(&self, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
        reads::prompt_by_uid(&self.pool.get().await?, uid).await
    }

    /// See [`crate::storage::Store::list_prompts`].
    pub async fn list_prompts(&self) -> Result<Vec<PromptRecord>, StorageError> {
        reads::live_prompts(&self.pool.get().await?).await
    }

    /// See [`crate::storage::Store::prompt_page`].
    pub async fn prompt_page(&self, query: ListQuery) -> Result<PromptPage, StorageError> {
        reads::prompt_page(&self.pool.get().await?, &query).await
    }

    /// See [`crate::storage::Store::delete_prompt`].
    pub async fn delete_prompt(&self, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
        let client = self.pool.get().await?;
        writes::delete_prompt(&client, uid).await
    }

    /// See [`crate::storage::Store::start_session`].
    pub async fn start_session(
        &self,
        prompt_uid: &str,
        user: UserIdentity,
    ) -> Result<Option<StartedSession>, StorageError> {
        let prompt_uid = prompt_uid.to_owned();
        self.sessions
            .submit(sessions::NewSession { prompt_uid, user })
            .await
    }

    /// See [`crate::storage::Store::append_event`].
    pub async fn append_event(
        &self,
        event: NewEvent,
    ) -> Result<Result<StoredEvent, Violation>, StorageError> {
        self.events.submit(event).await
    }

    /// See [`crate::storage::Store::read_prompt`]: from this process's
    /// cache, read again at most once per [`read_cache::STALENESS_BOUND`].
    pub async fn read_prompt(&self, uid: &str) -> Result<Option<PromptRecord>, StorageError> {
        let (pool, key) = (self.pool.clone(), uid.to_owned());
        let slot = self.cache.prompts.slot(&key);
        let record = slot
            .get(move || async move { reads::prompt_by_uid(&pool.get().await?, &key).await })
            .await?;
        Ok((*record).clone())
    }

    /// A prompt's figures from this process's cache ([`read_cache`]).
    async fn figures(
        &self,
        prompt: &PromptRecord,
    ) -> Result<Arc<read_cache::Figures>, StorageError> {
        let (pool, prompt) = (self.pool.clone(), prompt.clone());
        let slot = self.cache.figures.slot(&prompt.id);
        let held = slot.clone();
        slot.get(move || async move {
            metrics::counter!(crate::metrics::AGGREGATE_READS).increment(1);
            let arrays = reads::fenwick_arrays(&pool.get().await?, &prompt).await?;
            Ok(read_cache::Figures::new(arrays, held.held().as_deref()))
        })
        .await
    }

    /// See [`crate::storage::Store::stats`]: from this process's cache.
    pub async fn stats(&self, prompt: &PromptRecord, bin: u32) -> Result<Stats, StorageError> {
        Ok(self
            .figures(prompt)
            .await?
            .arrays
            .stats(&prompt.prompt, bin))
    }

    /// See [`crate::storage::Store::timeline`]: from this process's cache.
    pub async fn timeline(
        &self,
        prompt: &PromptRecord,
    ) -> Result<(Timeline, Option<u64>), StorageError> {
        let figures = self.figures(prompt).await?;
        Ok((
            figures.arrays.timeline(&prompt.prompt),
            Some(figures.version),
        ))
    }

    /// See [`crate::storage::Store::figures_version`]: of the copy the
    /// cache would serve now (read again first if past the staleness bound).
    pub async fn figures_version(
        &self,
        prompt: &PromptRecord,
    ) -> Result<Option<u64>, StorageError> {
        Ok(Some(self.figures(prompt).await?.version))
    }

    /// Makes this process read a prompt's figures again before serving
    /// them: for a write outside the event batches that changes its
    /// aggregates (other processes see it within the staleness bound).
    pub fn forget_figures(&self, prompt_id: i64) {
        self.cache.invalidate(prompt_id);
    }

    /// See [`crate::storage::Store::search`].
    pub async fn search(
        &self,
        prompt: &PromptRecord,
        query: SearchQuery,
    ) -> Result<SearchPage, StorageError> {
        let client = self.pool.get().await?;
        let (sql, params) = search_sql::render(prompt.id, &query);
        let rows = reads::query_events(&client, &sql, params, &prompt.uid).await?;
        let count = match query.dropout {
            Some(d) => reads::bucket_count(&client, prompt.id, d.bucket).await?,
            None => 0,
        };
        Ok(crate::storage::finish_search(&query, rows, count))
    }

    /// See [`crate::storage::Store::bucket_events`].
    pub async fn bucket_events(
        &self,
        prompt: &PromptRecord,
        bucket: i64,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let (sql, params) = search_sql::bucket(prompt.id, bucket);
        reads::query_events(&self.pool.get().await?, &sql, params, &prompt.uid).await
    }

    /// See [`crate::storage::Store::presence_sample`].
    pub async fn presence_sample(
        &self,
        prompt_id: i64,
        nodes: &[i64],
        range: (i64, i64),
        per_node: i64,
    ) -> Result<Vec<crate::storage::presence::SampledRow>, StorageError> {
        let client = self.pool.get().await?;
        presence::sample(&client, prompt_id, nodes, range, per_node).await
    }

    /// See [`crate::storage::Store::export_chunk`]. The rows are encoded
    /// one at a time as they are decoded, on the task that received them.
    pub async fn export_chunk(
        &self,
        prompt: &PromptRecord,
        after: Option<search_sql::ExportCursor>,
        limit: usize,
        encoder: std::sync::Arc<dyn ExportEncoder>,
    ) -> Result<ExportChunk, StorageError> {
        let (sql, params) = search_sql::export_page(prompt.id, after.as_ref(), limit);
        let rows = reads::query_rows(&self.pool.get().await?, &sql, params).await?;
        let events = rows.iter().map(|r| reads::event_from_row(r, &prompt.uid));
        export::encode_rows(events, limit, &*encoder)
    }

    /// See [`crate::storage::Store::explain`].
    pub async fn explain(&self, prompt: &PromptRecord) -> Result<Vec<QueryPlan>, StorageError> {
        let client = self.pool.get().await?;
        let mut out = Vec::new();
        for (name, sql, params) in search_sql::range_reads(prompt.id, &prompt.uid) {
            let plan = reads::explain(&client, &sql, params).await?;
            out.push(QueryPlan { name, sql, plan });
        }
        Ok(out)
    }

    /// See [`crate::storage::Store::committed_since`].
    pub async fn committed_since(
        &self,
        prompt: &PromptRecord,
        since: f64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let (sql, params) = search_sql::committed_since(prompt.id, since, limit);
        let mut events =
            reads::query_events(&self.pool.get().await?, &sql, params, &prompt.uid).await?;
        events.reverse();
        Ok(events)
    }

    /// See [`crate::storage::Store::check`].
    pub async fn check(&self) -> Result<Vec<PromptCheck>, StorageError> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        tx.batch_execute(NO_STATEMENT_TIMEOUT).await?;
        let out = audit(&mut Audit(&tx), Mode::Check).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// See [`crate::storage::Store::rebuild`]. Blocks event writes meanwhile.
    pub async fn rebuild(&self) -> Result<Vec<PromptCheck>, StorageError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(NO_STATEMENT_TIMEOUT).await?;
        tx.batch_execute("LOCK TABLE interactive_prompt_events IN EXCLUSIVE MODE")
            .await?;
        let out = audit(&mut Audit(&tx), Mode::Rebuild).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// See [`crate::storage::Store::ping`].
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.pool.get().await?.query_one("SELECT 1", &[]).await?;
        Ok(())
    }
}
