//! Making the writer's commits durable before anyone is answered.
//!
//! The writer commits without waiting for the disk (`synchronous =
//! NORMAL`); a second thread fsyncs the WAL after each commit (one fsync
//! for every group committed meanwhile), then applies the groups' deltas
//! to the shared Fenwick arrays, then answers the groups' jobs, in commit
//! order. So the stats kept in memory only ever gain what is on disk, and
//! a client that saw its `201` sees its event.
//!
//! A failed fsync cannot be retried: the kernel may have dropped the
//! pages it could not write and report the next fsync as a success. So
//! after one, nothing more is acknowledged: the jobs of the groups it
//! covered are answered `Unavailable` (their outcome is unknown: committed
//! in memory, perhaps not on disk), every later write is refused, the
//! caches are dropped, and [`Durability::check`] fails, which `/readyz`
//! reports, until the process is restarted and SQLite recovers the
//! database from what did reach the disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use super::cache::Hot;
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;

/// Sends a job's answer once its transaction has committed and is
/// durable (or failed).
pub type Completion = Box<dyn FnOnce(Result<(), &StorageError>) + Send>;

/// Makes everything committed so far durable (the WAL's `fsync`).
pub type SyncFn = Box<dyn FnMut() -> std::io::Result<()> + Send>;

/// Why writes are refused after a failed fsync.
const SYNC_FAILED: &str = "SQLite could not make its writes durable (an fsync of the WAL failed): \
     the outcome of the writes in flight is unknown, and writes are refused until the server \
     is restarted";

/// Whether the writer's commits can still be vouched for; shared by the
/// writer, its sync thread and the store's readiness check.
#[derive(Debug, Default)]
pub struct Durability {
    failed: AtomicBool,
}

impl Durability {
    /// `Ok` while every fsync has succeeded; afterwards the error every
    /// write is answered with.
    pub fn check(&self) -> Result<(), StorageError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StorageError::Unavailable(SYNC_FAILED.into()));
        }
        Ok(())
    }

    fn fail(&self) {
        self.failed.store(true, Ordering::Release);
    }
}

/// A committed group waiting to be made durable and answered.
pub struct Committed {
    /// Its place in commit order (1 for the writer's first group).
    pub seq: u64,
    /// Its merged aggregate deltas, for the shared Fenwick arrays.
    pub agg: PendingAggregates,
    /// When its jobs were picked up (for the commit latency metric).
    pub started: Instant,
    /// Its jobs' answers.
    pub completions: Vec<Completion>,
}

/// Starts the sync thread; committed groups are sent to it in commit
/// order. `sync` is None for a database in memory.
pub fn spawn(
    sync: Option<SyncFn>,
    hot: Arc<Hot>,
    durability: Arc<Durability>,
) -> Sender<Committed> {
    let (synced, to_sync) = std::sync::mpsc::channel::<Committed>();
    std::thread::Builder::new()
        .name("chorus-sqlite-sync".into())
        .spawn(move || run(sync, to_sync, &hot, &durability))
        .expect("spawn the SQLite sync thread");
    synced
}

fn run(mut sync: Option<SyncFn>, to_sync: Receiver<Committed>, hot: &Hot, durability: &Durability) {
    while let Ok(first) = to_sync.recv() {
        let mut groups = vec![first];
        groups.extend(to_sync.try_iter());
        let result = durability.check().and_then(|()| match &mut sync {
            Some(sync) => sync().map_err(|e| {
                tracing::error!(error = %e, "fsync of the SQLite WAL failed; refusing writes from now on");
                durability.fail();
                StorageError::Unavailable(SYNC_FAILED.into())
            }),
            None => Ok(()),
        });
        if result.is_err() {
            // What was applied or cached may not be on disk.
            hot.clear();
        }
        for group in groups {
            if result.is_ok() {
                hot.apply(&group.agg, group.seq);
            }
            metrics::histogram!(crate::metrics::COMMIT_DURATION, "engine" => "sqlite")
                .record(group.started.elapsed().as_secs_f64());
            for done in group.completions {
                done(result.as_ref().map(|_| ()));
            }
        }
    }
}
