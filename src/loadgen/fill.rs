//! Setup, not measurement: filling a prompt with a long stored history by
//! writing straight through the library ([`Store::append_event`], so the
//! aggregates are exactly what the server would have kept) into the
//! database before the server under test starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;

use crate::domain::event::EventKind;
use crate::domain::event::NewEvent;
use crate::domain::prompt::{Prompt, PromptInput};
use crate::domain::user::UserIdentity;
use crate::storage::{StorageSettings, Store};

/// Events per filled session (a join, answers and likes, a leave).
const EVENTS_PER_SESSION: u64 = 10;
/// Concurrent writers (enough to fill the group commit).
const WRITERS: u64 = 256;

/// Creates a prompt of `style` lasting `duration` seconds in `database`
/// and stores `events` events spread evenly over its duration; returns
/// the prompt's uid.
pub async fn fill(
    database: &str,
    style: &str,
    duration: i64,
    events: u64,
) -> anyhow::Result<String> {
    let store = Store::open(database, &StorageSettings::default())
        .await
        .with_context(|| format!("opening {database} to fill it"))?;
    let input: PromptInput = serde_json::from_value(super::api::prompt_of_style(style)?)?;
    let prompt = Prompt::parse(input).map_err(|e| anyhow::anyhow!("{e}"))?;
    let record = store.create_prompt(prompt, duration).await?;
    let sessions = events.div_ceil(EVENTS_PER_SESSION);
    let bar = super::report::progress("fill", 1.0);
    bar.set_length(events);
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (store, uid, done, bar) =
            (store.clone(), record.uid.clone(), done.clone(), bar.clone());
        let style = style.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut s = w;
            while s < sessions {
                let first = s * EVENTS_PER_SESSION;
                let n = EVENTS_PER_SESSION.min(events - first);
                fill_session(&store, &uid, &style, duration, s, first, n, events).await?;
                bar.set_position(done.fetch_add(n, Ordering::Relaxed) + n);
                s += WRITERS;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    bar.finish_and_clear();
    Ok(record.uid)
}

/// Stores session `s`: `n` events, the `first`-th to the `(first + n)`-th
/// of `total`, at prompt times spread over the whole duration.
#[allow(clippy::too_many_arguments)]
async fn fill_session(
    store: &Store,
    prompt_uid: &str,
    style: &str,
    duration: i64,
    s: u64,
    first: u64,
    n: u64,
    total: u64,
) -> anyhow::Result<()> {
    let sub = format!("fill-{s}");
    let user = UserIdentity {
        sub: sub.clone(),
        display_name: Some(sub.clone()),
        picture: None,
    };
    let started = store
        .start_session(prompt_uid, user)
        .await?
        .context("the filled prompt vanished")?;
    // Session s's events sit at the same offset of every stride, so every
    // one-second bucket gets about total / duration events.
    let stride = duration as f64 / EVENTS_PER_SESSION as f64;
    let offset = (first as f64 / total as f64) * stride;
    let mut script = super::script::Script::new(style);
    for k in 0..n {
        let (route, data) = script.next(k + 1 == n && n > 1);
        let ty = crate::domain::event::EventType::ALL
            .into_iter()
            .find(|&t| crate::http::events::route(t) == route)
            .expect("known route");
        let kind = EventKind::from_data(ty, data).map_err(|e| anyhow::anyhow!("{e}"))?;
        let t = (offset + k as f64 * stride).min(duration as f64);
        let accepted = store
            .append_event(NewEvent {
                prompt_uid: prompt_uid.to_owned(),
                session_uid: started.session_uid.clone(),
                user_sub: sub.clone(),
                kind,
                prompt_time: t,
            })
            .await?;
        accepted.map_err(|v| anyhow::anyhow!("fill event refused: {v}"))?;
    }
    Ok(())
}
