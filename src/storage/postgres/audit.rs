//! `chorus check` and `rebuild` on PostgreSQL: the shared audit
//! ([`crate::storage::audit`]) inside one transaction.

use deadpool_postgres::GenericClient;

use super::{presence, reads, writes};
use crate::domain::aggregates::PromptAggregates;
use crate::domain::event::EventKind;
use crate::domain::prompt::PromptRecord;
use crate::storage::StorageError;
use crate::storage::audit::AuditSource;
use crate::storage::migration5;

/// The audit of `chorus check` and `rebuild` inside one transaction.
pub(super) struct Audit<'a, C>(pub(super) &'a C);

impl<C: GenericClient> AuditSource for Audit<'_, C> {
    async fn prompts(&mut self) -> Result<Vec<PromptRecord>, StorageError> {
        reads::all_prompts(self.0).await
    }

    async fn events(&mut self, prompt_id: i64) -> Result<Vec<(i64, EventKind, f64)>, StorageError> {
        reads::events_for_check(self.0, prompt_id).await
    }

    async fn stored(&mut self, prompt_id: i64) -> Result<PromptAggregates, StorageError> {
        reads::stored_aggregates(self.0, prompt_id).await
    }

    async fn replace(
        &mut self,
        prompt_id: i64,
        rows: &PromptAggregates,
    ) -> Result<(), StorageError> {
        writes::replace_aggregates(self.0, prompt_id, rows).await
    }

    async fn presence(&mut self, prompt_id: i64) -> Result<Vec<(i64, i64)>, StorageError> {
        presence::prompt_rows(self.0, prompt_id).await
    }

    async fn replace_presence(
        &mut self,
        prompt_id: i64,
        rows: &[(i64, i64)],
    ) -> Result<(), StorageError> {
        presence::replace(self.0, prompt_id, rows).await
    }

    async fn totals(&mut self, prompt_id: i64) -> Result<(i64, i64, i64), StorageError> {
        let row = self
            .0
            .query_one(migration5::SELECT_TOTALS, &[&prompt_id])
            .await?;
        Ok((row.get(0), row.get(1), row.get(2)))
    }

    async fn replace_totals(
        &mut self,
        prompt_id: i64,
        sessions: i64,
        events: i64,
    ) -> Result<(), StorageError> {
        self.0
            .execute(migration5::SET_TOTALS, &[&prompt_id, &sessions, &events])
            .await?;
        Ok(())
    }
}
