//! Connecting to PostgreSQL: the pools with their timeouts, and which
//! failures mean "the database is away" (answered 503, retried) rather
//! than a fault of the request.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::PostgresSettings;
use crate::storage::StorageError;

/// A pool of up to `size` connections, each served on the runtime that
/// first opens it. Waiting for a free connection is bounded by
/// `pool_wait`; opening one (and checking a pooled one) by
/// `connect_timeout`; every statement by `statement_timeout` (set when the
/// connection starts, so it holds for every transaction on it).
pub fn pool(
    mut config: tokio_postgres::Config,
    size: usize,
    settings: &PostgresSettings,
) -> Result<Pool, StorageError> {
    config.connect_timeout(settings.connect_timeout);
    let options = format!(
        "{} -c statement_timeout={}",
        config.get_options().unwrap_or_default(),
        settings.statement_timeout.as_millis()
    );
    config.options(options.trim_start());
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(settings.pool_wait))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StorageError::Postgres(e.to_string()))
}

/// Default of [`PostgresSettings::pool_wait`].
pub const POOL_WAIT: Duration = Duration::from_secs(2);
/// Default of [`PostgresSettings::connect_timeout`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default of [`PostgresSettings::statement_timeout`].
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `e` means the database is unreachable, restarting or
/// overloaded, rather than something wrong with the request: the
/// connection was lost or refused, the server is shutting down or starting
/// (`57P01`–`57P03`), a connection-class error (`08…`), too many
/// connections (`53300`), or the statement timeout (`57014`).
fn is_outage(e: &tokio_postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::QUERY_CANCELED,
        ]
        .contains(code)
            || code.code().starts_with("08");
    }
    // Without a code, the error is the client's own: a closed connection,
    // an I/O error (connecting or talking), or a connect timeout count as
    // an outage; decoding and encoding errors do not.
    use std::error::Error;
    e.is_closed()
        || e.source().is_some_and(|s| s.is::<std::io::Error>())
        || e.to_string() == "timeout waiting for server"
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                StorageError::Retryable(e.to_string())
            }
            _ if is_outage(&e) => StorageError::Unavailable(describe(&e)),
            _ => StorageError::Postgres(describe(&e)),
        }
    }
}

/// The error with its cause (the driver's own text is only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

impl From<PoolError> for StorageError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Timeout(what) => {
                StorageError::Unavailable(format!("no PostgreSQL connection in time ({what:?})"))
            }
            PoolError::Backend(e) => e.into(),
            PoolError::Closed => StorageError::Stopped,
            other => StorageError::Postgres(other.to_string()),
        }
    }
}
