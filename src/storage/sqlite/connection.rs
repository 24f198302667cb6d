//! Opening SQLite connections: pragmas and migrations.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::storage::StorageError;
use crate::storage::schema::{self, Dialect};

/// Pragmas every connection runs: WAL for concurrent readers, foreign
/// keys on, and full fsync at commit so an acknowledged event survives
/// a crash of the process or the machine.
const PRAGMAS: &str = "PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    PRAGMA foreign_keys = ON;
    PRAGMA busy_timeout = 10000;";

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

/// Opens a read-only connection for the reader pool.
pub fn open_reader(path: &Path) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.execute_batch(PRAGMAS)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Applies every migration the database lacks, in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(schema::MIGRATIONS_TABLE)?;
    let applied: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM chorus_migrations",
        [],
        |r| r.get(0),
    )?;
    for (version, sql) in schema::migrations(Dialect::Sqlite) {
        if version > applied {
            tx.execute_batch(&sql)?;
            tx.execute(
                "INSERT INTO chorus_migrations(version, applied_at) VALUES ($1, $2)",
                rusqlite::params![version, crate::storage::now()],
            )?;
            tracing::info!(version, "applied SQLite migration");
        }
    }
    tx.commit()?;
    Ok(())
}
