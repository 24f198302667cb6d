//! Erasing a user (docs/api.md, "Data ownership"): what is removed, the
//! refusals, the listing's totals, and the user's own posts racing the
//! erasure on two processes over PostgreSQL. The randomized comparison with
//! a brute-force model is `model::erasure`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// `DELETE /api/1/users/{sub}` (the `sub` percent-encoded) with `token`.
pub async fn erase_as(app: &TestApp, sub: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut url = reqwest::Url::parse(&app.url("/api/1/users")).unwrap();
    url.path_segments_mut().unwrap().push(sub);
    let req = app.http.delete(url);
    app.send(match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    })
    .await
}

/// `DELETE /api/1/users/{sub}` as admin.
pub async fn erase(app: &TestApp, sub: &str) -> (StatusCode, Value) {
    erase_as(app, sub, Some(ADMIN_TOKEN)).await
}

/// Every event of a prompt, read through search with `reader`'s token.
pub async fn all_events(app: &TestApp, reader: &Session) -> Vec<Value> {
    let (status, page) = app.search(reader, json!({"limit": 5000})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["next_page_sort"].is_null(), "one page holds them all");
    page["items"].as_array().unwrap().clone()
}

/// The listing's `(sessions, events)` of a prompt.
async fn totals(app: &TestApp, prompt_uid: &str) -> (i64, i64) {
    let url = app.url("/api/1/interactive_prompts?deleted=any&limit=100");
    let (status, page) = app.send(app.http.get(url).bearer_auth(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    let item = items.iter().find(|p| p["uid"] == prompt_uid).unwrap();
    (
        item["sessions"].as_i64().unwrap(),
        item["events"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn erasing_a_user_removes_their_events_sessions_and_totals_and_nothing_else() {
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let press = app.create_prompt(press_prompt(), 30).await;
    let numeric = app.create_prompt(numeric_prompt(), 30).await;
    // A `sub` that needs percent-encoding in the path.
    let sub = "auth0|a/b c?é";
    let a = app.start_session(&press, sub).await;
    let b = app.start_session(&numeric, sub).await;
    let _empty = app.start_session(&numeric, sub).await;
    let other = app.start_session(&press, "other").await;
    let posts = [
        (&a, "join", 0.0, json!({})),
        (&a, "respond_press_prompt/start", 1.0, json!({})),
        (&a, "like", 2.0, json!({})),
        (&a, "leave", 3.0, json!({})),
        (&b, "join", 0.0, json!({})),
        (&b, "respond_numeric_prompt", 1.0, json!({"rating": 3})),
        (&b, "respond_numeric_prompt", 2.0, json!({"rating": 4})),
        (&other, "join", 0.5, json!({})),
        (&other, "respond_press_prompt/start", 1.5, json!({})),
    ];
    for (s, route, t, data) in posts {
        let (status, body) = app.post_event(s, route, t, data).await;
        assert_eq!(status, StatusCode::CREATED, "{route}: {body}");
    }
    let before = app.timeline(&other).await.1;

    // The refusals change nothing.
    assert_eq!(erase_as(&app, sub, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        erase_as(&app, sub, Some("wrong")).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = erase(&app, "nobody").await;
    assert_eq!(
        (status, &body["type"]),
        (StatusCode::NOT_FOUND, &json!("user_not_found"))
    );
    assert_eq!(all_events(&app, &a).await.len(), 6);

    let (status, body) = erase(&app, sub).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"sub": sub, "sessions": 3, "events": 7}));
    let (status, body) = erase(&app, sub).await;
    assert_eq!(
        (status, &body["type"]),
        (StatusCode::NOT_FOUND, &json!("user_not_found"))
    );

    // Only the other user's events are left, and the figures are theirs.
    let left = all_events(&app, &a).await;
    assert!(left.iter().all(|e| e["user_sub"] == "other"), "{left:?}");
    assert_eq!(left.len(), 2);
    assert!(all_events(&app, &b).await.is_empty());
    let (_, stats) = app.stats(&other, 14).await;
    assert_eq!(
        (stats["users"].clone(), stats["press_active"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        (stats["press"].clone(), stats["likes"].clone()),
        (json!(1), json!(0))
    );
    let (_, stats) = app.stats(&b, 14).await;
    assert_eq!(stats["numeric_active"]["4"], 0, "{stats}");
    assert_ne!(app.timeline(&other).await.1, before);
    assert_eq!(totals(&app, &press).await, (1, 2));
    assert_eq!(totals(&app, &numeric).await, (0, 0));

    // Their old sessions are gone; the same `sub` starts over as a new user.
    let (status, body) = app.post_event(&a, "like", 4.0, json!({})).await;
    assert_eq!(
        (status, &body["type"]),
        (StatusCode::CONFLICT, &json!("session_not_found"))
    );
    let again = app.start_session(&press, sub).await;
    let (status, body) = app.post_event(&again, "join", 0.0, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(totals(&app, &press).await, (2, 3));
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

/// One of the victim's sessions posting events in turn through `apps`
/// until it is refused (or `max` are accepted): `(accepted, refusals)`.
async fn post_until_refused(
    apps: [&TestApp; 2],
    s: Session,
    style: usize,
    accepted: Arc<AtomicUsize>,
    max: usize,
) -> (usize, Vec<(u16, Value)>) {
    let (mut ok, mut refused) = (0, Vec::new());
    for k in 0..max {
        let t = k as f64 * 0.25;
        let (route, data) = match (k, style) {
            (0, _) => ("join", json!({})),
            (_, _) if k % 3 == 1 => ("like", json!({})),
            (_, 0) => ("respond_numeric_prompt", json!({"rating": 1 + k % 10})),
            (_, 1) if k % 3 == 2 => ("respond_press_prompt/start", json!({})),
            (_, 1) => ("respond_press_prompt/end", json!({})),
            (_, _) => ("respond_color_prompt", json!({"index": k % 2})),
        };
        let (status, body) = apps[k % 2].post_event(&s, route, t, data).await;
        if status == StatusCode::CREATED {
            ok += 1;
            accepted.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        refused.push((status.as_u16(), body["type"].clone()));
        // Once refused, it stays refused.
        if refused.len() == 3 {
            break;
        }
    }
    (ok, refused)
}

#[tokio::test]
async fn a_user_posting_on_two_processes_while_erased_ends_with_nothing_stored() {
    let database = fresh_postgres_database().await;
    let flags = ["--redis", &redis_url(), "--session-event-rate", "0"];
    let (a, b) = (
        spawn_on(&database, &flags, None),
        spawn_on(&database, &flags, None),
    );
    let styles = [numeric_prompt(), press_prompt(), color_prompt()];
    let mut prompts = Vec::new();
    for style in &styles {
        prompts.push(a.create_prompt(style.clone(), 600).await);
    }
    let (mut victim, mut others) = (Vec::new(), Vec::new());
    for (i, prompt) in prompts.iter().enumerate() {
        for n in 0..4 {
            let app = if n % 2 == 0 { &a } else { &b };
            victim.push((i, app.start_session(prompt, "victim").await));
            others.push((i, app.start_session(prompt, &format!("other-{n}")).await));
        }
    }
    let accepted = Arc::new(AtomicUsize::new(0));
    let others_accepted = Arc::new(AtomicUsize::new(0));
    let victim_posts = victim
        .iter()
        .map(|(style, s)| post_until_refused([&a, &b], s.clone(), *style, accepted.clone(), 2000));
    let other_posts = others.iter().map(|(style, s)| {
        post_until_refused([&b, &a], s.clone(), *style, others_accepted.clone(), 60)
    });
    let erasure = async {
        while accepted.load(Ordering::SeqCst) < 60 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        erase(&b, "victim").await
    };
    let (victim_results, other_results, (status, erased)) =
        tokio::join!(join_all(victim_posts), join_all(other_posts), erasure);
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["sessions"], 12, "{erased}");

    // Each of the victim's posts landed before the erasure (and was erased
    // with it) or was refused because its session was gone.
    let acknowledged: usize = victim_results.iter().map(|(ok, _)| ok).sum();
    assert_eq!(
        erased["events"], acknowledged,
        "every 201 was erased, none came after"
    );
    for (_, refused) in &victim_results {
        assert!(
            !refused.is_empty(),
            "a session kept accepting after the erasure"
        );
        for r in refused {
            assert_eq!(r, &(409, json!("session_not_found")));
        }
    }
    // The others were not disturbed.
    for (ok, refused) in &other_results {
        assert_eq!((*ok, refused.len()), (60, 0), "{refused:?}");
    }
    for (_, reader) in &others {
        let events = all_events(&a, reader).await;
        assert!(events.iter().all(|e| e["user_sub"] != "victim"));
    }
    let stored: usize = join_all(others.iter().step_by(4).map(|(_, r)| all_events(&b, r)))
        .await
        .iter()
        .map(Vec::len)
        .sum();
    assert_eq!(stored, others_accepted.load(Ordering::SeqCst));
    let (code, out) = a.run_command("check");
    assert_eq!(code, 0, "{out}");
}

/// Posts `n` events on a fresh session of `prompt` for `sub` (a numeric
/// prompt: a join, then answers and likes at rising times), counting each
/// accepted one in `accepted`.
async fn fill_session(
    app: &TestApp,
    prompt: &str,
    sub: &str,
    n: usize,
    accepted: &AtomicUsize,
) -> usize {
    let s = app.start_session(prompt, sub).await;
    let mut ok = 0;
    for k in 0..n {
        let (route, data) = match k {
            0 => ("join", json!({})),
            _ if k % 2 == 1 => ("respond_numeric_prompt", json!({"rating": 1 + k % 10})),
            _ => ("like", json!({})),
        };
        let (status, _) = app.post_event(&s, route, k as f64 * 0.5, data).await;
        ok += usize::from(status == StatusCode::CREATED);
        accepted.fetch_add(usize::from(status == StatusCode::CREATED), Ordering::SeqCst);
    }
    ok
}

/// BENCHMARKS.md, "Erasing a user": a user with 10,000 events across 100
/// prompts erased while 16 other users keep posting. Not a pass/fail test:
/// `cargo test --test it erasure_benchmark -- --ignored --nocapture`
/// (on either engine, `CHORUS_TEST_ENGINE`; a release server with
/// `CHORUS_TEST_SERVER_BIN=target/release/chorus`).
#[tokio::test]
#[ignore]
async fn erasure_benchmark() {
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let mut prompts = Vec::new();
    for _ in 0..100 {
        prompts.push(app.create_prompt(numeric_prompt(), 600).await);
    }
    for round in 0..2 {
        let victim = format!("victim-{round}");
        let counted = AtomicUsize::new(0);
        let (app, victim, counted) = (&app, &victim, &counted);
        let fills = prompts.chunks(10).map(|chunk| async move {
            let mut n = 0;
            for p in chunk {
                n += fill_session(app, p, victim, 100, counted).await;
            }
            n
        });
        let filled: usize = join_all(fills).await.into_iter().sum();
        assert_eq!(filled, 10_000);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let posted = Arc::new(AtomicUsize::new(0));
        let others = (0..16).map(|i| {
            let (stop, posted, prompt) = (stop.clone(), posted.clone(), prompts[i * 6].clone());
            async move {
                // Other users' sessions of 200 events each, until stopped.
                while !stop.load(Ordering::SeqCst) {
                    let sub = format!("other-{round}-{i}");
                    fill_session(app, &prompt, &sub, 200, &posted).await;
                }
            }
        });
        let timed = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let base = posted.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = posted.load(Ordering::SeqCst);
            let baseline = before - base;
            let started = std::time::Instant::now();
            let (status, body) = erase(app, victim).await;
            let took = started.elapsed();
            let during = posted.load(Ordering::SeqCst) - before;
            tokio::time::sleep(Duration::from_secs(1)).await;
            stop.store(true, Ordering::SeqCst);
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["events"], 10_000);
            (took, during, baseline)
        };
        let (_, (took, during, baseline)) = tokio::join!(join_all(others), timed);
        eprintln!(
            "{:?}: erased 10,000 events of 100 sessions in {took:?}; others' events accepted \
             meanwhile: {during} ({:.0}/s; {baseline}/s in the second before)",
            engine(),
            during as f64 / took.as_secs_f64()
        );
    }
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}
