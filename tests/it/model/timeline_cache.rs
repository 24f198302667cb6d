//! Timeline answers are kept between changes of a prompt's figures
//! (docs/operations.md, "Limits"): repeated requests get the same bytes,
//! from memory (`chorus_timeline_cache_total{result="hit"}` counts them),
//! and every change — events, an erasure, a rebuild — is in the next
//! answer, checked against the model's brute-force recomputation.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::erasure::erase;
use crate::raw_db::Db;

const HITS: &str = "chorus_timeline_cache_total{result=\"hit\"}";
/// PostgreSQL's staleness bound (docs/scaling.md), and a margin.
const BOUND: Duration = Duration::from_millis(1000 + 200);

/// A prompt's timeline as sent, byte for byte.
async fn body(app: &TestApp, p: &MPrompt) -> String {
    let url = format!(
        "/api/1/interactive_prompts/events/stats/timeline?uid={}",
        p.uid
    );
    let resp = app.http.get(app.url(&url)).bearer_auth(&p.jwt);
    let resp = resp.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    resp.text().await.unwrap()
}

/// For every prompt: timeline requests in a row get the same bytes, and
/// soon from memory; and they match the model at every bin.
async fn repeated_and_verified(app: &TestApp, model: &Model) {
    for (pi, p) in model.prompts.iter().enumerate() {
        let first = body(app, p).await;
        let mut hit = false;
        for _ in 0..50 {
            let hits = metric(&app.metrics().await, HITS);
            assert_eq!(body(app, p).await, first, "prompt {pi}: another body");
            if metric(&app.metrics().await, HITS) > hits {
                hit = true;
                break;
            }
            // The figures are loaded into memory after a first read.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(hit, "prompt {pi}: no request was answered from memory");
        // The kept body is the model's (verify reads it once more).
        verify(app, model, pi).await;
    }
}

/// Lets the server see a change made behind its back: on SQLite its next
/// write notices another connection wrote; on PostgreSQL the staleness
/// bound passes.
async fn noticed(app: &TestApp, model: &mut Model, rng: &mut StdRng) {
    match engine() {
        Engine::Sqlite => start(app, model, 0, rng.random_range(0..USERS)).await,
        Engine::Postgres => tokio::time::sleep(BOUND).await,
    }
}

#[tokio::test]
async fn kept_timelines_are_the_same_bytes_until_events_an_erasure_or_a_rebuild_change_them() {
    let seed: u64 = std::env::var("CHORUS_MODEL_SEED").map_or(20_261_208, |s| s.parse().unwrap());
    eprintln!("timeline cache seed {seed} (set CHORUS_MODEL_SEED to vary)");
    let mut rng = StdRng::seed_from_u64(seed);
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let mut model = Model {
        prompts: vec![],
        sessions: vec![],
    };
    for i in 0..4 {
        let (body, style) = random_prompt(&mut rng, i);
        let duration = [3, 5, 8, 13, 16, 20][rng.random_range(0..6)];
        let uid = app.create_prompt(body, duration).await;
        let (jwt, deleted) = (String::new(), false);
        model.prompts.push(MPrompt {
            uid,
            jwt,
            style,
            duration,
            deleted,
        });
        for _ in 0..4 {
            start(&app, &mut model, i, rng.random_range(0..USERS)).await;
        }
    }
    // New events between rounds of reads.
    for _ in 0..3 {
        for pi in 0..model.prompts.len() {
            start(&app, &mut model, pi, rng.random_range(0..USERS)).await;
        }
        walk_for(&app, &mut model, &mut rng, 200, None).await;
        repeated_and_verified(&app, &model).await;
    }

    // An erasure.
    let u = model
        .sessions
        .iter()
        .find(|s| !s.events.is_empty())
        .unwrap()
        .owner;
    let (status, erased) = erase(&app, &sub(u)).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    model.sessions.retain(|s| s.owner != u);
    repeated_and_verified(&app, &model).await;

    // Figures changed behind the server's back are served (and kept)...
    let db = Db::open(&app.database).await;
    let tampered = db
        .execute(
            "UPDATE interactive_prompt_event_fenwick_trees SET val = val + 100
             WHERE id = (SELECT id FROM interactive_prompt_event_fenwick_trees
             WHERE interactive_prompt_id = (SELECT id FROM interactive_prompts WHERE uid = $1)
             AND category = 'users' ORDER BY idx LIMIT 1)",
            &[&model.prompts[0].uid],
        )
        .await;
    assert_eq!(tampered, 1, "prompt 0 has a row of users");
    noticed(&app, &mut model, &mut rng).await;
    let wrong = body(&app, &model.prompts[0]).await;
    assert_eq!(body(&app, &model.prompts[0]).await, wrong);
    let totals = model.expected_totals(0);
    let users: Vec<Value> = (0..bins(model.prompts[0].duration))
        .map(|b| model.expected_stats(0, &totals, b)["users"].clone())
        .collect();
    let served: Value = serde_json::from_str(&wrong).unwrap();
    assert_ne!(served["users"], Value::from(users), "the change is served");
    // ...until `chorus rebuild` repairs them.
    let (code, out) = app.run_command("rebuild");
    assert_eq!(code, 0, "{out}");
    noticed(&app, &mut model, &mut rng).await;
    repeated_and_verified(&app, &model).await;
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}
