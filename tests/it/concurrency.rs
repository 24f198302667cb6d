//! Concurrent requests (docs/rules.md, "The event rules": atomicity): racing joins on one session
//! start it exactly once, racing events on one session behave as if posted
//! one after another, and events posted on many sessions at once are all
//! stored with exact aggregates.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

async fn app() -> Arc<TestApp> {
    Arc::new(spawn_app_with(&["--session-event-rate", "0"]).await)
}

/// Posts all `(session, route, prompt time, data)` requests at once, each
/// from its own task; returns the responses in request order.
async fn post_all(
    app: &Arc<TestApp>,
    requests: Vec<(Arc<Session>, &'static str, f64, Value)>,
) -> Vec<(StatusCode, Value)> {
    let tasks = requests.into_iter().map(|(s, route, t, data)| {
        let app = app.clone();
        tokio::spawn(async move { app.post_event(&s, route, t, data).await })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// Uids of all stored events of the prompt of `s`, by session uid.
async fn stored(app: &TestApp, s: &Session) -> BTreeMap<String, BTreeSet<String>> {
    let (status, body) = app.search(s, json!({"limit": 5000})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in body["items"].as_array().unwrap() {
        let session = e["session_uid"].as_str().unwrap().to_owned();
        out.entry(session)
            .or_default()
            .insert(e["uid"].as_str().unwrap().to_owned());
    }
    out
}

fn uid(body: &Value) -> String {
    body["uid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_joins_on_one_session_start_it_exactly_once() {
    let app = app().await;
    let p = app.create_prompt(numeric_prompt(), 60).await;
    let s = Arc::new(app.start_session(&p, "ada").await);
    let joins = (0..50)
        .map(|i| (s.clone(), "join", i as f64 * 0.5, json!({})))
        .collect();
    let results = post_all(&app, joins).await;
    let created: Vec<&Value> = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(created.len(), 1, "{results:?}");
    for (status, body) in &results {
        if *status != StatusCode::CREATED {
            let got = (status.as_u16(), body["type"].as_str());
            assert_eq!(got, (409, Some("session_already_started")), "{body}");
        }
    }
    let events = stored(&app, &s).await;
    assert_eq!(events[&s.session_uid], BTreeSet::from([uid(created[0])]));
    let (_, stats) = app.stats(&s, 62).await;
    assert_eq!(stats["users"], 1, "{stats}");
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_events_on_one_session_behave_as_if_posted_one_after_another() {
    let app = app().await;
    let p = app.create_prompt(press_prompt(), 20).await;
    let mut sessions = vec![];
    for i in 0..20 {
        let s = Arc::new(app.start_session(&p, &format!("racer{i}")).await);
        let (status, body) = app.post_event(&s, "join", 0.0, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        sessions.push(s);
    }
    // Ten likes at distinct times on every session, all 200 at once.
    let likes = sessions
        .iter()
        .flat_map(|s| (1..=10).map(|t| (s.clone(), "like", t as f64, json!({}))))
        .collect();
    let results = post_all(&app, likes).await;
    let events = stored(&app, &sessions[0]).await;
    let mut accepted = 0;
    for (s, results) in sessions.iter().zip(results.chunks(10)) {
        let mut created = BTreeSet::new();
        for (t, (status, body)) in (1..=10).zip(results) {
            if *status == StatusCode::CREATED {
                created.insert(uid(body));
            } else {
                // The latest like can never be refused; the others only for
                // a later like accepted before them.
                assert_ne!(t, 10, "{body}");
                let got = (status.as_u16(), body["type"].as_str());
                assert_eq!(got, (409, Some("session_has_later_event")), "{body}");
            }
        }
        accepted += created.len();
        let likes: BTreeSet<String> = events[&s.session_uid].iter().cloned().collect();
        assert_eq!(likes.len(), created.len() + 1, "the join and the likes");
        assert!(created.is_subset(&likes));
    }
    eprintln!("{accepted} of 200 racing likes accepted");
    let (_, stats) = app.stats(&sessions[0], 30).await;
    assert_eq!(stats["likes"], json!(accepted), "{stats}");
    assert_eq!(stats["users"], 20);
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_sessions_posting_at_once_lose_no_event_and_keep_exact_aggregates() {
    let app = app().await;
    let p = app.create_prompt(numeric_prompt(), 20).await;
    // Ten users with four sessions each, started at once.
    let starts = (0..40).map(|i| {
        let (app, p) = (app.clone(), p.clone());
        tokio::spawn(async move { app.start_session(&p, &format!("user{}", i % 10)).await })
    });
    let sessions: Vec<Session> = join_all(starts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let rating = |i: usize, t: usize| ((i * 7 + t) % 10 + 1) as i64;
    // Each session: join at 0, a like at odd and an answer at even times, leave at 9.
    let tasks = sessions.iter().cloned().enumerate().map(|(i, s)| {
        let app = app.clone();
        tokio::spawn(async move {
            let mut uids = vec![];
            for t in 0..10 {
                let (route, data) = match t {
                    0 => ("join", json!({})),
                    9 => ("leave", json!({})),
                    t if t % 2 == 1 => ("like", json!({})),
                    t => ("respond_numeric_prompt", json!({"rating": rating(i, t)})),
                };
                let (status, body) = app.post_event(&s, route, t as f64, data).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                uids.push(uid(&body));
            }
            uids
        })
    });
    let created: Vec<Vec<String>> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let events = stored(&app, &sessions[0]).await;
    assert_eq!(events.len(), 40);
    for (s, uids) in sessions.iter().zip(&created) {
        assert_eq!(events[&s.session_uid], uids.iter().cloned().collect());
    }

    // 31 bins of 20/31 s: bin 7 holds t = 5 (after the answers at 4), bin 30 holds 20.
    let answers = |t: usize| {
        let mut counts: BTreeMap<String, i64> = (1..=10).map(|r| (r.to_string(), 0)).collect();
        (0..40).for_each(|i| *counts.get_mut(&rating(i, t).to_string()).unwrap() += 1);
        json!(counts)
    };
    for (bin, users, likes, answered_at) in [(7, 40, 120, 4), (30, 0, 160, 8)] {
        let (status, stats) = app.stats(&sessions[0], bin).await;
        assert_eq!(status, StatusCode::OK, "{stats}");
        assert_eq!(stats["users"], users, "bin {bin}: {stats}");
        assert_eq!(stats["likes"], likes, "bin {bin}: {stats}");
        assert_eq!(stats["numeric_active"], answers(answered_at), "bin {bin}");
    }
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}
