//! Erasing random users after the random walk of [`super`]: every prompt's
//! events, counts, stats at every bin and timeline must then equal the
//! model's brute-force recomputation from the remaining sessions (answers
//! replaced, presses held at a leave, likes: every style), and neither
//! search, export nor a stream's replay may hold an erased event.

use std::collections::HashSet;
use std::time::Duration;

use futures::future::join_all;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::erasure::erase;
use crate::stream_support::{Viewer, authorize};

/// The uids of the events viewers of every live prompt receive from
/// prompt time 0, replayed, within `within`.
async fn replayed(app: &TestApp, model: &Model, within: Duration) -> HashSet<String> {
    let live = model.prompts.iter().filter(|p| !p.deleted);
    let viewers = live.map(|p| async move {
        let packet = authorize(&reader(p), 1000, 1.0, 1.0, true);
        let mut viewer = Viewer::join(app, packet, 0.0).await;
        viewer.collect(within).await.0
    });
    let received = join_all(viewers).await.into_iter().flatten();
    received
        .map(|r| r.event["uid"].as_str().unwrap().to_owned())
        .collect()
}

/// The uids of a prompt's export (JSON lines), in its order.
async fn export_uids(app: &TestApp, prompt_uid: &str) -> Vec<String> {
    let url = format!("/api/1/interactive_prompts/{prompt_uid}/events/export?format=jsonl");
    let resp = app.http.get(app.url(&url)).bearer_auth(ADMIN_TOKEN);
    let text = resp.send().await.unwrap().text().await.unwrap();
    let line = |l: &str| serde_json::from_str::<serde_json::Value>(l).unwrap();
    text.lines()
        .map(|l| line(l)["uid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn erasing_random_users_leaves_exactly_the_figures_of_the_remaining_events() {
    let seed: u64 = std::env::var("CHORUS_MODEL_SEED").map_or(20_261_207, |s| s.parse().unwrap());
    eprintln!("erasure seed {seed} (set CHORUS_MODEL_SEED to vary)");
    let mut rng = StdRng::seed_from_u64(seed);
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let mut model = populated(&app, &mut rng, &[2, 3, 5, 7, 8, 9, 13, 16]).await;
    walk(&app, &mut model, &mut rng).await;
    // Viewers replay every prompt before the erasure, so this process has
    // the first buckets of each loaded.
    let before = replayed(&app, &model, Duration::from_millis(1500)).await;

    let mut users: Vec<usize> = (0..USERS).collect();
    let erased: Vec<usize> = (0..2)
        .map(|_| users.remove(rng.random_range(0..users.len())))
        .collect();
    let mut erased_uids = HashSet::new();
    for &u in &erased {
        let theirs: Vec<&MSession> = model.sessions.iter().filter(|s| s.owner == u).collect();
        let events: Vec<&MEvent> = theirs.iter().flat_map(|s| &s.events).collect();
        erased_uids.extend(events.iter().map(|e| e.uid.clone()));
        let (status, body) = erase(&app, &sub(u)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let want = json!({"sub": sub(u), "sessions": theirs.len(), "events": events.len()});
        assert_eq!(body, want);
        let (status, body) = erase(&app, &sub(u)).await;
        assert_eq!(
            (status, &body["type"]),
            (StatusCode::NOT_FOUND, &json!("user_not_found"))
        );
    }
    assert!(
        before.iter().any(|uid| erased_uids.contains(uid)),
        "the viewers before the erasure replayed some of the erased events"
    );
    // An erased session takes nothing more (rule 1 first on a deleted prompt).
    let gone = model
        .sessions
        .iter()
        .find(|s| erased.contains(&s.owner))
        .unwrap();
    let p = &model.prompts[gone.prompt];
    let s = Session {
        prompt_uid: p.uid.clone(),
        jwt: p.jwt.clone(),
        session_uid: gone.uid.clone(),
        user_token: user_token(&sub(gone.owner), None),
        sub: sub(gone.owner),
    };
    let (status, body) = app.post_event(&s, "like", 0.0, json!({})).await;
    let want = if p.deleted {
        "not_found"
    } else {
        "session_not_found"
    };
    assert_eq!(body["type"], want, "{status} {body}");
    model.sessions.retain(|s| !erased.contains(&s.owner));

    for pi in 0..model.prompts.len() {
        verify(&app, &model, pi).await;
        let exported = export_uids(&app, &model.prompts[pi].uid).await;
        let want: Vec<String> = model.rows(pi).into_iter().map(|r| r.0).collect();
        assert_eq!(exported, want, "the export of prompt {pi}");
    }
    let after = replayed(&app, &model, Duration::from_secs(3)).await;
    assert!(!after.is_empty(), "the viewers replayed nothing");
    let erased_replayed: Vec<_> = after.intersection(&erased_uids).collect();
    assert!(
        erased_replayed.is_empty(),
        "replayed after the erasure: {erased_replayed:?}"
    );
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}
