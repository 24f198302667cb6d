//! The read-only connections, each on a thread of its own.
//!
//! A read runs on the thread that owns its connection rather than on
//! tokio's blocking pool, and the idle connections are a stack: the threads
//! that ever read are at most [`READERS`], and a run of reads one after
//! another (an export, page after page) stays on one thread. On the
//! blocking pool each read could land on a newly started thread, and each
//! such thread's allocator heap took about 4 MiB of resident memory (2
//! MiB huge pages): 2–6 of them made a process's first export grow by
//! 10–28 MiB (BENCHMARKS.md, "Targets").

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::{Semaphore, oneshot};

use super::connection;
use crate::storage::StorageError;

/// Most read-only connections (and reader threads) at once.
pub const READERS: usize = 8;

/// A read, run on a reader thread with its connection.
type Job = Box<dyn FnOnce(&Connection) + Send>;

/// The pool of read-only connections of one database file.
pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
    permits: Semaphore,
}

/// A reader thread, which owns its connection and runs the jobs it is sent
/// until its sender is dropped.
struct Reader {
    jobs: mpsc::Sender<Job>,
}

impl ReadPool {
    /// A pool over the database at `path`; connections open when first needed.
    pub fn new(path: PathBuf) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(READERS),
        }
    }

    /// Runs `f` on the most recently used idle connection's thread (or a
    /// new one's). A caller that goes away while `f` runs leaves its reader
    /// to the pool all the same: the next read there waits for `f` to end.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StorageError::Stopped)?;
        let idle = self.idle.lock().expect("reader pool").pop();
        let mut reader = match idle {
            Some(reader) => reader,
            None => Reader::start(&self.path).await?,
        };
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = answer.send(f(conn));
        });
        if let Err(mpsc::SendError(job)) = reader.jobs.send(job) {
            // Its thread has ended (a read panicked there): another.
            reader = Reader::start(&self.path).await?;
            reader.jobs.send(job).map_err(|_| StorageError::Stopped)?;
        }
        let mut lease = Lease {
            pool: self,
            reader: Some(reader),
        };
        let answer = answered.await;
        if answer.is_err() {
            lease.reader = None; // `f` panicked and took its thread with it
        }
        answer.map_err(|_| StorageError::Stopped)?
    }
}

/// A reader taken from the pool, put back when dropped.
struct Lease<'a> {
    pool: &'a ReadPool,
    reader: Option<Reader>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            self.pool.idle.lock().expect("reader pool").push(reader);
        }
    }
}

impl Reader {
    /// Starts a reader thread and opens its connection there.
    async fn start(path: &Path) -> Result<Reader, StorageError> {
        let path = path.to_owned();
        let (jobs, received) = mpsc::channel::<Job>();
        let (opened, open) = oneshot::channel();
        std::thread::Builder::new()
            .name("chorus-sqlite-read".into())
            .spawn(move || {
                let conn = match connection::open_reader(&path) {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                let _ = opened.send(Ok(()));
                for job in received {
                    job(&conn);
                }
            })
            .map_err(|e| StorageError::Unavailable(format!("starting a reader thread: {e}")))?;
        open.await.map_err(|_| StorageError::Stopped)??;
        Ok(Reader { jobs })
    }
}
