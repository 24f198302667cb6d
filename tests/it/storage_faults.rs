//! Storage that fails under the server: a SQLite database that fills up
//! mid-ingest. Only what was stored is acknowledged, nothing answered with
//! an error is stored, and the aggregates stay consistent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// One answered post: session, prompt time, status, uid if acknowledged.
type Answer = (String, f64, u16, Option<String>);

/// Posts likes on every session until each has seen `failures` error
/// answers after its first one (or `within` has passed).
async fn post_until_full(
    app: &TestApp,
    sessions: Vec<Session>,
    failures: usize,
    within: Duration,
) -> Vec<Answer> {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + within;
    let tasks = sessions.into_iter().map(|s| {
        let (answers, url) = (answers.clone(), app.base.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut failed = 0;
            let mut t = 1.0;
            while failed < failures && Instant::now() < deadline {
                t += 0.001;
                let body = json!({"interactive_prompt_uid": s.prompt_uid, "interactive_prompt_jwt": s.jwt,
                    "session_uid": s.session_uid, "prompt_time": t, "data": {}});
                let r = http
                    .post(format!("{url}/api/1/interactive_prompts/events/like"))
                    .bearer_auth(&s.user_token)
                    .json(&body)
                    .send()
                    .await
                    .expect("the server answers");
                let status = r.status().as_u16();
                let retry_after = r.headers().get("retry-after").is_some();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                let uid = v["uid"].as_str().map(str::to_owned);
                if status != 201 {
                    failed += 1;
                    assert_eq!(
                        (status, v["type"].as_str(), retry_after),
                        (503, Some("storage_unavailable"), true),
                        "{v}"
                    );
                }
                answers
                    .lock()
                    .unwrap()
                    .push((s.session_uid.clone(), t, status, uid));
            }
        })
    });
    for task in futures::future::join_all(tasks.collect::<Vec<_>>()).await {
        task.expect("poster");
    }
    Arc::try_unwrap(answers).unwrap().into_inner().unwrap()
}

/// Every stored event of the prompt: (uid, session, prompt time).
async fn stored_events(app: &TestApp, s: &Session) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    let mut body = json!({"limit": 5000});
    loop {
        let (status, page) = app.search(s, body.clone()).await;
        assert_eq!(status, 200, "{page}");
        for e in page["items"].as_array().unwrap() {
            out.push((
                e["uid"].as_str().unwrap().to_owned(),
                e["session_uid"].as_str().unwrap().to_owned(),
                e["prompt_time"].as_f64().unwrap(),
            ));
        }
        match &page["next_page_sort"] {
            Value::Null => return out,
            next => body = json!({"limit": 5000, "sort": next}),
        }
    }
}

/// `PRAGMA max_page_count` (the `sqlite.max_page_count` quota) makes SQLite
/// answer `SQLITE_FULL` at a size the test chooses, as a full disk would.
#[tokio::test]
async fn a_full_sqlite_database_acknowledges_exactly_what_it_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chorus.db");
    let database = format!("sqlite://{}", path.display());
    let mut app = spawn_on(&database, &["--session-event-rate", "0"], None);
    let prompt = app.create_prompt(numeric_prompt(), 600).await;
    let probe = app.start_session(&prompt, "probe").await;
    let mut sessions = Vec::new();
    for w in 0..12 {
        let s = app.start_session(&prompt, &format!("w{w}")).await;
        assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
        sessions.push(s);
    }
    app.signal("TERM");
    app.wait_exit(Duration::from_secs(15));
    let pages: u64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    // Room for some hundreds of events, then full.
    let quota = (pages + 40).to_string();
    let args = [
        "--session-event-rate",
        "0",
        "--sqlite-max-page-count",
        &quota,
    ];
    let app = spawn_on(&database, &args, None);

    let answers = post_until_full(&app, sessions.clone(), 30, Duration::from_secs(60)).await;
    let acked: HashSet<&str> = answers.iter().filter_map(|a| a.3.as_deref()).collect();
    let refused: HashSet<(&str, u64)> = answers
        .iter()
        .filter(|a| a.2 != 201)
        .map(|a| (a.0.as_str(), a.1.to_bits()))
        .collect();
    assert!(
        !acked.is_empty() && !refused.is_empty(),
        "{} acknowledged, {} refused",
        acked.len(),
        refused.len()
    );

    let stored = stored_events(&app, &probe).await;
    let stored_uids: HashSet<&str> = stored.iter().map(|e| e.0.as_str()).collect();
    let lost: Vec<_> = acked.iter().filter(|u| !stored_uids.contains(*u)).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    let kept: Vec<_> = stored
        .iter()
        .filter(|e| refused.contains(&(e.1.as_str(), e.2.to_bits())))
        .collect();
    assert!(
        kept.is_empty(),
        "answered with an error but stored: {kept:?}"
    );
    assert_eq!(
        stored.len(),
        acked.len() + sessions.len(),
        "the joins and the likes acknowledged"
    );
    eprintln!(
        "{} acknowledged, {} refused before the quota",
        acked.len(),
        refused.len()
    );

    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
    let (status, _) = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(status, 200, "a full database still serves reads");
    drop(app);

    // With room again, writes succeed without anything to repair.
    let app = spawn_on(&database, &["--session-event-rate", "0"], None);
    let (status, body) = app.post_event(&sessions[0], "like", 599.0, json!({})).await;
    assert_eq!(status, 201, "{body}");
    drop(dir);
}
