//! Several server processes sharing PostgreSQL and Redis (always run
//! against the real PostgreSQL and Redis, whatever the suite's engine).

use std::collections::HashSet;
use std::time::Duration;

use futures::future::join_all;
use serde_json::json;

use crate::stream_support::*;
use crate::support::*;

/// Two servers on one fresh PostgreSQL database, both publishing to Redis.
async fn two_processes() -> (TestApp, TestApp) {
    two_processes_on(&redis_url()).await
}

/// Two servers on one fresh PostgreSQL database, both publishing to the
/// Redis at `redis`.
async fn two_processes_on(redis: &str) -> (TestApp, TestApp) {
    let database = fresh_postgres_database().await;
    let flags = ["--redis", redis, "--session-event-rate", "0"];
    let a = spawn_on(&database, &flags, None);
    let b = spawn_on(&database, &flags, None);
    (a, b)
}

#[tokio::test]
async fn an_event_accepted_by_one_process_reaches_a_viewer_of_the_other() {
    let (a, b) = two_processes().await;
    let prompt = a.create_prompt(color_prompt(), 30).await;
    let viewer_session = b.start_session(&prompt, "viewer").await;
    let mut viewer = Viewer::join(&b, authorize(&viewer_session, 50, 2.0, 2.0, false), 0.0).await;
    // Two more viewers on the same process share its one Redis subscription.
    let _more = [
        Viewer::join(&b, authorize(&viewer_session, 50, 2.0, 2.0, false), 0.0).await,
        Viewer::join(&b, authorize(&viewer_session, 50, 2.0, 2.0, false), 0.0).await,
    ];
    let channel = format!("ps:interactive_prompts:{prompt}:events");
    let numsub = redis_cli(&["pubsub", "numsub", &channel]);
    let lines: Vec<String> = String::from_utf8_lossy(&numsub.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        lines,
        [channel.clone(), "1".to_owned()],
        "one subscription per process with viewers"
    );
    let participant = a.start_session(&prompt, "participant").await;
    let (status, join) = a.post_event(&participant, "join", 0.1, json!({})).await;
    assert_eq!(status, 201, "{join}");
    let (status, answer) = a
        .post_event(
            &participant,
            "respond_color_prompt",
            0.4,
            json!({"index": 1}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let (got, _) = viewer.collect(Duration::from_millis(1500)).await;
    let uids: Vec<_> = got.iter().map(|r| r.event["uid"].clone()).collect();
    assert!(
        uids.contains(&join["uid"]) && uids.contains(&answer["uid"]),
        "{uids:?}"
    );
}

#[tokio::test]
async fn conflicting_joins_spread_over_two_processes_admit_exactly_one() {
    let (a, b) = two_processes().await;
    let prompt = a.create_prompt(numeric_prompt(), 30).await;
    let s = a.start_session(&prompt, "racer").await;
    let attempts = (0..50).map(|i| {
        let (app, s) = (if i % 2 == 0 { &a } else { &b }, s.clone());
        async move { app.post_event(&s, "join", 1.0, json!({})).await }
    });
    let results = join_all(attempts).await;
    let accepted = results.iter().filter(|(st, _)| *st == 201).count();
    let refused = results
        .iter()
        .filter(|(st, b)| *st == 409 && b["type"] == "session_already_started")
        .count();
    assert_eq!((accepted, refused), (1, 49), "{results:?}");
}

#[tokio::test]
async fn parallel_sessions_over_two_processes_lose_nothing() {
    let (a, b) = two_processes().await;
    let prompt = a.create_prompt(word_prompt(), 20).await;
    let sessions = join_all((0..20).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        let prompt = prompt.clone();
        async move { (i, app.start_session(&prompt, &format!("p{i}")).await) }
    }))
    .await;
    let runs = sessions.into_iter().map(|(i, s)| {
        let (a, b) = (&a, &b);
        async move {
            let mut uids = Vec::new();
            for j in 0..8 {
                // Alternate processes event by event.
                let app = if (i + j) % 2 == 0 { a } else { b };
                let (route, data) = match j {
                    0 => ("join", json!({})),
                    7 => ("leave", json!({})),
                    j if j % 2 == 0 => ("like", json!({})),
                    j => ("respond_word_prompt", json!({"index": (i + j) % 4})),
                };
                let (status, body) = app.post_event(&s, route, j as f64 * 2.0, data).await;
                assert_eq!(status, 201, "{route}: {body}");
                uids.push(body["uid"].as_str().unwrap().to_owned());
            }
            uids
        }
    });
    let accepted: HashSet<String> = join_all(runs).await.into_iter().flatten().collect();
    assert_eq!(accepted.len(), 160);
    let probe = a.start_session(&prompt, "probe").await;
    let (_, page) = a.search(&probe, json!({"limit": 5000})).await;
    let stored: HashSet<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, accepted);
    let (_, last) = b.stats(&probe, 30).await;
    assert_eq!(last["users"], 0);
    assert_eq!(
        last["word_active"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .sum::<i64>(),
        20
    );
    let (code, out) = a.run_command("check");
    assert_eq!(code, 0, "{out}");
}

fn redis_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379"])
        .args(args)
        .output()
        .expect("redis-cli")
}

/// A like whose transaction PostgreSQL picks as a deadlock victim is run
/// again and answered 201, not 500: another transaction holds the prompt's
/// aggregate rows and then asks for the like's session row.
#[tokio::test]
async fn a_write_picked_as_deadlock_victim_is_retried() {
    let database = fresh_postgres_database().await;
    let app = spawn_on(&database, &["--session-event-rate", "0"], None);
    let prompt = app.create_prompt(color_prompt(), 30).await;
    let s = app.start_session(&prompt, "victim").await;
    assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
    // A first like creates the aggregate rows the second one will update.
    assert_eq!(app.post_event(&s, "like", 1.0, json!({})).await.0, 201);

    let (mut blocker, conn) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    // The blocker waits long before checking for deadlocks, so the server's
    // transaction (1 s, PostgreSQL's default) is the one aborted.
    blocker
        .batch_execute("SET deadlock_timeout = '20s'")
        .await
        .unwrap();
    let tx = blocker.transaction().await.unwrap();
    let locked = tx
        .execute(
            "SELECT 1 FROM interactive_prompt_event_fenwick_trees f JOIN interactive_prompts p
         ON p.id = f.interactive_prompt_id WHERE p.uid = $1 FOR UPDATE OF f",
            &[&prompt],
        )
        .await
        .unwrap();

    let like = {
        let (app_base, s) = (app.base.clone(), s.clone());
        tokio::spawn(async move {
            let body = json!({"interactive_prompt_uid": s.prompt_uid, "interactive_prompt_jwt": s.jwt,
                "session_uid": s.session_uid, "prompt_time": 1.25, "data": {}});
            let r = reqwest::Client::new()
                .post(format!("{app_base}/api/1/interactive_prompts/events/like"))
                .bearer_auth(&s.user_token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        })
    };
    // Once the like waits for the aggregate rows (holding its session row)…
    let mut waiting = false;
    for _ in 0..200 {
        tx.execute("SELECT pg_stat_clear_snapshot()", &[])
            .await
            .unwrap();
        let row = tx
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            waiting = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if !waiting {
        panic!(
            "the like never waited for the aggregate rows ({locked} locked): {:?}",
            like.await
        );
    }
    // …the blocker asks for that session row: a deadlock.
    tx.execute(
        "SELECT 1 FROM interactive_prompt_sessions WHERE uid = $1 FOR UPDATE",
        &[&s.session_uid],
    )
    .await
    .expect("the server's transaction is the deadlock victim");
    tx.rollback().await.unwrap();

    let (status, body) = like.await.unwrap();
    assert_eq!(status, 201, "{body}");
    let metrics = app.metrics().await;
    let retries = r#"chorus_transaction_retries_total{operation="append_event"}"#;
    assert_eq!(metric(&metrics, retries), 1.0, "{metrics}");
    let (_, stats) = app.stats(&s, 1).await;
    assert_eq!(stats["likes"], 2, "{stats}");
}

/// Live delivery resumes once Redis is back (on a Redis of the test's
/// own: the shared one is never stopped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_resumes_after_redis_restarts_mid_stream() {
    let mut redis = crate::private_redis::PrivateRedis::start();
    let (a, b) = two_processes_on(&redis.url()).await;
    let prompt = a.create_prompt(press_prompt(), 60).await;
    let viewer_session = b.start_session(&prompt, "viewer").await;
    let mut viewer = Viewer::join(&b, authorize(&viewer_session, 50, 3.0, 3.0, false), 0.0).await;
    let p = a.start_session(&prompt, "presser").await;
    let (_, first) = a.post_event(&p, "join", 0.1, json!({})).await;
    let (got, _) = viewer.collect(Duration::from_millis(800)).await;
    assert!(got.iter().any(|r| r.event["uid"] == first["uid"]));

    redis.kill();
    // Events are still accepted while Redis is away, and /readyz says so.
    let (status, during) = a
        .post_event(&p, "like", viewer.prompt_time(), json!({}))
        .await;
    assert_eq!(status, 201, "{during}");
    let mut down = false;
    for _ in 0..30 {
        let (ready, _) = a.send(a.http.get(a.url("/readyz"))).await;
        if ready == 503 {
            down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(down, "/readyz did not report the outage");
    redis.restart();

    // Within the backoff, both processes reconnect and live delivery resumes.
    let mut resumed = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (status, after) = a
            .post_event(&p, "like", viewer.prompt_time(), json!({}))
            .await;
        assert_eq!(status, 201, "{after}");
        let (got, _) = viewer.collect(Duration::from_millis(400)).await;
        if got.iter().any(|r| r.event["uid"] == after["uid"]) {
            resumed = true;
            break;
        }
    }
    assert!(
        resumed,
        "live delivery did not resume after Redis restarted"
    );
    let (ready, _) = b.send(b.http.get(b.url("/readyz"))).await;
    assert_eq!(ready, 200);
}
