//! Simulated participants: the recorded history, and the live crowd that
//! keeps taking the prompts in real time. Both post through [`Ingest`], as
//! the HTTP API does (stored, counted and published: viewers see the
//! crowd's events near-live), only without HTTP.

use std::time::Duration;

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::plan::{self, Plan};
use super::script::DemoPrompt;
use crate::domain::event::NewEvent;
use crate::domain::prompt::PromptRecord;
use crate::domain::user::UserIdentity;
use crate::ingest::Ingest;

/// Display names of the simulated participants.
const NAMES: &[&str] = &[
    "Ada", "Bea", "Cal", "Dara", "Eli", "Fern", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena", "Milo",
    "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Vik", "Wren", "Xan", "Yara",
    "Zeke", "Aiko", "Bruno", "Chloé", "Dev", "Esra", "Femi", "Greta", "Hugo", "Ines", "Jonas",
    "Kofi", "Lior", "Maya", "Noor", "Otto", "Priya", "Rafa", "Sofia", "Theo", "Ugo", "Vera", "Wim",
    "Yusuf", "Zoë",
];

/// The `sub` prefix of the recorded history's users.
pub const HISTORY_SUB: &str = "demo-history-";
/// The `sub` prefix of the live crowd's users.
pub const CROWD_SUB: &str = "demo-crowd-";

/// How many history sessions are written at once (group commit batches them).
const HISTORY_CONCURRENCY: usize = 256;

fn identity(prefix: &str, n: u64) -> UserIdentity {
    UserIdentity {
        sub: format!("{prefix}{n}"),
        display_name: Some(NAMES[(n as usize * 7 + 3) % NAMES.len()].to_owned()),
        picture: None,
    }
}

/// Starts a session of `prompt` and returns its uid.
async fn start(ingest: &Ingest, prompt: &PromptRecord, who: &UserIdentity) -> Option<String> {
    match ingest.store().start_session(&prompt.uid, who.clone()).await {
        Ok(Some(started)) => Some(started.session_uid),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "demo: starting a session failed");
            None
        }
    }
}

/// Posts one planned event.
async fn post(
    ingest: &Ingest,
    prompt: &PromptRecord,
    session: &str,
    sub: &str,
    at: (f64, crate::domain::event::EventKind),
) -> bool {
    let event = NewEvent {
        prompt_uid: prompt.uid.clone(),
        session_uid: session.to_owned(),
        user_sub: sub.to_owned(),
        kind: at.1,
        prompt_time: at.0,
    };
    match ingest.accept(event).await {
        Ok(Ok(_)) => true,
        Ok(Err(violation)) => {
            tracing::warn!(?violation, "demo: a planned event was refused");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "demo: storing an event failed");
            false
        }
    }
}

/// Writes `sessions` finished sessions of `prompt` as recorded history.
/// Returns how many events were stored.
pub async fn fill_history(
    ingest: &Ingest,
    prompt: &PromptRecord,
    demo: &DemoPrompt,
    sessions: u64,
    seed: u64,
) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let plans: Vec<(u64, Plan)> = (0..sessions)
        .map(|n| (n, plan::session(demo, &mut rng)))
        .collect();
    futures::stream::iter(plans)
        .map(|(n, plan)| async move {
            let who = identity(HISTORY_SUB, n);
            let Some(session) = start(ingest, prompt, &who).await else {
                return 0;
            };
            let mut stored = 0;
            for at in plan {
                if !post(ingest, prompt, &session, &who.sub, at).await {
                    break;
                }
                stored += 1;
            }
            stored
        })
        .buffer_unordered(HISTORY_CONCURRENCY)
        .fold(0, |sum, n| async move { sum + n })
        .await
}

/// One simulated person taking `prompt`, already `into` seconds in: the
/// events before that are posted at once, the rest when its clock reaches
/// them.
async fn take(ingest: Ingest, prompt: PromptRecord, who: UserIdentity, plan: Plan, into: f64) {
    let Some(session) = start(&ingest, &prompt, &who).await else {
        return;
    };
    let now = Instant::now();
    let began = now
        .checked_sub(Duration::from_secs_f64(into))
        .unwrap_or(now);
    for at in plan {
        tokio::time::sleep_until(began + Duration::from_secs_f64(at.0)).await;
        if !post(&ingest, &prompt, &session, &who.sub, at).await {
            return;
        }
    }
}

/// Keeps about `size` simulated people taking `prompt` at any moment, each
/// posting its events when its own clock reaches them. The crowd starts
/// mid-way (`size` people spread over the prompt), so that whoever opens
/// the page first already has company. Runs forever.
pub async fn run_crowd(
    ingest: Ingest,
    prompt: PromptRecord,
    demo: DemoPrompt,
    size: u32,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let duration = prompt.duration_seconds as f64;
    let every = duration / size.max(1) as f64;
    for n in 0..size {
        let into = every * n as f64;
        let who = identity(CROWD_SUB, n as u64);
        let plan = plan::session(&demo, &mut rng);
        tokio::spawn(take(ingest.clone(), prompt.clone(), who, plan, into));
    }
    for n in size as u64.. {
        let wait = every * rng.random_range(0.5..1.5);
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        let plan = plan::session(&demo, &mut rng);
        let who = identity(CROWD_SUB, n);
        tokio::spawn(take(ingest.clone(), prompt.clone(), who, plan, 0.0));
    }
}
