//! Live delivery across a Redis outage (docs/scaling.md, "Recovery from
//! storage"): two processes over PostgreSQL, each with viewers, share a
//! Redis of the test's own that is killed and restarted, or a proxy in
//! front of it that silently stops forwarding. Every viewer must still
//! receive every event, once, and no request fails.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::private_redis::{PrivateRedis, Proxy};
use crate::stream_support::*;
use crate::support::*;

/// Seconds viewers listen in all.
const LISTEN: Duration = Duration::from_secs(14);

/// A premiere on two processes: two viewers on each, four posters, two
/// on each, posting a like each every 100 ms at the premiere's time.
struct Premiere {
    apps: [Arc<TestApp>; 2],
    prompt: String,
    viewers: Vec<tokio::task::JoinHandle<Vec<Received>>>,
    posting: tokio::task::JoinHandle<Vec<(u16, String)>>,
    stop: Arc<AtomicBool>,
    /// Events accepted outside the posting task.
    extra: Vec<String>,
}

impl Premiere {
    async fn start(redis_url: &str) -> Premiere {
        let database = fresh_postgres_database().await;
        let flags = ["--redis", redis_url, "--session-event-rate", "0"];
        let apps = [
            Arc::new(spawn_on(&database, &flags, None)),
            Arc::new(spawn_on(&database, &flags, None)),
        ];
        let prompt = apps[0].create_prompt(press_prompt(), 120).await;
        let mut viewers = Vec::new();
        for i in 0..4 {
            let app = &apps[i % 2];
            let s = app.start_session(&prompt, &format!("viewer{i}")).await;
            // Lookback and lookahead of 10 s: every event is near-live.
            let mut viewer = Viewer::join(app, authorize(&s, 1000, 10.0, 10.0, false), 0.0).await;
            viewers.push(tokio::spawn(async move { viewer.collect(LISTEN).await.0 }));
        }
        let mut posters = Vec::new();
        for i in 0..4 {
            posters.push(
                apps[i % 2]
                    .start_session(&prompt, &format!("poster{i}"))
                    .await,
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let posting = tokio::spawn(post(apps.clone(), posters, stop.clone()));
        Premiere {
            apps,
            prompt,
            viewers,
            posting,
            stop,
            extra: Vec::new(),
        }
    }

    /// Stops posting, waits for the viewers, and checks that each received
    /// every stored event exactly once and that every request succeeded.
    async fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let posted = self.posting.await.unwrap();
        let failed: Vec<_> = posted.iter().filter(|(status, _)| *status != 201).collect();
        assert!(failed.is_empty(), "requests failed: {failed:?}");
        let stored = stored_uids(&self.apps[0].database, &self.prompt).await;
        assert_eq!(
            stored.len(),
            posted.len() + self.extra.len(),
            "every accepted event is stored"
        );
        for (i, viewer) in self.viewers.into_iter().enumerate() {
            let received = viewer.await.unwrap();
            let mut times: HashMap<String, usize> = HashMap::new();
            for r in &received {
                *times
                    .entry(r.event["uid"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
            let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
            assert!(
                twice.is_empty(),
                "viewer {i} received events twice: {twice:?}"
            );
            let got: HashSet<String> = times.into_keys().collect();
            let missing: Vec<_> = stored.difference(&got).collect();
            assert!(
                missing.is_empty(),
                "viewer {i} (process {}) missed {} of {} events: {missing:?}",
                i % 2,
                missing.len(),
                stored.len()
            );
        }
    }
}

/// Posts a join, then a like every 100 ms per poster, alternating
/// processes, until `stop`; returns each response's status and body.
async fn post(
    apps: [Arc<TestApp>; 2],
    posters: Vec<Session>,
    stop: Arc<AtomicBool>,
) -> Vec<(u16, String)> {
    let started = Instant::now();
    let mut out = Vec::new();
    for (i, s) in posters.iter().enumerate() {
        let (status, body) = apps[i % 2].post_event(s, "join", 0.5, json!({})).await;
        out.push((status.as_u16(), body.to_string()));
    }
    let mut round = 0;
    while !stop.load(Ordering::SeqCst) {
        for (i, s) in posters.iter().enumerate() {
            let app = &apps[(i + round) % 2];
            let t = 0.5 + started.elapsed().as_secs_f64();
            let (status, body) = app.post_event(s, "like", t, json!({})).await;
            out.push((status.as_u16(), body.to_string()));
        }
        round += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    out
}

/// The uids of a prompt's events, read from the database itself.
async fn stored_uids(database: &str, prompt: &str) -> HashSet<String> {
    let (client, conn) = tokio_postgres::connect(database, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT e.uid FROM interactive_prompt_events e
             JOIN interactive_prompt_sessions s ON s.id = e.interactive_prompt_session_id
             JOIN interactive_prompts p ON p.id = s.interactive_prompt_id WHERE p.uid = $1",
            &[&prompt],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

async fn readyz(app: &TestApp) -> u16 {
    app.send(app.http.get(app.url("/readyz"))).await.0.as_u16()
}

/// Waits until `/readyz` answers `status` (up to 5 s).
async fn wait_ready(app: &TestApp, status: u16) {
    for _ in 0..50 {
        if readyz(app).await == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never answered {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_premiere_loses_no_event_for_any_viewer() {
    let mut redis = PrivateRedis::start();
    let premiere = Premiere::start(&redis.url()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.kill();
    // Events are still accepted while Redis is away, and /readyz says so.
    for app in &premiere.apps {
        wait_ready(app, 503).await;
    }
    // A process outside the cluster (another pub/sub) accepts events
    // during the gap: they are never published to our Redis, so only the
    // recovery from storage can bring them to the viewers.
    let mut premiere = premiere;
    let lone = spawn_on(
        &premiere.apps[0].database,
        &["--session-event-rate", "0"],
        None,
    );
    let s = lone.start_session(&premiere.prompt, "lone").await;
    let started = Instant::now();
    for i in 0..6 {
        let route = if i == 0 { "join" } else { "like" };
        let (status, body) = lone
            .post_event(&s, route, 1.0 + i as f64 * 0.25, json!({}))
            .await;
        assert_eq!(status, 201, "{body}");
        premiere
            .extra
            .push(body["uid"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_millis(1500).saturating_sub(started.elapsed())).await;
    redis.restart();
    for app in &premiere.apps {
        wait_ready(app, 200).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let apps = premiere.apps.clone();
    premiere.finish().await;
    for app in &apps {
        let metrics = app.metrics().await;
        assert!(
            metric(&metrics, "chorus_pubsub_gaps_total") >= 1.0,
            "{metrics}"
        );
        assert!(
            metric(&metrics, "chorus_pubsub_recovered_events_total") > 0.0,
            "{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_redis_connection_is_detected_and_recovered() {
    let redis = PrivateRedis::start();
    let proxy = Proxy::start(redis.port).await;
    let premiere = Premiere::start(&proxy.url()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Every connection so far goes silent, open on both ends: only a
    // health check can tell. New connections get through.
    let before = proxy.connections();
    proxy.stall();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(proxy.connections() > before, "nobody reconnected");
    let apps = premiere.apps.clone();
    premiere.finish().await;
    for app in &apps {
        let metrics = app.metrics().await;
        assert!(
            metric(&metrics, "chorus_pubsub_gaps_total") >= 1.0,
            "{metrics}"
        );
        assert_eq!(readyz(app).await, 200);
    }
}
