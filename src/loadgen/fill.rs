//! Setup, not measurement: filling prompts with long stored histories by
//! writing straight through the library ([`Store::append_event`], so the
//! aggregates are exactly what the server would have kept) into the
//! database before the server under test starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anyhow::Context;

use crate::domain::event::EventKind;
use crate::domain::event::NewEvent;
use crate::domain::prompt::{Prompt, PromptInput};
use crate::domain::user::UserIdentity;
use crate::storage::{StorageSettings, Store};

/// Events per filled session (a join, answers and likes, a leave).
pub const EVENTS_PER_SESSION: u64 = 10;
/// Concurrent writers (enough to fill the group commit).
const WRITERS: usize = 256;

/// One prompt to fill.
#[derive(Debug, Clone)]
pub struct PromptFill {
    /// Its style (numeric, press, color or word).
    pub style: String,
    /// Its duration, in seconds.
    pub duration: i64,
    /// Events to store, [`EVENTS_PER_SESSION`] per session, spread evenly
    /// over the duration.
    pub events: u64,
}

impl PromptFill {
    /// Sessions the fill starts.
    pub fn sessions(&self) -> u64 {
        self.events.div_ceil(EVENTS_PER_SESSION)
    }
}

/// Creates a prompt of `style` lasting `duration` seconds in `database`
/// and stores `events` events spread evenly over its duration; returns
/// the prompt's uid.
pub async fn fill(
    database: &str,
    style: &str,
    duration: i64,
    events: u64,
) -> anyhow::Result<String> {
    let prompt = PromptFill {
        style: style.to_owned(),
        duration,
        events,
    };
    Ok(fill_prompts(database, &[prompt]).await?.remove(0))
}

/// Creates every prompt of `prompts` in `database` and fills them at once,
/// their sessions interleaved so that each prompt's rows are spread over
/// the whole fill, as prompts taken at the same time store theirs; returns
/// their uids, in order.
pub async fn fill_prompts(database: &str, prompts: &[PromptFill]) -> anyhow::Result<Vec<String>> {
    let store = Store::open(database, &StorageSettings::default())
        .await
        .with_context(|| format!("opening {database} to fill it"))?;
    let mut uids = Vec::new();
    for p in prompts {
        let input: PromptInput = serde_json::from_value(super::api::prompt_of_style(&p.style)?)?;
        let prompt = Prompt::parse(input).map_err(|e| anyhow::anyhow!("{e}"))?;
        uids.push(store.create_prompt(prompt, p.duration).await?.uid);
    }
    let bar = super::report::progress("fill", 1.0);
    bar.set_length(prompts.iter().map(|p| p.events).sum());
    let (uids, prompts) = (Arc::new(uids), Arc::new(prompts.to_vec()));
    let work = Arc::new(interleaved(&prompts));
    let (next, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (store, uids, prompts, work) =
            (store.clone(), uids.clone(), prompts.clone(), work.clone());
        let (next, done, bar) = (next.clone(), done.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(&(p, s)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                let n = fill_session(&store, &uids[p], &prompts[p], p, s).await?;
                bar.set_position(done.fetch_add(n, Ordering::Relaxed) + n);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    bar.finish_and_clear();
    Ok(Arc::unwrap_or_clone(uids))
}

/// Every `(prompt, session)` to fill, ordered by how far into its own
/// prompt's sessions each is.
fn interleaved(prompts: &[PromptFill]) -> Vec<(usize, u64)> {
    let mut work: Vec<(f64, usize, u64)> = prompts
        .iter()
        .enumerate()
        .flat_map(|(p, fill)| {
            let n = fill.sessions();
            (0..n).map(move |s| ((s as f64 + 0.5) / n as f64, p, s))
        })
        .collect();
    work.sort_by(|a, b| a.0.total_cmp(&b.0));
    work.into_iter().map(|(_, p, s)| (p, s)).collect()
}

/// Stores session `s` of prompt `p` (`prompt_uid`, filled as `fill`
/// says): its share of the events, at prompt times spread over the whole
/// duration. Returns how many it stored.
async fn fill_session(
    store: &Store,
    prompt_uid: &str,
    fill: &PromptFill,
    p: usize,
    s: u64,
) -> anyhow::Result<u64> {
    let (total, duration) = (fill.events, fill.duration);
    let first = s * EVENTS_PER_SESSION;
    let n = EVENTS_PER_SESSION.min(total - first);
    let sub = format!("fill-{p}-{s}");
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
    let mut script = super::script::Script::new(&fill.style);
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
    Ok(n)
}
