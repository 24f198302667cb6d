//! `chorus backup` (docs/operations.md, "Backup and restore"): a
//! consistent copy of a live SQLite database.

use std::path::Path;

use anyhow::bail;

use crate::config::{Config, redact};
use crate::storage::sqlite::backup::backup as copy;

/// Copies the configured SQLite database to `to` (replacing it only when
/// `force`), printing what was copied. PostgreSQL is refused with a
/// pointer to `pg_dump`.
pub async fn backup(config: &Config, to: &Path, force: bool) -> anyhow::Result<()> {
    let url = &config.database;
    let Some(path) = url.strip_prefix("sqlite://") else {
        bail!(
            "chorus backup copies SQLite databases (sqlite://PATH), not {}: \
             back PostgreSQL up with pg_dump (docs/operations.md, \"Backup and restore\")",
            redact::url(url)
        );
    };
    let (source, dest) = (Path::new(path).to_owned(), to.to_owned());
    let report = tokio::task::spawn_blocking(move || copy(&source, &dest, force)).await??;
    println!(
        "backed up {} to {}: {} events, {} bytes, in {:.1} s",
        redact::url(url),
        to.display(),
        report.events,
        report.bytes,
        report.took.as_secs_f64()
    );
    Ok(())
}
