//! Named prompts on SQLite ([`crate::storage::named`]). Changes run on the
//! writer thread, one job at a time, so the check for a current instance
//! and the creation of the next one cannot interleave; the unique
//! `(definition_id, seq)` holds it anyway.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, writes};
use crate::domain::clock::now;
use crate::domain::named::{DefinitionSettings, NamedPrompt};
use crate::domain::prompt::PromptRecord;
use crate::storage::StorageError;
use crate::storage::named::{self, InstancePromptRow, NamedRow};

fn named_row(r: &Row) -> rusqlite::Result<NamedRow> {
    let seq: Option<i64> = r.get(7)?;
    let latest = match seq {
        None => None,
        Some(seq) => Some((
            seq,
            r.get(8)?,
            r.get(9)?,
            InstancePromptRow {
                id: r.get(10)?,
                uid: r.get(11)?,
                prompt: r.get(12)?,
                duration_seconds: r.get(13)?,
                created_at: r.get(14)?,
                deleted_at: r.get(15)?,
            },
        )),
    };
    Ok(NamedRow {
        id: r.get(0)?,
        identifier: r.get(1)?,
        version: r.get(2)?,
        prompt: r.get(3)?,
        duration_seconds: r.get(4)?,
        expires_seconds: r.get(5)?,
        deleted_at: r.get(6)?,
        latest,
    })
}

/// The definition named `identifier`, deleted or not, with its newest instance.
fn read(conn: &Connection, identifier: &str) -> Result<Option<NamedPrompt>, StorageError> {
    let mut stmt = conn.prepare_cached(&named::by_identifier())?;
    let row = stmt.query_row(params![identifier], named_row).optional()?;
    row.map(NamedRow::decode).transpose()
}

/// Every definition not deleted.
fn read_live(conn: &Connection) -> Result<Vec<NamedPrompt>, StorageError> {
    let mut stmt = conn.prepare_cached(&named::live())?;
    let rows = stmt
        .query_map([], named_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(NamedRow::decode).collect()
}

/// The current instance of a live definition, made now if there is none.
fn current_or_next(
    conn: &Connection,
    identifier: &str,
) -> Result<Option<PromptRecord>, StorageError> {
    let Some(found) = read(conn, identifier)?.filter(|n| n.definition.deleted_at.is_none()) else {
        return Ok(None);
    };
    let at = now();
    if let Some(current) = found.current(at) {
        return Ok(Some(current.prompt.clone()));
    }
    let d = &found.definition;
    let prompt =
        writes::create_prompt(conn, d.settings.prompt.clone(), d.settings.duration_seconds)?;
    let inserted = conn
        .prepare_cached(named::INSERT_INSTANCE)?
        .query_row(
            params![d.id, found.next_seq(), d.version, prompt.id, at],
            |r| r.get::<_, i64>(0),
        )
        .optional()?;
    match inserted {
        Some(_) => Ok(Some(prompt)),
        // Only the writer writes, so no other request can have taken
        // this seq; the job's savepoint undoes the prompt.
        None => Err(StorageError::Corrupt(format!(
            "named prompt {identifier}: instance {} exists but was not read",
            found.next_seq()
        ))),
    }
}

impl SqliteStore {
    /// See [`crate::storage::Store::named_prompt`].
    pub async fn named_prompt(
        &self,
        identifier: &str,
    ) -> Result<Option<NamedPrompt>, StorageError> {
        let identifier = identifier.to_owned();
        self.read(move |c| read(c, &identifier)).await
    }

    /// See [`crate::storage::Store::named_prompts`].
    pub async fn named_prompts(&self) -> Result<Vec<NamedPrompt>, StorageError> {
        self.read(read_live).await
    }

    /// See [`crate::storage::Store::put_named_prompt`].
    pub async fn put_named_prompt(
        &self,
        identifier: &str,
        settings: DefinitionSettings,
    ) -> Result<NamedPrompt, StorageError> {
        let identifier = identifier.to_owned();
        self.writer
            .run(move |c, _| {
                c.prepare_cached(named::UPSERT)?.execute(params![
                    identifier,
                    named::prompt_json(&settings),
                    settings.duration_seconds,
                    settings.expires_seconds,
                    now()
                ])?;
                read(c, &identifier)?
                    .ok_or_else(|| StorageError::Corrupt(format!("{identifier} vanished")))
            })
            .await
    }

    /// See [`crate::storage::Store::delete_named_prompt`].
    pub async fn delete_named_prompt(
        &self,
        identifier: &str,
    ) -> Result<Option<NamedPrompt>, StorageError> {
        let identifier = identifier.to_owned();
        self.writer
            .run(move |c, _| {
                let before = read(c, &identifier)?;
                let changed = c
                    .prepare_cached(named::DELETE)?
                    .execute(params![now(), identifier])?;
                Ok(before.filter(|_| changed == 1))
            })
            .await
    }

    /// See [`crate::storage::Store::named_instance`]: read on a reader
    /// connection, and only when no instance is current, on the writer,
    /// which looks again and makes the next one.
    pub async fn named_instance(
        &self,
        identifier: &str,
    ) -> Result<Option<PromptRecord>, StorageError> {
        let Some(found) = self.named_prompt(identifier).await? else {
            return Ok(None);
        };
        if found.definition.deleted_at.is_some() {
            return Ok(None);
        }
        if let Some(current) = found.current(now()) {
            return Ok(Some(current.prompt.clone()));
        }
        let identifier = identifier.to_owned();
        self.writer
            .run(move |c, _| current_or_next(c, &identifier))
            .await
    }
}
