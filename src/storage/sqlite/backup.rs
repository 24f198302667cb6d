//! `chorus backup` (docs/operations.md, "Backup and restore"): a consistent
//! copy of a live SQLite database, taken while the server goes on
//! accepting events.
//!
//! The copy is SQLite's `VACUUM INTO` on a read-only connection: one read
//! transaction, so one snapshot of the database — everything committed
//! before it began, nothing half-written — which in WAL mode never blocks
//! the server's writer. It is written beside the destination under a
//! temporary name, synced, and only then given the destination's name, so
//! an interrupted backup never leaves a partial file where a backup is
//! expected.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::connection;
use crate::storage::StorageError;

/// Why a backup was not made. Nothing is left behind at the destination.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination exists and replacing it was not asked for.
    #[error("{0} exists: refusing to overwrite it (pass --force to replace it)")]
    Exists(PathBuf),
    /// There is no database file at the source.
    #[error("no SQLite database at {0}")]
    NoSource(PathBuf),
    /// The source and the destination are the same file.
    #[error("the backup cannot replace the database itself ({0})")]
    SameFile(PathBuf),
    /// SQLite failed to read the source or write the copy.
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// The file system refused.
    #[error("{1}: {0}")]
    Io(std::io::Error, PathBuf),
}

/// What a backup copied.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// Size of the copy.
    pub bytes: u64,
    /// Events in the copy.
    pub events: i64,
    /// Time the copy took.
    pub took: Duration,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(e, path.to_owned())
}

/// Copies the database at `source` to `dest`, which must not exist unless
/// `overwrite`. Blocking: run it off the async runtime.
pub fn backup(source: &Path, dest: &Path, overwrite: bool) -> Result<BackupReport, BackupError> {
    if !source.is_file() {
        return Err(BackupError::NoSource(source.to_owned()));
    }
    if dest.exists() {
        if !overwrite {
            return Err(BackupError::Exists(dest.to_owned()));
        }
        let same = fs::canonicalize(source).map_err(io(source))?
            == fs::canonicalize(dest).map_err(io(dest))?;
        if same {
            return Err(BackupError::SameFile(dest.to_owned()));
        }
    }
    let mut partial = dest.as_os_str().to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    let partial = PathBuf::from(partial);
    let started = Instant::now();
    let copied = copy(source, &partial).and_then(|events| {
        publish(&partial, dest, overwrite)?;
        Ok(events)
    });
    let events = copied.inspect_err(|_| {
        let _ = fs::remove_file(&partial);
    })?;
    Ok(BackupReport {
        bytes: fs::metadata(dest).map_err(io(dest))?.len(),
        events,
        took: started.elapsed(),
    })
}

/// Writes the snapshot to `to` (a fresh name) and syncs it; returns the
/// number of events in it.
fn copy(source: &Path, to: &Path) -> Result<i64, BackupError> {
    let _ = fs::remove_file(to); // left by a crashed backup of this pid
    let conn = connection::open_reader(source)?;
    let target = to
        .to_str()
        .ok_or_else(|| BackupError::Io(ErrorKind::InvalidInput.into(), to.to_owned()))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(StorageError::from)?;
    drop(conn);
    let copy = connection::open_reader(to)?;
    let events: i64 = copy
        .query_row("SELECT COUNT(*) FROM interactive_prompt_events", [], |r| {
            r.get(0)
        })
        .map_err(StorageError::from)?;
    drop(copy);
    File::open(to).and_then(|f| f.sync_all()).map_err(io(to))?;
    Ok(events)
}

/// Gives the synced copy its name: atomically replacing `dest` when
/// `overwrite`, else only if `dest` still does not exist.
fn publish(partial: &Path, dest: &Path, overwrite: bool) -> Result<(), BackupError> {
    if overwrite {
        fs::rename(partial, dest).map_err(io(dest))?;
    } else {
        fs::hard_link(partial, dest).map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => BackupError::Exists(dest.to_owned()),
            _ => BackupError::Io(e, dest.to_owned()),
        })?;
        fs::remove_file(partial).map_err(io(partial))?;
    }
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}
