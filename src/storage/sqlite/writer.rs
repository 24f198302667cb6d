//! The single SQLite writer: one thread, one connection, group commit.
//!
//! Jobs queue on a channel; the writer takes every job waiting (up to
//! [`MAX_BATCH`]) and runs them as a group: each inside its own savepoint
//! of one transaction (or none, see [`Writer::run_single_write`]), then
//! the group's merged aggregate deltas are flushed, the transaction
//! commits once, and only then is each job answered. A job that fails
//! rolls back alone.
//!
//! SQLite may roll the whole transaction back by itself after some errors
//! (a full disk or quota, an I/O error). The writer checks after every job
//! that its transaction is still open (`is_autocommit`); if it is not, the
//! group ends there: its jobs so far are answered with an error (none of
//! their writes were kept), and the jobs after them run in a new group, so
//! no job ever runs outside a transaction and nothing is answered for
//! writes that did not commit.
//!
//! Durability is pipelined ([`super::durability`]): the connection commits
//! without waiting for the disk, and a second thread fsyncs the WAL and
//! only then answers the group's jobs, while the writer already runs the
//! next group. A `201` still means the event is on disk, as with
//! `synchronous = FULL`.
//!
//! Being the only writer, it also keeps the caches of [`super::cache`]:
//! jobs read and update them through their [`JobCtx`]; a committed group's
//! deltas reach the shared Fenwick arrays once they are durable, before
//! anyone is answered; anything it cannot vouch for is dropped.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::cache::{Hot, WriterCache};
use super::durability::{self, Committed, Completion, Durability, SyncFn};
use super::job::JobCtx;
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;

/// Most jobs committed together.
pub const MAX_BATCH: usize = 2048;

/// A job's turn: to run on the open transaction, or to be answered
/// without running.
enum Turn<'a, 'b> {
    Run(&'a Connection, &'a mut JobCtx<'b>),
    Refused(&'a StorageError),
}

type JobFn = Box<dyn for<'a, 'b> FnOnce(Turn<'a, 'b>) -> (bool, Completion) + Send>;

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
    durability: Arc<Durability>,
}

impl Writer {
    /// Starts the writer thread on `conn`, keeping `hot` up to date, and
    /// the thread that makes its commits durable with `sync` (None in
    /// memory) before answering.
    pub fn spawn(conn: Connection, hot: Arc<Hot>, sync: Option<SyncFn>) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        let durability = Arc::new(Durability::default());
        let synced = durability::spawn(sync, hot.clone(), durability.clone());
        let state = State {
            cache: WriterCache::default(),
            hot,
            data_version: None,
            committed: 0,
            durability: durability.clone(),
        };
        std::thread::Builder::new()
            .name("chorus-sqlite-writer".into())
            .spawn(move || run(conn, rx, state, synced))
            .expect("spawn the SQLite writer thread");
        Writer { jobs, durability }
    }

    /// `Ok` while the writer can still vouch for its writes (see
    /// [`super::durability`]).
    pub fn check(&self) -> Result<(), StorageError> {
        self.durability.check()
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
        let run: JobFn = Box::new(move |turn| {
            let result = match turn {
                Turn::Run(conn, ctx) => f(conn, ctx),
                Turn::Refused(e) => Err(again(e)),
            };
            let ok = result.is_ok();
            let done: Completion = Box::new(move |commit: Result<(), &StorageError>| {
                let answer = match commit {
                    Ok(()) => result,
                    Err(e) => result.and(Err(again(e))),
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
        let run: JobFn = Box::new(move |turn| {
            let ok = match turn {
                Turn::Run(conn, ctx) => f(conn, ctx).is_ok(),
                Turn::Refused(_) => false,
            };
            (ok, Box::new(|_| {}))
        });
        let _ = self.jobs.try_send(Job {
            savepoint: true,
            run,
        });
    }
}

/// The same failure, for another job of the group: an outage stays an
/// outage (503), anything else is a failed commit.
fn again(e: &StorageError) -> StorageError {
    match e {
        StorageError::Unavailable(why) => StorageError::Unavailable(why.clone()),
        StorageError::Stopped => StorageError::Stopped,
        other => StorageError::Commit(other.to_string()),
    }
}

/// The writer's own state between groups.
struct State {
    cache: WriterCache,
    hot: Arc<Hot>,
    /// `PRAGMA data_version` after our last commit: it changes when
    /// another connection commits.
    data_version: Option<i64>,
    /// Groups committed so far.
    committed: u64,
    durability: Arc<Durability>,
}

fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    mut state: State,
    synced: std::sync::mpsc::Sender<Committed>,
) {
    let mut batch = VecDeque::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push_back(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push_back(job),
                Err(_) => break,
            }
        }
        metrics::histogram!(crate::metrics::COMMIT_BATCH).record(batch.len() as f64);
        // Usually one group; more when SQLite rolled a transaction back.
        while !batch.is_empty() {
            let started = Instant::now();
            match commit_group(&conn, &mut batch, &mut state) {
                Ok((agg, completions)) => {
                    let committed = Committed {
                        seq: state.committed,
                        agg,
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
                    tracing::error!(error = %e, "SQLite group failed to commit");
                    for done in completions {
                        done(Err(&e));
                    }
                }
            }
        }
    }
}

type GroupResult = Result<(PendingAggregates, Vec<Completion>), (StorageError, Vec<Completion>)>;

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
        state.forget_all();
        state.data_version = Some(version);
    }
    Ok(())
}

/// The error of the jobs of a group whose transaction SQLite rolled back.
fn rolled_back() -> StorageError {
    StorageError::Unavailable(
        "SQLite rolled back the transaction holding this write by itself \
         (a full disk or quota, or an I/O error); nothing of it was stored"
            .into(),
    )
}

/// Runs jobs from the front of `jobs` in one transaction and commits it.
/// Returns the group's deltas and answers once committed; on failure, the
/// error and the answers of the jobs that ran (none of their writes
/// remain). Jobs after a transaction SQLite rolled back are left in `jobs`.
fn commit_group(conn: &Connection, jobs: &mut VecDeque<Job>, state: &mut State) -> GroupResult {
    let begun = state
        .durability
        .check()
        .and_then(|()| exec(conn, "BEGIN IMMEDIATE"))
        .and_then(|()| check_data_version(conn, state));
    if let Err(e) = begun {
        // Run nothing: every job is answered with the error.
        abandon(conn, state);
        let refused = jobs.drain(..).map(|job| refuse(job, &e)).collect();
        return Err((e, refused));
    }
    let mut agg = PendingAggregates::default();
    let mut invalidate = false;
    let mut completions = Vec::with_capacity(jobs.len());
    while let Some(job) = jobs.pop_front() {
        let ran = run_job(conn, job, state, &mut agg, &mut completions);
        match ran {
            Ok(wants_invalidate) => invalidate |= wants_invalidate,
            Err(e) => {
                abandon(conn, state);
                return Err((e, completions));
            }
        }
    }
    if let Err(e) = super::flush::flush(conn, &agg, &mut state.cache.fenwick_ids)
        .and_then(|()| exec(conn, "COMMIT"))
    {
        abandon(conn, state);
        return Err((e, completions));
    }
    state.committed += 1;
    if invalidate {
        // Deltas of this group and those before it are applied by the
        // sync thread only to arrays loaded before it (dropped here).
        state.forget_all();
    }
    // Our own commit moved data_version on other connections only.
    Ok((agg, completions))
}

/// Runs one job of the open transaction, pushing its answer; returns
/// whether it asked for the caches to be dropped, or an error that ends
/// the group (the transaction is gone or cannot go on).
fn run_job(
    conn: &Connection,
    job: Job,
    state: &mut State,
    agg: &mut PendingAggregates,
    completions: &mut Vec<Completion>,
) -> Result<bool, StorageError> {
    if job.savepoint
        && let Err(e) = exec(conn, "SAVEPOINT job")
    {
        completions.push(refuse(job, &e));
        return Err(e);
    }
    let mut job_agg = PendingAggregates::default();
    let mut ctx = JobCtx {
        // A job without a savepoint adds its deltas only on success.
        agg: if job.savepoint { &mut job_agg } else { agg },
        cache: &mut state.cache,
        hot: &state.hot,
        committed: state.committed,
        invalidate: false,
    };
    let (ok, done) = (job.run)(Turn::Run(conn, &mut ctx));
    let invalidate = ctx.invalidate;
    completions.push(done);
    if conn.is_autocommit() {
        // SQLite rolled the whole transaction back: every write of the
        // group so far is gone, and a next statement would commit alone.
        return Err(rolled_back());
    }
    if job.savepoint {
        if ok {
            exec(conn, "RELEASE job")?;
            agg.merge(job_agg);
        } else {
            exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))?;
        }
    }
    Ok(invalidate)
}

/// Ends a failed group: rolls back what remains of its transaction and
/// drops every cache (they may hold its writes).
fn abandon(conn: &Connection, state: &mut State) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    state.forget_all();
}

impl State {
    /// Drops every cache (the database may differ from them).
    fn forget_all(&mut self) {
        self.cache.clear();
        self.hot.clear();
    }
}

/// Answers a job that never ran with `e`.
fn refuse(job: Job, e: &StorageError) -> Completion {
    let (_, done) = (job.run)(Turn::Refused(e));
    done
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
