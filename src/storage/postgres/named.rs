//! Named prompts on PostgreSQL ([`crate::storage::named`]), shared by any
//! number of processes. The next instance is made in a transaction that
//! inserts its prompt, then its `(definition_id, seq)` row with `ON
//! CONFLICT DO NOTHING`: of the transactions racing for one `seq`, the
//! first to commit wins; each other one waits for it on the unique index,
//! inserts nothing, rolls back (its prompt with it) and reads the winner's.

use deadpool_postgres::GenericClient;

use super::{PostgresStore, writes};
use crate::domain::clock::now;
use crate::domain::named::{DefinitionSettings, NamedPrompt};
use crate::domain::prompt::PromptRecord;
use crate::storage::StorageError;
use crate::storage::named::{self, InstancePromptRow, NamedRow};

/// Rounds of "read, then try to make the next instance" before giving up
/// (each lost round means another request made one, so two are plenty).
const ROUNDS: usize = 4;

fn named_row(r: &tokio_postgres::Row) -> NamedRow {
    let latest = r.get::<_, Option<i64>>(7).map(|seq| {
        (
            seq,
            r.get(8),
            r.get(9),
            InstancePromptRow {
                id: r.get(10),
                uid: r.get(11),
                prompt: r.get(12),
                duration_seconds: r.get(13),
                created_at: r.get(14),
                deleted_at: r.get(15),
            },
        )
    });
    NamedRow {
        id: r.get(0),
        identifier: r.get(1),
        version: r.get(2),
        prompt: r.get(3),
        duration_seconds: r.get(4),
        expires_seconds: r.get(5),
        deleted_at: r.get(6),
        latest,
    }
}

/// The definition named `identifier`, deleted or not, with its newest instance.
async fn read(
    c: &impl GenericClient,
    identifier: &str,
) -> Result<Option<NamedPrompt>, StorageError> {
    let stmt = c.prepare_cached(&named::by_identifier()).await?;
    let row = c.query_opt(&stmt, &[&identifier]).await?;
    row.as_ref()
        .map(named_row)
        .map(NamedRow::decode)
        .transpose()
}

impl PostgresStore {
    /// See [`crate::storage::Store::named_prompt`].
    pub async fn named_prompt(
        &self,
        identifier: &str,
    ) -> Result<Option<NamedPrompt>, StorageError> {
        read(&self.pool.get().await?, identifier).await
    }

    /// See [`crate::storage::Store::named_prompts`].
    pub async fn named_prompts(&self) -> Result<Vec<NamedPrompt>, StorageError> {
        let c = self.pool.get().await?;
        let stmt = c.prepare_cached(&named::live()).await?;
        let rows = c.query(&stmt, &[]).await?;
        rows.iter().map(named_row).map(NamedRow::decode).collect()
    }

    /// See [`crate::storage::Store::put_named_prompt`].
    pub async fn put_named_prompt(
        &self,
        identifier: &str,
        settings: DefinitionSettings,
    ) -> Result<NamedPrompt, StorageError> {
        let c = self.pool.get().await?;
        let stmt = c.prepare_cached(named::UPSERT).await?;
        let json = named::prompt_json(&settings);
        c.execute(
            &stmt,
            &[
                &identifier,
                &json,
                &settings.duration_seconds,
                &settings.expires_seconds,
                &now(),
            ],
        )
        .await?;
        read(&c, identifier)
            .await?
            .ok_or_else(|| StorageError::Corrupt(format!("{identifier} vanished")))
    }

    /// See [`crate::storage::Store::delete_named_prompt`].
    pub async fn delete_named_prompt(
        &self,
        identifier: &str,
    ) -> Result<Option<NamedPrompt>, StorageError> {
        let c = self.pool.get().await?;
        let before = read(&c, identifier).await?;
        let stmt = c.prepare_cached(named::DELETE).await?;
        let changed = c.execute(&stmt, &[&now(), &identifier]).await?;
        Ok(before.filter(|_| changed == 1))
    }

    /// See [`crate::storage::Store::named_instance`].
    pub async fn named_instance(
        &self,
        identifier: &str,
    ) -> Result<Option<PromptRecord>, StorageError> {
        let mut c = self.pool.get().await?;
        for _ in 0..ROUNDS {
            let Some(found) = read(&c, identifier).await? else {
                return Ok(None);
            };
            if found.definition.deleted_at.is_some() {
                return Ok(None);
            }
            if let Some(current) = found.current(now()) {
                return Ok(Some(current.prompt.clone()));
            }
            if let Some(made) = make_next(&mut c, &found).await? {
                return Ok(Some(made));
            }
        }
        Err(StorageError::Retryable(format!(
            "named prompt {identifier}: no instance after {ROUNDS} rounds"
        )))
    }
}

/// Tries to make the instance after `found`'s newest: `None` when another
/// request made it first (nothing of this one stays).
async fn make_next(
    c: &mut deadpool_postgres::Object,
    found: &NamedPrompt,
) -> Result<Option<PromptRecord>, StorageError> {
    let d = &found.definition;
    let tx = c.transaction().await?;
    // The definition as it is now, kept from changing until this commits:
    // the instance is made of its current version, and not once deleted.
    let lock = tx
        .query_opt(
            "SELECT version FROM interactive_prompt_definitions
             WHERE id = $1 AND deleted_at IS NULL FOR SHARE",
            &[&d.id],
        )
        .await?;
    let Some(version) = lock.map(|r| r.get::<_, i64>(0)) else {
        return Ok(None);
    };
    if version != d.version {
        return Ok(None); // changed since read: read again
    }
    let prompt =
        writes::create_prompt(&tx, d.settings.prompt.clone(), d.settings.duration_seconds).await?;
    let stmt = tx.prepare_cached(named::INSERT_INSTANCE).await?;
    let won = tx
        .query_opt(
            &stmt,
            &[&d.id, &found.next_seq(), &d.version, &prompt.id, &now()],
        )
        .await?;
    if won.is_none() {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(prompt))
}
