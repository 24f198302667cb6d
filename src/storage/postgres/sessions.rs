//! Starting sessions, in batches: each user created or renamed, then
//! every session inserted, in a fixed number of round trips.

use std::collections::{BTreeMap, HashMap};

use deadpool_postgres::GenericClient;

use super::reads;
use crate::domain::clock::now;
use crate::domain::uid;
use crate::domain::user::UserIdentity;
use crate::storage::aggregates::PendingAggregates;
use crate::storage::{StartedSession, StorageError};

/// A session to start: the prompt's uid and the user.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The prompt's uid.
    pub prompt_uid: String,
    /// The user taking it.
    pub user: UserIdentity,
}

/// Creates or refreshes each user, then starts a session of each live
/// prompt asked for (None: no such prompt, or deleted), inside one
/// transaction and in a fixed number of round trips. Users are upserted
/// in `sub` order (concurrent batches lock them in the same order); a user
/// named twice in the batch keeps the last name and picture given.
pub async fn start_sessions(
    c: &impl GenericClient,
    asked: &[&NewSession],
) -> Result<Vec<Option<StartedSession>>, StorageError> {
    let mut prompts = reads::prompts_of(c, asked.iter().map(|a| a.prompt_uid.as_str())).await?;
    prompts.retain(|_, p| p.as_ref().is_some_and(|p| p.deleted_at.is_none()));
    let live = asked
        .iter()
        .filter(|a| prompts.contains_key(a.prompt_uid.as_str()));
    let mut names: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    for a in live {
        let (name, picture) = names
            .entry(reads::text(&a.user.sub).into_owned())
            .or_default();
        if let Some(given) = &a.user.display_name {
            *name = Some(reads::text(given).into_owned());
        }
        if let Some(url) = &a.user.picture {
            *picture = Some(reads::text(url).into_owned());
        }
    }
    let mut user_ids = HashMap::with_capacity(names.len());
    if !names.is_empty() {
        let mut subs = Vec::with_capacity(names.len());
        let (mut given, mut pictures) = (Vec::new(), Vec::new());
        for (sub, (name, picture)) in names {
            subs.push(sub);
            given.push(name);
            pictures.push(picture);
        }
        let created_at = now();
        let upsert = c.prepare_cached(UPSERT_USERS).await?;
        let rows = c
            .query(&upsert, &[&subs, &given, &created_at, &pictures])
            .await?;
        for r in &rows {
            user_ids.insert(r.get::<_, String>(0), r.get::<_, i64>(1));
        }
    }
    let (mut prompt_ids, mut users, mut uids) = (Vec::new(), Vec::new(), Vec::new());
    let started = asked
        .iter()
        .map(|a| {
            let prompt = prompts.get(a.prompt_uid.as_str())?.clone()?;
            let session_uid = uid::generate(uid::SESSION);
            prompt_ids.push(prompt.id);
            users.push(user_ids[reads::text(&a.user.sub).as_ref()]);
            uids.push(session_uid.clone());
            Some(StartedSession {
                prompt,
                session_uid,
            })
        })
        .collect();
    if !uids.is_empty() {
        let insert = c.prepare_cached(INSERT_SESSIONS).await?;
        c.execute(&insert, &[&prompt_ids, &users, &uids]).await?;
        let mut totals = PendingAggregates::default();
        for &prompt_id in &prompt_ids {
            totals.add_sessions(prompt_id, 1);
        }
        super::writes::flush(c, &totals).await?;
    }
    Ok(started)
}

/// Creates or refreshes a batch's users (column arrays `sub`, `given_name`,
/// `picture`; a null keeps what is stored), returning each `sub` with its
/// row id.
const UPSERT_USERS: &str = "INSERT INTO users(sub, given_name, picture, created_at)
    SELECT s, g, p, $3 FROM UNNEST($1::text[], $2::text[], $4::text[]) AS t(s, g, p)
    ON CONFLICT (sub) DO UPDATE SET given_name = COALESCE(excluded.given_name, users.given_name),
        picture = COALESCE(excluded.picture, users.picture)
    RETURNING sub, id";

/// Inserts a batch's sessions (column arrays).
const INSERT_SESSIONS: &str =
    "INSERT INTO interactive_prompt_sessions(interactive_prompt_id, user_id, uid)
    SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[])";
