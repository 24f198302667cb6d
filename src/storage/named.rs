//! Named prompts in the tables of migration 5 (docs/api.md, "Named
//! prompts"), shared by the engines: the SQL, and decoding a definition
//! read with its newest instance.
//!
//! Exactly one next instance: every engine inserts it with the next `seq`
//! of its definition, and the unique `(definition_id, seq)` lets one
//! insert win whatever the number of requests and processes racing; the
//! others read the winner's.

use crate::domain::named::{Definition, DefinitionSettings, Instance, NamedPrompt};
use crate::domain::prompt::Prompt;

use super::StorageError;
use super::rows::decode_prompt;

/// A definition and its newest instance (columns as [`NamedRow`] lists
/// them), for a `WHERE` clause appended by [`by_identifier`] or [`live`].
const SELECT: &str = "SELECT d.id, d.identifier, d.version, d.prompt, d.duration_seconds,
    d.expires_seconds, d.deleted_at, i.seq, i.version, i.created_at,
    p.id, p.uid, p.prompt, p.duration_seconds, p.created_at, p.deleted_at
    FROM interactive_prompt_definitions d
    LEFT JOIN interactive_prompt_instances i ON i.definition_id = d.id
        AND i.seq = (SELECT MAX(m.seq) FROM interactive_prompt_instances m WHERE m.definition_id = d.id)
    LEFT JOIN interactive_prompts p ON p.id = i.interactive_prompt_id";

/// The definition named `$1` (deleted or not) with its newest instance.
pub fn by_identifier() -> String {
    format!("{SELECT} WHERE d.identifier = $1")
}

/// Every definition not deleted, by identifier, with its newest instance.
pub fn live() -> String {
    format!("{SELECT} WHERE d.deleted_at IS NULL ORDER BY d.identifier")
}

/// Creates or updates a definition (`$1` identifier, `$2` prompt JSON,
/// `$3` duration, `$4` expiry, `$5` now). The version goes up by one when
/// the prompt or the duration changes, or when a deleted definition is
/// defined again; the stored prompt JSON is canonical (serialized from
/// the validated prompt), so comparing texts compares prompts.
pub const UPSERT: &str = "INSERT INTO interactive_prompt_definitions
    (identifier, version, prompt, duration_seconds, expires_seconds, created_at, updated_at)
    VALUES ($1, 1, $2, $3, $4, $5, $5)
    ON CONFLICT (identifier) DO UPDATE SET
    version = interactive_prompt_definitions.version + CASE
        WHEN interactive_prompt_definitions.deleted_at IS NOT NULL
            OR interactive_prompt_definitions.prompt <> excluded.prompt
            OR interactive_prompt_definitions.duration_seconds <> excluded.duration_seconds
        THEN 1 ELSE 0 END,
    prompt = excluded.prompt,
    duration_seconds = excluded.duration_seconds,
    expires_seconds = excluded.expires_seconds,
    updated_at = excluded.updated_at,
    deleted_at = NULL";

/// Soft-deletes a definition (`$1` now, `$2` identifier); changes no row
/// when it is unknown or already deleted. (SQLite numbers `$n` parameters
/// in the order they first appear, so they appear here in order.)
pub const DELETE: &str = "UPDATE interactive_prompt_definitions SET deleted_at = $1
    WHERE identifier = $2 AND deleted_at IS NULL";

/// Records a new instance (`$1` definition id, `$2` seq, `$3` version,
/// `$4` prompt id, `$5` now); returns no row when another request took
/// that `seq` first.
pub const INSERT_INSTANCE: &str = "INSERT INTO interactive_prompt_instances
    (definition_id, seq, version, interactive_prompt_id, created_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (definition_id, seq) DO NOTHING RETURNING id";

/// The columns of [`by_identifier`] and [`live`], as read by an engine.
pub struct NamedRow {
    /// `d.id`
    pub id: i64,
    /// `d.identifier`
    pub identifier: String,
    /// `d.version`
    pub version: i64,
    /// `d.prompt` (JSON)
    pub prompt: String,
    /// `d.duration_seconds`
    pub duration_seconds: i64,
    /// `d.expires_seconds`
    pub expires_seconds: i64,
    /// `d.deleted_at`
    pub deleted_at: Option<f64>,
    /// The newest instance, if any: `(seq, version, created_at)` and its
    /// prompt's columns.
    pub latest: Option<(i64, i64, f64, InstancePromptRow)>,
}

/// The prompt columns of an instance.
pub struct InstancePromptRow {
    /// `p.id`
    pub id: i64,
    /// `p.uid`
    pub uid: String,
    /// `p.prompt` (JSON)
    pub prompt: String,
    /// `p.duration_seconds`
    pub duration_seconds: i64,
    /// `p.created_at`
    pub created_at: f64,
    /// `p.deleted_at`
    pub deleted_at: Option<f64>,
}

impl NamedRow {
    /// Decodes the row.
    pub fn decode(self) -> Result<NamedPrompt, StorageError> {
        let prompt: Prompt = serde_json::from_str(&self.prompt)
            .map_err(|e| StorageError::Corrupt(format!("named prompt {}: {e}", self.identifier)))?;
        let latest = match self.latest {
            None => None,
            Some((seq, version, created_at, p)) => Some(Instance {
                seq,
                version,
                created_at,
                prompt: decode_prompt(
                    p.id,
                    p.uid,
                    &p.prompt,
                    p.duration_seconds,
                    p.created_at,
                    p.deleted_at,
                )?,
            }),
        };
        Ok(NamedPrompt {
            definition: Definition {
                id: self.id,
                identifier: self.identifier,
                version: self.version,
                settings: DefinitionSettings {
                    prompt,
                    duration_seconds: self.duration_seconds,
                    expires_seconds: self.expires_seconds,
                },
                deleted_at: self.deleted_at,
            },
            latest,
        })
    }
}

/// The prompt JSON a definition stores.
pub fn prompt_json(settings: &DefinitionSettings) -> String {
    serde_json::to_string(&settings.prompt).expect("prompts serialize")
}
