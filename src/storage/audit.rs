//! `chorus check` and `chorus rebuild`, written once for both engines:
//! each prompt's stored aggregate rows against the rows its events give
//! (docs/rules.md, "The invariant"), its totals (sessions, events)
//! against its rows, and its presence rows (who is here) against its
//! sessions' joins and leaves.

use super::{PromptCheck, StorageError};
use crate::domain::aggregates::{PromptAggregates, expected_aggregates};
use crate::domain::event::EventKind;
use crate::domain::presence::expected_rows;
use crate::domain::prompt::PromptRecord;

/// What an audit reads (and, rebuilding, writes), inside one transaction
/// of its engine.
pub trait AuditSource {
    /// Every prompt, oldest first.
    async fn prompts(&mut self) -> Result<Vec<PromptRecord>, StorageError>;
    /// A prompt's events as `(session id, kind, prompt time)`, grouped by
    /// session in acceptance order.
    async fn events(&mut self, prompt_id: i64) -> Result<Vec<(i64, EventKind, f64)>, StorageError>;
    /// A prompt's stored aggregate rows.
    async fn stored(&mut self, prompt_id: i64) -> Result<PromptAggregates, StorageError>;
    /// Replaces a prompt's aggregate rows.
    async fn replace(
        &mut self,
        prompt_id: i64,
        rows: &PromptAggregates,
    ) -> Result<(), StorageError>;
    /// A prompt's stored presence rows `(session id, node)`, in order.
    async fn presence(&mut self, prompt_id: i64) -> Result<Vec<(i64, i64)>, StorageError>;
    /// Replaces a prompt's presence rows.
    async fn replace_presence(
        &mut self,
        prompt_id: i64,
        rows: &[(i64, i64)],
    ) -> Result<(), StorageError>;
    /// A prompt's stored totals and its number of sessions:
    /// `(stored sessions, stored events, sessions)`.
    async fn totals(&mut self, prompt_id: i64) -> Result<(i64, i64, i64), StorageError>;
    /// Sets a prompt's totals.
    async fn replace_totals(
        &mut self,
        prompt_id: i64,
        sessions: i64,
        events: i64,
    ) -> Result<(), StorageError>;
}

/// Whether an audit only reports, or also repairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Report the differences.
    Check,
    /// Report them, then replace the stored rows with the expected ones.
    Rebuild,
}

/// Audits every prompt of `source`.
pub async fn audit(
    source: &mut impl AuditSource,
    mode: Mode,
) -> Result<Vec<PromptCheck>, StorageError> {
    let mut out = Vec::new();
    for prompt in source.prompts().await? {
        let events = source.events(prompt.id).await?;
        let expected = expected_aggregates(prompt.duration_seconds, &events);
        let mut differences = source.stored(prompt.id).await?.differences(&expected);
        let (stored_sessions, stored_events, sessions) = source.totals(prompt.id).await?;
        let events_now = events.len() as i64;
        if stored_sessions != sessions {
            differences.push(format!(
                "total sessions: stored {stored_sessions}, expected {sessions}"
            ));
        }
        if stored_events != events_now {
            differences.push(format!(
                "total events: stored {stored_events}, expected {events_now}"
            ));
        }
        let presence = expected_rows(prompt.duration_seconds, &events);
        let stored_presence = source.presence(prompt.id).await?;
        if stored_presence != presence {
            differences.push(presence_difference(&stored_presence, &presence));
        }
        if mode == Mode::Rebuild {
            source.replace(prompt.id, &expected).await?;
            if stored_presence != presence {
                source.replace_presence(prompt.id, &presence).await?;
            }
            source
                .replace_totals(prompt.id, sessions, events_now)
                .await?;
        }
        out.push(PromptCheck {
            prompt_uid: prompt.uid,
            events: events.len(),
            differences,
        });
    }
    Ok(out)
}

/// Says how a prompt's stored presence rows differ from the expected ones.
fn presence_difference(stored: &[(i64, i64)], expected: &[(i64, i64)]) -> String {
    use std::collections::BTreeSet;
    let stored: BTreeSet<_> = stored.iter().collect();
    let expected: BTreeSet<_> = expected.iter().collect();
    let missing = expected.difference(&stored).count();
    let extra = stored.difference(&expected).count();
    format!("presence rows (who is here): {missing} missing, {extra} not expected")
}
