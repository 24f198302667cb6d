//! Opening SQLite connections: pragmas and migrations.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::storage::StorageError;
use crate::storage::dialect::Dialect;
use crate::storage::schema;

/// Pragmas every connection runs: WAL for concurrent readers, foreign
/// keys on. Commits do not wait for the disk themselves: the writer's
/// sync thread fsyncs the WAL before any job of a batch is answered (see
/// [`super::writer`]), so an acknowledged event survives a crash of the
/// process or the machine as with `synchronous = FULL`; checkpoints are
/// synced by SQLite (`NORMAL`).
pub const PRAGMAS: &str = "PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA foreign_keys = ON;
    PRAGMA busy_timeout = 10000;";

/// Memory for pages, and the file mapped for reads (pages not in the
/// cache come from the OS's page cache without a `read` call). 8 MiB
/// measured best for ingest, empty or with 1 M events stored: on a
/// database under 1 GiB SQLite walks its whole page-cache hash table at
/// most commits (a B-tree rebalance parks a page under the pending-byte
/// page's number), so 64 MiB cost more than the re-reads it saved
/// (BENCHMARKS.md, *Where the time goes*). The writer never checkpoints:
/// [`checkpointer`] does, on its own connection, so the writer does not
/// stall while a large database's scattered pages are written back.
pub const CACHE_PRAGMAS: &str = "PRAGMA cache_size = -8192;
    PRAGMA mmap_size = 1073741824;
    PRAGMA wal_autocheckpoint = 0;";

/// How often the checkpointer copies the WAL back into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// WAL length (frames, ~4 KiB each) past which the checkpointer restarts
/// the WAL. A passive checkpoint never catches up with a writer that keeps
/// committing, so without restarts the WAL grows for as long as writes
/// continue (measured: 1.8 GB in 10 s of ingest). The default of
/// [`SqliteSettings::wal_restart_frames`](super::SqliteSettings) (a smaller
/// WAL suits a small disk).
pub const RESTART_AFTER_FRAMES: i64 = 65536;

/// Starts a thread that checkpoints the WAL of `path` every
/// [`CHECKPOINT_EVERY`], until `alive` has no strong reference left.
///
/// Each round is `PASSIVE` (copying pages while the writer goes on); when
/// the WAL has grown past `restart_after` frames, a `RESTART` follows:
/// it holds the writer off only while it copies what was committed since
/// the passive pass and syncs, then the next commit writes the WAL from
/// its start again, over pages the OS already has.
pub fn checkpointer(
    path: &Path,
    alive: std::sync::Weak<()>,
    restart_after: i64,
) -> Result<(), StorageError> {
    let conn = Connection::open(path)?;
    // A `RESTART` holds the writer off while it waits for the writer's
    // current batch and for readers still on the old WAL; give up (and try
    // again next round) rather than stall the writer behind a long read.
    conn.execute_batch(
        "PRAGMA busy_timeout = 250; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;",
    )?;
    let checkpoint = move |mode: &str| -> rusqlite::Result<i64> {
        // (busy, frames in the WAL, frames checkpointed)
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(1))
    };
    std::thread::Builder::new()
        .name("chorus-sqlite-checkpoint".into())
        .spawn(move || {
            while alive.upgrade().is_some() {
                std::thread::sleep(CHECKPOINT_EVERY);
                let round = checkpoint("PASSIVE").and_then(|frames| match frames {
                    f if f >= restart_after => checkpoint("RESTART"),
                    f => Ok(f),
                });
                if let Err(e) = round {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
                }
            }
            // A last full checkpoint, so a clean shutdown leaves a short WAL.
            let _ = checkpoint("TRUNCATE");
        })
        .expect("spawn the SQLite checkpoint thread");
    Ok(())
}

/// Opens a read-write connection.
pub fn open(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

/// Opens an in-memory database (one connection: the writer).
pub fn open_memory() -> Result<Connection, StorageError> {
    let conn = Connection::open_in_memory()?;
    configure(&conn)?;
    Ok(conn)
}

/// Opens the WAL file of the database at `path`, for the writer's sync
/// thread (it exists once `path` is open in WAL mode).
pub fn open_wal(path: &Path) -> Result<std::fs::File, StorageError> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::File::open(&wal)
        .map_err(|e| StorageError::Commit(format!("opening {}: {e}", Path::new(&wal).display())))
}

/// Opens a read-only connection for the reader pool.
pub fn open_reader(path: &Path) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")?;
    conn.execute_batch("PRAGMA cache_size = -16384; PRAGMA mmap_size = 1073741824;")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.execute_batch(PRAGMAS)?;
    conn.execute_batch(CACHE_PRAGMAS)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Applies every migration the database has not recorded (whatever its
/// number), oldest first, in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(schema::MIGRATIONS_TABLE)?;
    let applied: Vec<i64> = tx
        .prepare("SELECT version FROM chorus_migrations")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (version, sql) in schema::migrations(Dialect::Sqlite) {
        if !applied.contains(&version) {
            tx.execute_batch(&sql)?;
            tx.execute(
                "INSERT INTO chorus_migrations(version, applied_at) VALUES ($1, $2)",
                rusqlite::params![version, crate::domain::clock::now()],
            )?;
            tracing::info!(version, "applied SQLite migration");
        }
    }
    tx.commit()?;
    Ok(())
}
