//! `chorus check` and `rebuild` on a SQLite connection: the shared audit
//! (`storage::audit`) reading and writing through this engine's queries.

use rusqlite::Connection;

use super::{flush, presence, reads};
use crate::domain::aggregates::PromptAggregates;
use crate::domain::event::EventKind;
use crate::domain::prompt::PromptRecord;
use crate::storage::audit::{AuditSource, Mode, audit};
use crate::storage::migration5;
use crate::storage::{PromptCheck, StorageError};

/// The audit of `chorus check` and `rebuild` on one connection. Every step
/// is a synchronous query, so the audit's future completes as soon as it
/// is polled: it runs to its end on the calling (reader or writer) thread.
pub(super) struct Audit<'c>(pub(super) &'c Connection);

impl Audit<'_> {
    pub(super) fn run(mut self, mode: Mode) -> Result<Vec<PromptCheck>, StorageError> {
        futures::executor::block_on(audit(&mut self, mode))
    }
}

impl AuditSource for Audit<'_> {
    async fn prompts(&mut self) -> Result<Vec<PromptRecord>, StorageError> {
        reads::all_prompts(self.0)
    }

    async fn events(&mut self, prompt_id: i64) -> Result<Vec<(i64, EventKind, f64)>, StorageError> {
        reads::events_for_check(self.0, prompt_id)
    }

    async fn stored(&mut self, prompt_id: i64) -> Result<PromptAggregates, StorageError> {
        reads::stored_aggregates(self.0, prompt_id)
    }

    async fn replace(
        &mut self,
        prompt_id: i64,
        rows: &PromptAggregates,
    ) -> Result<(), StorageError> {
        flush::replace_aggregates(self.0, prompt_id, rows)
    }

    async fn presence(&mut self, prompt_id: i64) -> Result<Vec<(i64, i64)>, StorageError> {
        presence::prompt_rows(self.0, prompt_id)
    }

    async fn replace_presence(
        &mut self,
        prompt_id: i64,
        rows: &[(i64, i64)],
    ) -> Result<(), StorageError> {
        presence::replace(self.0, prompt_id, rows)
    }

    async fn totals(&mut self, prompt_id: i64) -> Result<(i64, i64, i64), StorageError> {
        let mut stmt = self.0.prepare_cached(migration5::SELECT_TOTALS)?;
        Ok(stmt.query_row([prompt_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
    }

    async fn replace_totals(
        &mut self,
        prompt_id: i64,
        sessions: i64,
        events: i64,
    ) -> Result<(), StorageError> {
        let mut stmt = self.0.prepare_cached(migration5::SET_TOTALS)?;
        stmt.execute(rusqlite::params![prompt_id, sessions, events])?;
        Ok(())
    }
}
