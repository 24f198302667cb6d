//! Decoding stored rows, shared by the engines.

use crate::domain::event::{EventKind, EventType};
use crate::domain::prompt::PromptRecord;

use super::StorageError;

/// Decodes a prompt row: `(id, uid, prompt JSON, duration, created_at, deleted_at)`.
pub fn decode_prompt(
    id: i64,
    uid: String,
    prompt: &str,
    duration_seconds: i64,
    created_at: f64,
    deleted_at: Option<f64>,
) -> Result<PromptRecord, StorageError> {
    let prompt = serde_json::from_str(prompt)
        .map_err(|e| StorageError::Corrupt(format!("prompt {uid}: {e}")))?;
    Ok(PromptRecord {
        id,
        uid,
        prompt,
        duration_seconds,
        created_at,
        deleted_at,
    })
}

/// Decodes stored event data of type `evtype`.
pub fn decode_kind(evtype: &str, data: &str) -> Result<EventKind, StorageError> {
    let ty = EventType::parse(evtype)
        .ok_or_else(|| StorageError::Corrupt(format!("unknown evtype {evtype:?}")))?;
    let value = serde_json::from_str(data)
        .map_err(|e| StorageError::Corrupt(format!("event data {data:?}: {e}")))?;
    EventKind::from_data(ty, value)
        .map_err(|e| StorageError::Corrupt(format!("event data {data:?}: {e}")))
}

/// Columns selected for a prompt row, in [`decode_prompt`]'s order.
pub const PROMPT_COLUMNS: &str = "id, uid, prompt, duration_seconds, created_at, deleted_at";
