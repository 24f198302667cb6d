//! The single SQLite writer: one thread, one connection, group commit.
//!
//! Jobs queue on a channel; the writer takes every job waiting (up to
//! [`MAX_BATCH`]), runs each inside its own savepoint of one transaction,
//! flushes the batch's merged aggregate deltas, commits once, and only
//! then answers each job. A job that fails rolls back alone.
//!
//! Durability is pipelined: the connection commits without waiting for
//! the disk (`synchronous = NORMAL`), and a second thread fsyncs the WAL
//! file and only then answers the batch's jobs, while the writer already
//! runs the next batch. A `201` still means the event is on disk, as with
//! `synchronous = FULL`, but the writer no longer idles during the fsync
//! and one fsync covers every batch committed while the previous one ran.
//!
//! Being the only writer, it also keeps the caches of [`super::cache`]:
//! jobs read and update them through their [`JobCtx`]; after a commit the
//! batch's deltas reach the shared Fenwick arrays before anyone is
//! answered; anything it cannot vouch for is dropped.

use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::cache::{Hot, WriterCache};
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;

/// What a job may use besides the connection.
pub struct JobCtx<'a> {
    /// Aggregate deltas; add them only once every statement succeeded.
    pub agg: &'a mut PendingAggregates,
    /// The writer's private cache.
    pub cache: &'a mut WriterCache,
    /// The cache shared with readers.
    pub hot: &'a Hot,
    /// Set by a job that rewrote aggregates wholesale: every cache is
    /// dropped after the batch.
    pub invalidate: bool,
}

/// Most jobs committed together.
pub const MAX_BATCH: usize = 2048;

/// Sends a job's answer once its transaction has committed (or failed).
pub type Completion = Box<dyn FnOnce(Result<(), &StorageError>) + Send>;
type JobFn = Box<dyn FnOnce(&Connection, &mut JobCtx<'_>) -> (bool, Completion) + Send>;

/// A queued job.
struct Job {
    /// Whether it runs inside its own savepoint (needed unless its only
    /// write is its last statement, which SQLite undoes alone on failure).
    savepoint: bool,
    run: JobFn,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`, keeping `hot` up to date, and
    /// the thread that makes its commits durable by syncing `wal` (the
    /// database's WAL file; None in memory) before answering.
    pub fn spawn(conn: Connection, hot: Arc<Hot>, wal: Option<File>) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        let (synced, to_sync) = std::sync::mpsc::channel::<Committed>();
        std::thread::Builder::new()
            .name("chorus-sqlite-sync".into())
            .spawn(move || sync(wal, to_sync))
            .expect("spawn the SQLite sync thread");
        std::thread::Builder::new()
            .name("chorus-sqlite-writer".into())
            .spawn(move || run(conn, rx, hot, synced))
            .expect("spawn the SQLite writer thread");
        Writer { jobs }
    }

    /// Runs `f` in the writer's next transaction and returns its result
    /// once that transaction has committed. `f` may add aggregate deltas;
    /// it must add them only once all its statements have succeeded.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut JobCtx<'_>) -> Result<T, StorageError> + Send + 'static,
    {
        self.queue(true, f).await
    }

    /// Like [`Self::run`], for a job whose only write is its last
    /// statement, or which wraps its writes in a savepoint itself (and
    /// whose cache updates follow them): it runs without the writer's
    /// savepoint, since a failed statement leaves no trace.
    pub async fn run_single_write<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut JobCtx<'_>) -> Result<T, StorageError> + Send + 'static,
    {
        self.queue(false, f).await
    }

    async fn queue<T, F>(&self, savepoint: bool, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut JobCtx<'_>) -> Result<T, StorageError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let run: JobFn = Box::new(move |conn, ctx| {
            let result = f(conn, ctx);
            let ok = result.is_ok();
            let done: Completion = Box::new(move |commit: Result<(), &StorageError>| {
                let answer = match commit {
                    Ok(()) => result,
                    Err(e) => result.and(Err(StorageError::Commit(e.to_string()))),
                };
                let _ = tx.send(answer);
            });
            (ok, done)
        });
        self.jobs
            .send(Job { savepoint, run })
            .await
            .map_err(|_| StorageError::Stopped)?;
        rx.await.map_err(|_| StorageError::Stopped)?
    }

    /// Queues `f` without waiting for it (cache warming); dropped when
    /// the queue is full.
    pub fn spawn_job<F>(&self, f: F)
    where
        F: FnOnce(&Connection, &mut JobCtx<'_>) -> Result<(), StorageError> + Send + 'static,
    {
        let run: JobFn = Box::new(move |conn, ctx| {
            let ok = f(conn, ctx).is_ok();
            (ok, Box::new(|_| {}))
        });
        let _ = self.jobs.try_send(Job {
            savepoint: true,
            run,
        });
    }
}

/// The writer's own state between batches.
struct State {
    cache: WriterCache,
    hot: Arc<Hot>,
    /// `PRAGMA data_version` after our last commit: it changes when
    /// another connection commits.
    data_version: Option<i64>,
}

/// A committed batch waiting to be made durable and answered.
struct Committed {
    started: Instant,
    completions: Vec<Completion>,
}

/// Syncs the WAL after each commit (one fsync for every batch committed
/// meanwhile), then answers the batches in commit order.
fn sync(wal: Option<File>, to_sync: std::sync::mpsc::Receiver<Committed>) {
    while let Ok(first) = to_sync.recv() {
        let mut batches = vec![first];
        batches.extend(to_sync.try_iter());
        let result = match &wal {
            Some(f) => f
                .sync_data()
                .map_err(|e| StorageError::Commit(format!("syncing the WAL: {e}"))),
            None => Ok(()),
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, "SQLite commit could not be made durable");
        }
        for batch in batches {
            metrics::histogram!(crate::metrics::COMMIT_DURATION, "engine" => "sqlite")
                .record(batch.started.elapsed().as_secs_f64());
            for done in batch.completions {
                done(result.as_ref().map(|_| ()));
            }
        }
    }
}

fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    hot: Arc<Hot>,
    synced: std::sync::mpsc::Sender<Committed>,
) {
    let mut state = State {
        cache: WriterCache::default(),
        hot,
        data_version: None,
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        metrics::histogram!(crate::metrics::COMMIT_BATCH).record(batch.len() as f64);
        match commit_batch(&conn, batch.drain(..), &mut state) {
            Ok(completions) => {
                let committed = Committed {
                    started,
                    completions,
                };
                if let Err(unsent) = synced.send(committed) {
                    let e = StorageError::Stopped;
                    unsent
                        .0
                        .completions
                        .into_iter()
                        .for_each(|done| done(Err(&e)));
                }
            }
            Err((e, completions)) => {
                tracing::error!(error = %e, "SQLite batch failed to commit");
                for done in completions {
                    done(Err(&e));
                }
            }
        }
    }
}

type BatchResult = Result<Vec<Completion>, (StorageError, Vec<Completion>)>;

fn exec(conn: &Connection, sql: &str) -> Result<(), StorageError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Drops the caches unless no other connection committed since our last
/// commit (called with the write lock held).
fn check_data_version(conn: &Connection, state: &mut State) -> Result<(), StorageError> {
    let version: i64 = conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?;
    if state.data_version != Some(version) {
        state.cache.clear();
        state.hot.clear();
        state.data_version = Some(version);
    }
    Ok(())
}

fn commit_batch(
    conn: &Connection,
    jobs: impl Iterator<Item = Job>,
    state: &mut State,
) -> BatchResult {
    let mut completions = Vec::with_capacity(MAX_BATCH);
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE").and_then(|_| check_data_version(conn, state)) {
        // Run nothing: every job is answered with the error.
        let _ = conn.execute_batch("ROLLBACK");
        let refused = jobs.map(|job| job_refused(job)).collect();
        return Err((e, refused));
    }
    let mut agg = PendingAggregates::default();
    let mut invalidate = false;
    for job in jobs {
        if !job.savepoint {
            let mut ctx = JobCtx {
                agg: &mut agg,
                cache: &mut state.cache,
                hot: &state.hot,
                invalidate: false,
            };
            let (_, done) = (job.run)(conn, &mut ctx);
            invalidate |= ctx.invalidate;
            completions.push(done);
            continue;
        }
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            let _ = conn.execute_batch("ROLLBACK");
            completions.push(job_refused(job));
            state.forget_all();
            return Err((e, completions));
        }
        let mut job_agg = PendingAggregates::default();
        let mut ctx = JobCtx {
            agg: &mut job_agg,
            cache: &mut state.cache,
            hot: &state.hot,
            invalidate: false,
        };
        let (ok, done) = (job.run)(conn, &mut ctx);
        invalidate |= ctx.invalidate;
        let end = if ok {
            exec(conn, "RELEASE job")
        } else {
            exec(conn, "ROLLBACK TO job").and_then(|_| exec(conn, "RELEASE job"))
        };
        if ok {
            agg.merge(job_agg);
        }
        completions.push(done);
        if let Err(e) = end {
            let _ = conn.execute_batch("ROLLBACK");
            state.forget_all();
            return Err((e, completions));
        }
    }
    let flushed = flush(conn, &agg).and_then(|_| exec(conn, "COMMIT"));
    match flushed {
        Ok(()) => {
            if invalidate {
                state.forget_all();
            } else {
                state.hot.apply(&agg);
            }
            // Our own commit moved data_version on other connections only.
            Ok(completions)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            state.forget_all();
            Err((e, completions))
        }
    }
}

impl State {
    /// Drops every cache (the database may differ from them).
    fn forget_all(&mut self) {
        self.cache.clear();
        self.hot.clear();
    }
}

/// Answers a job that never ran: its sender is dropped, which its caller
/// sees as the engine having stopped.
fn job_refused(job: Job) -> Completion {
    drop(job);
    Box::new(|_| {})
}

/// Writes merged aggregate deltas (inside the open transaction).
pub fn flush(conn: &Connection, agg: &PendingAggregates) -> Result<(), StorageError> {
    use crate::storage::schema::{UPSERT_COUNT, UPSERT_FENWICK_NULL, UPSERT_FENWICK_VALUED};
    if agg.is_empty() {
        return Ok(());
    }
    let mut valued = conn.prepare_cached(UPSERT_FENWICK_VALUED)?;
    let mut null = conn.prepare_cached(UPSERT_FENWICK_NULL)?;
    for (prompt_id, category, idx, delta) in agg.fenwick_rows() {
        match category.value() {
            Some(v) => {
                valued.execute(rusqlite::params![prompt_id, category.name(), v, idx, delta])?
            }
            None => null.execute(rusqlite::params![prompt_id, category.name(), idx, delta])?,
        };
    }
    let mut counts = conn.prepare_cached(UPSERT_COUNT)?;
    for (prompt_id, bucket, delta) in agg.count_rows() {
        counts.execute(rusqlite::params![prompt_id, bucket, delta])?;
    }
    let mut totals = conn.prepare_cached(crate::storage::migration5::UPSERT_TOTALS)?;
    for (prompt_id, sessions, events) in agg.total_rows() {
        totals.execute(rusqlite::params![prompt_id, sessions, events])?;
    }
    Ok(())
}
