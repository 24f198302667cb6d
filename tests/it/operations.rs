//! Operations: metrics, readiness, graceful shutdown, crash safety, stream limits.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::stream_support::*;
use crate::support::*;

#[tokio::test]
async fn metrics_counters_move_as_requests_are_made() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 30).await;
    let s = app.start_session(&prompt, "m").await;
    let before = app.metrics().await;
    assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
    assert_eq!(app.post_event(&s, "like", 1.0, json!({})).await.0, 201);
    assert_eq!(app.post_event(&s, "like", 1.0, json!({})).await.0, 409);
    let mut viewer = Viewer::join(&app, authorize(&s, 10, 1.0, 1.0, false), 0.0).await;
    let after = app.metrics().await;
    let delta = |k: &str| metric(&after, k) - metric(&before, k);
    assert_eq!(delta(r#"chorus_events_accepted_total{evtype="join"}"#), 1.0);
    assert_eq!(delta(r#"chorus_events_accepted_total{evtype="like"}"#), 1.0);
    assert_eq!(
        delta(r#"chorus_events_rejected_total{type="session_has_same_event_at_same_time"}"#),
        1.0
    );
    assert_eq!(metric(&after, "chorus_open_streams"), 1.0);
    assert!(metric(&after, "chorus_commit_duration_seconds_count{engine=") >= 0.0);
    assert!(
        after.contains("chorus_commit_duration_seconds_bucket"),
        "commit latency histogram missing"
    );
    assert!(after.contains(r#"route="/api/1/interactive_prompts/events/like",status="201""#));
    let _ = viewer.collect(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn readyz_fails_while_the_database_is_unreachable() {
    let database = fresh_postgres_database().await;
    let app = spawn_on(&database, &[], None);
    let (status, body) = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(status, 200, "{body}");
    let name = database.rsplit('/').next().unwrap().to_owned();
    let (client, conn) = tokio_postgres::connect(&postgres_admin_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    let (status, body) = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    // Which dependency is down, never the driver's message.
    assert_eq!(body["database"], "unavailable", "{body}");
    assert_eq!(body["pubsub"], "ok", "{body}");
    let (status, _) = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(status, 200, "the process itself is still up");
}

/// A burst of connections at a premiere's start queues in the kernel
/// instead of being dropped (the standard library listens with a backlog
/// of 128; a dropped SYN costs the client a one-second retransmission).
#[tokio::test]
async fn the_listener_queues_a_burst_of_connections() {
    let app = spawn_app().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let ss = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2)");
    let out = String::from_utf8_lossy(&ss.stdout);
    // For a listening socket, ss shows the backlog as Send-Q.
    let backlog: u32 = out
        .split_whitespace()
        .nth(2)
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(|| panic!("ss: {out:?}"));
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(backlog, somaxconn.min(4096), "{out}");
}

/// Under sustained writes the SQLite WAL is restarted once it passes the
/// configured length (a passive checkpoint alone never catches up with a
/// writer that keeps committing, and the file would grow for as long as
/// the writes last). Each restart bumps the checkpoint sequence number in
/// the WAL header.
#[tokio::test]
async fn the_sqlite_wal_is_restarted_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("chorus.db-wal");
    let database = format!("sqlite://{}", dir.path().join("chorus.db").display());
    let env = [("CHORUS_SQLITE_WAL_FRAMES", "32")];
    let app = spawn_with_env(&database, &["--session-event-rate", "0"], None, &env);
    let prompt = app.create_prompt(color_prompt(), 600).await;
    let sessions = joined_sessions(&app, &prompt, 32).await;
    let restarts = || {
        let header = std::fs::read(&wal).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    };
    let before = restarts();
    // Every session posts without pause, so the writer always has work
    // queued when a checkpoint round (every 100 ms) ends: about ten restarts
    // a second, where passive checkpoints alone make 0–2. The posters stop
    // after six restarts, or after 20 s on a machine too loaded to write.
    let until = std::time::Instant::now() + Duration::from_secs(20);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = Arc::new(app);
    let posters = sessions.into_iter().map(|s| {
        let (app, done) = (app.clone(), done.clone());
        tokio::spawn(async move {
            let mut t = 1.0;
            while std::time::Instant::now() < until && !done.load(Ordering::Relaxed) {
                let (status, body) = app.post_event(&s, "like", t, json!({})).await;
                assert_eq!(status, 201, "{body}");
                t += 0.01;
            }
        })
    });
    let posters: Vec<_> = posters.collect();
    while std::time::Instant::now() < until && restarts() - before < 6 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done.store(true, Ordering::Relaxed);
    for poster in futures::future::join_all(posters).await {
        poster.unwrap();
    }
    let during = restarts() - before;
    assert!(
        during >= 6,
        "{during} WAL restarts in 20 s of sustained writes"
    );
    let (_, stats) = app
        .timeline(&joined_sessions(&app, &prompt, 1).await[0])
        .await;
    assert!(
        stats["likes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_i64() > Some(0)),
        "{stats}"
    );
    drop(dir);
}

/// Starts `workers` joined sessions, ready to post likes.
async fn joined_sessions(app: &TestApp, prompt: &str, workers: usize) -> Vec<Session> {
    let mut sessions = Vec::new();
    for w in 0..workers {
        let s = app.start_session(prompt, &format!("w{w}")).await;
        assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
        sessions.push(s);
    }
    sessions
}

/// Posts likes on each session from its own task until the server stops
/// answering; returns the uids acknowledged with 201 and the failed tasks.
async fn load_until_gone(app: &TestApp, sessions: Vec<Session>) -> (Vec<String>, usize) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0usize));
    let url = app.base.clone();
    let tasks = sessions.into_iter().map(|s| {
        let (acked, failures, url) = (acked.clone(), failures.clone(), url.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap();
            for i in 1..100_000 {
                let body = json!({"interactive_prompt_uid": s.prompt_uid, "interactive_prompt_jwt": s.jwt,
                    "session_uid": s.session_uid, "prompt_time": i as f64 * 0.001, "data": {}});
                let sent = http.post(format!("{url}/api/1/interactive_prompts/events/like")).bearer_auth(&s.user_token).json(&body).send().await;
                match sent {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap();
                        acked.lock().unwrap().push(v["uid"].as_str().unwrap().to_owned());
                    }
                    Ok(r) => panic!("unexpected {} during load", r.status()),
                    Err(_) => {
                        *failures.lock().unwrap() += 1;
                        return;
                    }
                }
            }
        })
    });
    let tasks: Vec<_> = tasks.collect();
    for finished in futures::future::join_all(tasks).await {
        finished.expect("load task");
    }
    let acked = acked.lock().unwrap().clone();
    let failed = *failures.lock().unwrap();
    (acked, failed)
}

async fn stored_uids(app: &TestApp, s: &Session) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut body = json!({"limit": 5000});
    loop {
        let (status, page) = app.search(s, body.clone()).await;
        assert_eq!(status, 200, "{page}");
        out.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["uid"].as_str().unwrap().to_owned()),
        );
        match &page["next_page_sort"] {
            Value::Null => return out,
            next => body = json!({"limit": 5000, "sort": next}),
        }
    }
}

#[tokio::test]
async fn sigterm_drains_requests_and_closes_streams_with_1001() {
    let mut app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let prompt = app.create_prompt(press_prompt(), 600).await;
    let watcher = app.start_session(&prompt, "watcher").await;
    let mut viewer = Viewer::join(&app, authorize(&watcher, 10, 1.0, 1.0, true), 0.0).await;
    let sessions = joined_sessions(&app, &prompt, 8).await;
    let load = load_until_gone(&app, sessions);
    let stop = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        app.signal("TERM");
    };
    let ((acked, failed), ()) = tokio::join!(load, stop);
    assert!(
        !acked.is_empty() && failed == 8,
        "acked {} failed {failed}",
        acked.len()
    );
    assert_eq!(
        close_code(&mut viewer.socket, Duration::from_secs(5)).await,
        Some(1001)
    );
    assert_eq!(app.wait_exit(Duration::from_secs(15)), Some(0));

    let restarted = spawn_on(&app.database, &[], None);
    let stored = stored_uids(&restarted, &watcher).await;
    for uid in &acked {
        assert!(stored.contains(uid), "acknowledged {uid} was lost");
    }
    let (code, out) = restarted.run_command("check");
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn kill_9_under_load_loses_no_acknowledged_event() {
    for seed in [1u64, 2, 3] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut app = spawn_app_with(&["--session-event-rate", "0"]).await;
        let prompt = app.create_prompt(numeric_prompt(), 600).await;
        let probe = app.start_session(&prompt, "probe").await;
        let delay = Duration::from_millis(rng.random_range(150..900));
        let kill = async {
            tokio::time::sleep(delay).await;
            app.signal("KILL");
        };
        let sessions = joined_sessions(&app, &prompt, 8).await;
        let ((acked, _), ()) = tokio::join!(load_until_gone(&app, sessions), kill);
        app.wait_exit(Duration::from_secs(5));
        let restarted = spawn_on(&app.database, &[], None);
        let stored = stored_uids(&restarted, &probe).await;
        eprintln!(
            "seed {seed}: {} acknowledged before kill -9 after {delay:?}",
            acked.len()
        );
        let lost: Vec<_> = acked.iter().filter(|u| !stored.contains(*u)).collect();
        assert!(
            lost.is_empty(),
            "seed {seed}: {} of {} acknowledged events lost",
            lost.len(),
            acked.len()
        );
        let (code, out) = restarted.run_command("check");
        assert_eq!(code, 0, "seed {seed}: {out}");
    }
}

#[tokio::test]
async fn streams_beyond_the_limit_get_a_clear_error() {
    let app = spawn_app_with(&["--max-streams", "1"]).await;
    let prompt = app.create_prompt(press_prompt(), 60).await;
    let s = app.start_session(&prompt, "v").await;
    let _first = Viewer::join(&app, authorize(&s, 10, 1.0, 1.0, true), 0.0).await;
    // The limit counts authorized streams: the refusal follows `authorize`.
    let mut second = connect(&app).await;
    send(&mut second, authorize(&s, 10, 1.0, 1.0, true)).await;
    let packet = next_packet(&mut second).await;
    assert_eq!(packet["success"], false);
    assert_eq!(packet["data"]["type"], "too_many_streams");
    assert_eq!(packet["data"]["code"], 503);
}
