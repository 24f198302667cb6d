//! The single SQLite writer: one thread, one connection, group commit.
//!
//! Jobs queue on a channel; the writer takes every job waiting (up to
//! [`MAX_BATCH`]), runs each inside its own savepoint of one transaction,
//! flushes the batch's merged aggregate deltas, commits once, and only
//! then answers each job. A job that fails rolls back alone.

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;

/// Most jobs committed together.
pub const MAX_BATCH: usize = 2048;

/// Sends a job's answer once its transaction has committed (or failed).
pub type Completion = Box<dyn FnOnce(Result<(), &StorageError>) + Send>;
type Job = Box<dyn FnOnce(&Connection, &mut PendingAggregates) -> (bool, Completion) + Send>;

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn spawn(conn: Connection) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        std::thread::Builder::new()
            .name("chorus-sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .expect("spawn the SQLite writer thread");
        Writer { jobs }
    }

    /// Runs `f` in the writer's next transaction and returns its result
    /// once that transaction has committed. `f` may add aggregate deltas;
    /// it must add them only once all its statements have succeeded.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut PendingAggregates) -> Result<T, StorageError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn, agg| {
            let result = f(conn, agg);
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
            .send(job)
            .await
            .map_err(|_| StorageError::Stopped)?;
        rx.await.map_err(|_| StorageError::Stopped)?
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        metrics::histogram!(crate::metrics::COMMIT_BATCH).record(batch.len() as f64);
        let completions = commit_batch(&conn, batch.drain(..));
        metrics::histogram!(crate::metrics::COMMIT_DURATION, "engine" => "sqlite")
            .record(started.elapsed().as_secs_f64());
        let (result, completions) = match completions {
            Ok(c) => (Ok(()), c),
            Err((e, c)) => (Err(e), c),
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, "SQLite batch failed to commit");
        }
        for done in completions {
            done(result.as_ref().map(|_| ()));
        }
    }
}

type BatchResult = Result<Vec<Completion>, (StorageError, Vec<Completion>)>;

fn commit_batch(conn: &Connection, jobs: impl Iterator<Item = Job>) -> BatchResult {
    let mut completions = Vec::with_capacity(MAX_BATCH);
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Run nothing: every job is answered with the error.
        let refused = jobs.map(|job| job_refused(job)).collect();
        return Err((e.into(), refused));
    }
    let mut agg = PendingAggregates::default();
    for job in jobs {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            let _ = conn.execute_batch("ROLLBACK");
            completions.extend(std::iter::once(job).map(job_refused));
            return Err((e.into(), completions));
        }
        let mut job_agg = PendingAggregates::default();
        let (ok, done) = job(conn, &mut job_agg);
        let end = if ok {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if ok {
            merge(&mut agg, job_agg);
        }
        completions.push(done);
        if let Err(e) = conn.execute_batch(end) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err((e.into(), completions));
        }
    }
    let flushed =
        flush(conn, &agg).and_then(|_| conn.execute_batch("COMMIT").map_err(StorageError::from));
    match flushed {
        Ok(()) => Ok(completions),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err((e, completions))
        }
    }
}

/// Answers a job that never ran: its sender is dropped, which its caller
/// sees as the engine having stopped.
fn job_refused(job: Job) -> Completion {
    drop(job);
    Box::new(|_| {})
}

fn merge(into: &mut PendingAggregates, from: PendingAggregates) {
    for (k, d) in from.fenwick {
        *into.fenwick.entry(k).or_default() += d;
    }
    for (k, d) in from.counts {
        *into.counts.entry(k).or_default() += d;
    }
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
    Ok(())
}
