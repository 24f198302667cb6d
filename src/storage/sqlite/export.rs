//! Export pages on SQLite: read on the pool of read-only connections, so a
//! long export never holds up the writer.

use super::{SqliteStore, reads};
use crate::domain::event::StoredEvent;
use crate::domain::prompt::PromptRecord;
use crate::storage::StorageError;
use crate::storage::search_sql::{self, ExportCursor};

impl SqliteStore {
    /// See [`crate::storage::Store::export_page`]. Each page is its own
    /// short read: no snapshot is held between pages, so the WAL can be
    /// checkpointed while a large prompt is exported.
    pub async fn export_page(
        &self,
        prompt: &PromptRecord,
        after: Option<ExportCursor>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let (id, uid) = (prompt.id, prompt.uid.clone());
        self.read(move |c| {
            let (sql, params) = search_sql::export_page(id, after.as_ref(), limit);
            reads::query_events(c, &sql, params, &uid)
        })
        .await
    }
}
