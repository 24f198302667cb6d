//! Export pages on SQLite: read on the pool of read-only connections, so a
//! long export never holds up the writer, and encoded there, row by row
//! ([`crate::storage::export`]).

use std::sync::Arc;

use super::{SqliteStore, reads};
use crate::domain::prompt::PromptRecord;
use crate::storage::StorageError;
use crate::storage::export::{self, ExportChunk, ExportEncoder};
use crate::storage::search_sql::{self, ExportCursor};

impl SqliteStore {
    /// See [`crate::storage::Store::export_chunk`]. Each page is its own
    /// short read: no snapshot is held between pages, so the WAL can be
    /// checkpointed while a large prompt is exported.
    pub async fn export_chunk(
        &self,
        prompt: &PromptRecord,
        after: Option<ExportCursor>,
        limit: usize,
        encoder: Arc<dyn ExportEncoder>,
    ) -> Result<ExportChunk, StorageError> {
        let (id, uid) = (prompt.id, prompt.uid.clone());
        self.read(move |c| {
            let (sql, params) = search_sql::export_page(id, after.as_ref(), limit);
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(reads::values(params)))?;
            let events = std::iter::from_fn(|| match rows.next() {
                Ok(Some(row)) => Some(reads::event_from_row(row, &uid)),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            });
            export::encode_rows(events, limit, &*encoder)
        })
        .await
    }
}
