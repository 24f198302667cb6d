//! Group commit on PostgreSQL, for events and sessions (docs/scaling.md,
//! "Group commit per process").
//!
//! With a transaction per event, every event of a premiere queued behind
//! the same hot Fenwick rows (the top positions of each tree) until the
//! previous event's commit reached the disk: a few hundred events a second
//! for the whole cluster. Here each process queues its events and one
//! thread (with its own runtime and connection) commits every event
//! waiting as one transaction
//! ([`events::append_events`]): the hot rows are locked once per batch, and
//! one WAL flush covers the batch. Sessions are batched the same way (a
//! commit per session was the next limit). Each request is answered only
//! after its batch committed.
//!
//! A batch of events costs two round trips, whatever its size: its
//! `BEGIN`, transaction id and reads (prompts, sessions locked, their
//! histories) are sent at once, and once the rules have decided, its
//! writes and its `COMMIT` are sent at once; PostgreSQL runs each
//! statement after the one before, so the order of locks is the order
//! sent. The aggregate upserts are sent last, so the hot rows are held
//! only while the upserts and the commit's WAL flush run.
//!
//! While the database is away (a connection lost, PostgreSQL restarting),
//! a batch is tried again on a fresh connection for up to
//! [`OUTAGE_PATIENCE`], then its requests are answered 503. A batch whose
//! `COMMIT` was sent but whose answer was lost with the connection may or
//! may not have committed: before anything else, the batcher asks on a
//! fresh connection for its transaction's status (`txid_status`, waiting
//! while the old backend has not finished it, and up to
//! [`RESOLVE_PATIENCE`] for the database to return) and answers as
//! committed if it committed, so a stored event is acknowledged and
//! published, never refused as a duplicate of itself.
//!
//! If a batch fails for any other reason than a rule or an outage (a
//! storage error that retrying did not cure), its requests are run again
//! one per transaction, so a failure stays with the request that caused it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Client, Pool};
use tokio::sync::{mpsc, oneshot};

pub use super::batch_kinds::{Events, Sessions};
use super::read_cache::ReadCache;
use super::{PostgresSettings, connect, retrying};
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;

/// Most requests committed together.
pub const MAX_BATCH: usize = 512;

/// A statement sent on a connection, its answer to come: the futures of a
/// pipeline, each sending its statement at its first poll.
pub type Sent<'a> = Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>>;

/// A write that many requests can share one transaction for, in two
/// steps: its reads and decisions (sent right behind the `BEGIN`), then
/// its writes (sent right before the `COMMIT`).
pub trait BatchWrite: 'static {
    /// What one request asks for.
    type Item: Send + Sync + 'static;
    /// What it gets back once committed.
    type Output: Send + 'static;
    /// Its statements, prepared once per connection.
    type Statements: Send + Sync;
    /// What a batch decided inside its transaction, left to write.
    type Decided: Send + Sync;
    /// The operation, in retry metrics and logs.
    const NAME: &'static str;
    /// Finds whether a row this batch wrote, by uid, is stored.
    const STORED: &'static str;
    /// The uid of one row the batch wrote, if it wrote any.
    fn written(outputs: &[Self::Output]) -> Option<&str>;
    /// Prepares the statements on `c` (a cache lookup after the first time).
    fn prepare(
        c: &Client,
    ) -> impl Future<Output = Result<Self::Statements, StorageError>> + Send + '_;
    /// Reads and decides, in order, inside the open transaction: the
    /// future sends its first statements at its first poll (pipelined
    /// behind the `BEGIN`).
    fn decide<'a>(
        c: &'a Client,
        s: &'a Self::Statements,
        items: &'a [&'a Self::Item],
    ) -> impl Future<Output = Result<Self::Decided, StorageError>> + Send + 'a;
    /// Each item's output and the aggregate deltas of what was decided.
    fn outcome(decided: Self::Decided) -> Written<Self::Output>;
    /// The deltas the batch is about to commit.
    fn pending(decided: &Self::Decided) -> &PendingAggregates;
    /// The writes left, each sent at its future's first poll, in the
    /// order every transaction locks rows; the `COMMIT` is sent after them.
    fn write<'a>(
        c: &'a Client,
        s: &'a Self::Statements,
        decided: &'a Self::Decided,
    ) -> Vec<Sent<'a>>;
}

/// What a batch wrote: each item's output, and the aggregate deltas.
pub type Written<T> = (Vec<T>, PendingAggregates);

struct Job<W: BatchWrite> {
    item: W::Item,
    answer: oneshot::Sender<Result<W::Output, StorageError>>,
}

/// The queue of requests waiting for the next batch; cheap to clone.
pub struct Batcher<W: BatchWrite> {
    jobs: mpsc::Sender<Job<W>>,
}

impl<W: BatchWrite> Clone for Batcher<W> {
    fn clone(&self) -> Self {
        Batcher {
            jobs: self.jobs.clone(),
        }
    }
}

impl<W: BatchWrite> Batcher<W> {
    /// Starts the batching thread, with a connection of its own to the
    /// database of `config`; it ends when every handle is dropped.
    ///
    /// The thread runs its own runtime, like the SQLite writer: a batch is a
    /// handful of round trips one after another, and on the server's
    /// runtime each would wait its turn behind thousands of stream viewers
    /// (a premiere on PostgreSQL posted 182 of the 1,000 events a second it
    /// asked for, its participants waiting on their slow answers).
    ///
    /// Each batch tells `cache` which prompts' Fenwick rows it is
    /// committing, and their deltas once committed, before answering.
    pub fn spawn(
        config: tokio_postgres::Config,
        settings: PostgresSettings,
        cache: Arc<ReadCache>,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 8);
        std::thread::Builder::new()
            .name(format!("chorus-pg-{}", W::NAME))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the PostgreSQL batcher");
                runtime.block_on(async move {
                    match connect::pool(config, 1, &settings) {
                        Ok(pool) => run::<W>(pool, cache, rx).await,
                        Err(e) => tracing::error!(error = %e, "no PostgreSQL pool for batches"),
                    }
                });
            })
            .expect("spawn the PostgreSQL batcher thread");
        Batcher { jobs }
    }

    /// Writes `item` in the next batch; returns once that batch committed.
    pub async fn submit(&self, item: W::Item) -> Result<W::Output, StorageError> {
        let (answer, outcome) = oneshot::channel();
        self.jobs
            .send(Job { item, answer })
            .await
            .map_err(|_| StorageError::Stopped)?;
        outcome.await.map_err(|_| StorageError::Stopped)?
    }
}

async fn run<W: BatchWrite>(pool: Pool, cache: Arc<ReadCache>, mut rx: mpsc::Receiver<Job<W>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let ends = Ends {
        pool: &pool,
        cache: &cache,
    };
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit::<W>(ends, std::mem::take(&mut batch)).await;
    }
}

/// Where a batch goes: the connection, and the cache it keeps current.
#[derive(Clone, Copy)]
struct Ends<'a> {
    pool: &'a Pool,
    cache: &'a ReadCache,
}

/// Commits `jobs` as one transaction (retried while PostgreSQL asks, or
/// while it is away) and answers each; on a failure other than an outage,
/// runs each alone.
async fn commit<W: BatchWrite>(ends: Ends<'_>, jobs: Vec<Job<W>>) {
    metrics::histogram!(crate::metrics::COMMIT_BATCH).record(jobs.len() as f64);
    let items: Vec<&W::Item> = jobs.iter().map(|j| &j.item).collect();
    match transaction::<W>(ends, &items).await {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.answer.send(Ok(result));
            }
        }
        Err(StorageError::Unavailable(why)) => {
            for job in jobs {
                let _ = job.answer.send(Err(StorageError::Unavailable(why.clone())));
            }
        }
        Err(e) if jobs.len() == 1 => {
            let job = jobs.into_iter().next().expect("one job");
            let _ = job.answer.send(Err(e));
        }
        Err(e) => {
            tracing::warn!(error = %e, operation = W::NAME, requests = jobs.len(), "a batch failed; committing its requests one by one");
            for job in jobs {
                let outcome = transaction::<W>(ends, &[&job.item])
                    .await
                    .map(|mut r| r.pop().expect("one result"));
                let _ = job.answer.send(outcome);
            }
        }
    }
}

/// How long a batch is tried again while the database is away, before its
/// requests are answered 503 `storage_unavailable`.
pub const OUTAGE_PATIENCE: Duration = Duration::from_secs(2);
/// How long the batcher waits for the database to return to learn whether
/// a batch whose commit answer was lost committed.
pub const RESOLVE_PATIENCE: Duration = Duration::from_secs(30);
/// Pause between tries while the database is away.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// A batch whose `COMMIT` was sent on a connection that was lost before
/// its answer came: the results it would have, if it committed, and its
/// transaction id.
struct CommitUnknown<T>(Vec<T>, i64);

/// The transaction's id, asked for beside its first writes (pipelined: no
/// round trip of its own), to learn its fate if its commit answer is lost.
const TXID: &str = "SELECT txid_current()";
/// `committed`, `aborted` or `in progress` (NULL if too old to tell).
const TXID_STATUS: &str = "SELECT txid_status($1)";
/// Pause between asking whether a lost commit's transaction has ended.
const SETTLE_PAUSE: Duration = Duration::from_millis(10);

async fn transaction<W: BatchWrite>(
    ends: Ends<'_>,
    items: &[&W::Item],
) -> Result<Vec<W::Output>, StorageError> {
    let started = Instant::now();
    loop {
        let error = match retrying(W::NAME, || attempt::<W>(ends, items)).await {
            Ok(Ok(results)) => return Ok(results),
            Ok(Err(CommitUnknown(results, xid))) => {
                match resolve::<W>(ends.pool, &results, xid).await? {
                    true => return Ok(results),
                    false => StorageError::Unavailable("the connection was lost at commit".into()),
                }
            }
            Err(e) => e,
        };
        if !matches!(error, StorageError::Unavailable(_)) || started.elapsed() >= OUTAGE_PATIENCE {
            return Err(error);
        }
        tracing::warn!(error = %error, operation = W::NAME, "PostgreSQL is away; trying the batch again");
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}

/// One try, on a pooled connection, in two round trips (more only where
/// a batch's reads depend on one another, as for sessions): `BEGIN`, the
/// transaction's id and the batch's reads sent at once; then, once the
/// rules decided, the batch's writes and its `COMMIT` sent at once.
async fn attempt<W: BatchWrite>(
    ends: Ends<'_>,
    items: &[&W::Item],
) -> Result<Result<Vec<W::Output>, CommitUnknown<W::Output>>, StorageError> {
    let client = ends.pool.get().await?;
    let statements = W::prepare(&client).await?;
    let txid = client.prepare_cached(TXID).await?;
    let started = Instant::now();
    let (begun, xid, decided) = tokio::join!(
        biased;
        client.batch_execute("BEGIN"),
        client.query_one(&txid, &[]),
        W::decide(&client, &statements, items),
    );
    let read = begun
        .map_err(StorageError::from)
        .and_then(|()| Ok(xid?.get::<_, i64>(0)))
        .and_then(|xid| Ok((xid, decided?)));
    let (xid, decided) = match read {
        Ok(read) => read,
        Err(e) => {
            // Nothing was sent after the reads: end the transaction, or
            // drop a connection that cannot.
            if client.batch_execute("ROLLBACK").await.is_err() {
                let _ = deadpool_postgres::Object::take(client);
            }
            return Err(e);
        }
    };
    // The stats cache learns of the commit before it is sent, and of its
    // deltas before any of its requests is answered (an unknown outcome
    // makes it read the prompt's figures again).
    let writing = ends.cache.begin(W::pending(&decided));
    let mut sent = W::write(&client, &statements, &decided);
    sent.push(Box::pin(async {
        client.batch_execute("COMMIT").await.map(|()| 0)
    }));
    // Answers come in the order sent: the first error is the cause (after
    // it, PostgreSQL refuses the rest of the transaction, and its COMMIT
    // rolls back).
    let failed = futures::future::join_all(sent)
        .await
        .into_iter()
        .find_map(Result::err)
        .map(StorageError::from);
    writing.end(failed.is_none());
    let (results, _) = W::outcome(decided);
    match failed {
        None => {}
        // PostgreSQL refused a write or the commit: nothing was written.
        Some(e) if !matches!(e, StorageError::Unavailable(_)) => return Err(e),
        // The connection was lost with the COMMIT sent: it may have run.
        Some(e) => {
            tracing::warn!(error = %e, operation = W::NAME, "the answer to a COMMIT was lost; checking whether it committed");
            return Ok(Err(CommitUnknown(results, xid)));
        }
    }
    metrics::histogram!(crate::metrics::COMMIT_DURATION, "engine" => "postgres")
        .record(started.elapsed().as_secs_f64());
    Ok(Ok(results))
}

/// Whether a batch whose commit answer was lost committed, asked on a
/// fresh connection for up to [`RESOLVE_PATIENCE`]. Its transaction's
/// status is read with `txid_status`, waiting while it is still `in
/// progress`: the lost connection's backend may not have run the `COMMIT`
/// yet, and a look at the rows then would wrongly find nothing. (Should
/// the status be unknown, one of its rows is looked up: a transaction
/// commits whole or not at all.)
async fn resolve<W: BatchWrite>(
    pool: &Pool,
    results: &[W::Output],
    xid: i64,
) -> Result<bool, StorageError> {
    let Some(uid) = W::written(results) else {
        // It wrote nothing the answers depend on.
        return Ok(true);
    };
    let deadline = Instant::now() + RESOLVE_PATIENCE;
    loop {
        let looked = async {
            let client = pool.get().await?;
            let status: Option<String> = client.query_one(TXID_STATUS, &[&xid]).await?.get(0);
            let stored = match status.as_deref() {
                Some("committed") => Some(true),
                Some("aborted") => Some(false),
                Some(_) => None,
                None => Some(client.query_one(W::STORED, &[&uid]).await?.get(0)),
            };
            Ok::<Option<bool>, StorageError>(stored)
        };
        let (pause, error) = match looked.await {
            Ok(Some(stored)) => return Ok(stored),
            Ok(None) => (
                SETTLE_PAUSE,
                "its transaction is still in progress".to_owned(),
            ),
            Err(e) => (RECONNECT_PAUSE, e.to_string()),
        };
        if Instant::now() >= deadline {
            tracing::error!(error = %error, operation = W::NAME, "could not learn whether a batch committed");
            return Err(StorageError::Unavailable(format!(
                "the outcome of this write is unknown: {error}"
            )));
        }
        tokio::time::sleep(pause).await;
    }
}
