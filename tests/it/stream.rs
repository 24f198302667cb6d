//! The live stream: handshake, near-live delivery, replay, pacing, closing.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::stream_support::*;
use crate::support::*;

fn prompt_token(uid: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"sub": uid, "iss": "chorus", "aud": "chorus-interactive-prompt", "iat": now, "exp": now + 600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(PROMPT_SECRET.as_bytes()),
    )
    .unwrap()
}

async fn handshake_error(app: &TestApp, first: Value) -> Value {
    let mut socket = connect(app).await;
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            first.to_string().into(),
        ))
        .await
        .unwrap();
    let packet = next_packet(&mut socket).await;
    assert_eq!(packet["success"], false, "{packet}");
    assert_eq!(packet["type"], "error");
    assert!(
        close_code(&mut socket, Duration::from_secs(5))
            .await
            .is_some()
    );
    packet["data"].clone()
}

use futures::SinkExt;

#[tokio::test]
async fn handshake_errors_say_what_went_wrong_and_close() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(press_prompt(), 5).await;
    let s = app.start_session(&prompt, "v").await;

    let bad_json = handshake_error(&app, json!("not a packet")).await;
    assert_eq!(
        (bad_json["code"].as_u64(), bad_json["type"].as_str()),
        (Some(422), Some("unprocessable_entity"))
    );
    let mut bad = authorize(&s, 0, 1.0, 1.0, true);
    assert_eq!(handshake_error(&app, bad.clone()).await["code"], 422);
    bad["data"]["bandwidth"] = json!(10);
    bad["data"]["lookahead"] = json!(11);
    assert_eq!(handshake_error(&app, bad).await["code"], 422);

    let mut forged = authorize(&s, 10, 1.0, 1.0, true);
    forged["data"]["jwt"] = json!("garbage");
    let e = handshake_error(&app, forged).await;
    assert_eq!(
        (e["code"].as_u64(), e["type"].as_str()),
        (Some(403), Some("forbidden"))
    );
    let other = app.create_prompt(press_prompt(), 5).await;
    let mut mismatched = authorize(&s, 10, 1.0, 1.0, true);
    mismatched["data"]["interactive_prompt_uid"] = json!(other);
    assert_eq!(handshake_error(&app, mismatched).await["code"], 403);

    let mut unknown = authorize(&s, 10, 1.0, 1.0, true);
    unknown["data"]["interactive_prompt_uid"] = json!("ip_unknown");
    unknown["data"]["jwt"] = json!(prompt_token("ip_unknown"));
    let e = handshake_error(&app, unknown).await;
    assert_eq!(
        (e["code"].as_u64(), e["type"].as_str()),
        (Some(404), Some("not_found"))
    );
    let (status, _) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/1/interactive_prompts/{prompt}")))
                .bearer_auth(ADMIN_TOKEN),
        )
        .await;
    assert!(status.is_success());
    assert_eq!(
        handshake_error(&app, authorize(&s, 10, 1.0, 1.0, true)).await["code"],
        404
    );
}

#[tokio::test]
async fn a_silent_client_is_closed_after_five_seconds() {
    let app = spawn_app().await;
    let mut socket = connect(&app).await;
    let started = std::time::Instant::now();
    assert!(
        close_code(&mut socket, Duration::from_secs(8))
            .await
            .is_some()
    );
    assert!(started.elapsed() >= Duration::from_secs(4));
}

#[tokio::test]
async fn a_full_session_gets_latency_packets_and_closes_after_the_prompt() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 1).await;
    let s = app.start_session(&prompt, "v").await;
    // Start at the latest time a client may report, duration 1 + lookback
    // 0: the stream closes at p > 1 + 10 s of grace.
    let mut viewer = Viewer::join(&app, authorize(&s, 10, 0.0, 1.0, true), 1.0).await;
    let packet = next_packet(&mut viewer.socket).await;
    assert_eq!(packet["type"], "latency_detection", "{packet}");
    let expected = packet["data"]["expected_receive_prompt_time"]
        .as_f64()
        .unwrap();
    assert!((expected - viewer.prompt_time()).abs() < 0.5, "{expected}");
    let (_, code) = viewer.collect(Duration::from_secs(14)).await;
    assert_eq!(code, Some(1000));
    assert!(viewer.prompt_time() >= 11.0);
}

#[tokio::test]
async fn a_packet_after_the_handshake_closes_the_stream() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let s = app.start_session(&prompt, "v").await;
    let mut viewer = Viewer::join(&app, authorize(&s, 10, 1.0, 1.0, true), 0.0).await;
    send(
        &mut viewer.socket,
        json!({"type": "sync_response", "data": {}}),
    )
    .await;
    assert!(
        close_code(&mut viewer.socket, Duration::from_secs(3))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn viewers_in_a_premiere_see_each_others_events_near_live() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(word_prompt(), 30).await;
    let alice = app.start_session(&prompt, "alice").await;
    let bob = app.start_session(&prompt, "bob").await;
    let mut va = Viewer::join(&app, authorize(&alice, 100, 1.0, 1.0, false), 0.0).await;
    let mut vb = Viewer::join(&app, authorize(&bob, 100, 1.0, 1.0, false), 0.0).await;
    let participant = app.start_session(&prompt, "carol").await;
    let mut posted = Vec::new();
    for (route, t, data) in [
        ("join", 0.2, json!({})),
        ("respond_word_prompt", 0.5, json!({"index": 2})),
        ("like", 0.8, json!({})),
    ] {
        let (status, body) = app.post_event(&participant, route, t, data).await;
        assert_eq!(status, 201, "{body}");
        posted.push(body["uid"].as_str().unwrap().to_owned());
    }
    let (status, a_join) = app.post_event(&alice, "join", 1.0, json!({})).await;
    assert_eq!(status, 201);
    for v in [&mut va, &mut vb] {
        let (got, _) = v.collect(Duration::from_millis(1200)).await;
        let uids: Vec<&str> = got
            .iter()
            .map(|r| r.event["uid"].as_str().unwrap())
            .collect();
        for uid in posted
            .iter()
            .chain([&a_join["uid"].as_str().unwrap().to_owned()])
        {
            assert!(uids.contains(&uid.as_str()), "{uid} missing from {uids:?}");
        }
        let word = got
            .iter()
            .find(|r| r.event["evtype"] == "word_prompt_response")
            .unwrap();
        assert_eq!(word.event["prompt_time"], 0.5);
        assert_eq!(word.event["data"], json!({"index": 2}));
        assert_eq!(word.event["user_sub"], "carol");
        assert!(
            word.event.get("created_at").is_none()
                && word.event.get("interactive_prompt_uid").is_none()
        );
    }
}

/// Where replay viewers start: half a second before the prompt, like a
/// client still buffering, so that the history's first events are due ahead
/// of its clock (replay never sends an event much after its prompt time).
const BUFFERING: f64 = -0.5;

/// Posts `sessions` sessions of `per_session` events spread over `[0, duration)`.
async fn fill_history(
    app: &TestApp,
    prompt: &str,
    sessions: usize,
    per_session: usize,
    duration: f64,
) -> Vec<String> {
    let mut all = Vec::new();
    let jobs = (0..sessions).map(|i| async move {
        let s = app.start_session(prompt, &format!("h{i}")).await;
        let mut uids = Vec::new();
        for j in 0..per_session {
            let t = duration * (j as f64 + (i as f64 / sessions as f64)) / per_session as f64;
            let route = if j == 0 { "join" } else { "like" };
            let (status, body) = app.post_event(&s, route, t, json!({})).await;
            assert_eq!(status, 201, "{body}");
            uids.push(body["uid"].as_str().unwrap().to_owned());
        }
        uids
    });
    let mut results = futures::stream::iter(jobs).buffer_unordered(8);
    while let Some(uids) = results.next().await {
        all.extend(uids);
    }
    all
}

#[tokio::test]
async fn replay_delivers_the_whole_history_when_it_fits_the_bandwidth() {
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let prompt = app.create_prompt(press_prompt(), 3).await;
    let history = fill_history(&app, &prompt, 10, 6, 3.0).await;
    let s = app.start_session(&prompt, "viewer").await;
    let mut viewer = Viewer::join(&app, authorize(&s, 100, 0.5, 1.0, true), BUFFERING).await;
    let (got, _) = viewer.collect(Duration::from_millis(4500)).await;
    let uids: Vec<&str> = got
        .iter()
        .map(|r| r.event["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uids.iter().collect::<HashSet<_>>().len(),
        uids.len(),
        "an event was delivered twice"
    );
    let expected: HashSet<&str> = history.iter().map(String::as_str).collect();
    assert_eq!(uids.iter().copied().collect::<HashSet<_>>(), expected);
    for r in &got {
        let t = r.event["prompt_time"].as_f64().unwrap();
        assert!(
            t - r.at <= 1.0 + 0.15,
            "event at {t} arrived at {} — more than lookahead early",
            r.at
        );
    }
    let times: Vec<f64> = got
        .iter()
        .map(|r| r.event["prompt_time"].as_f64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "replay not in prompt-time order"
    );
}

#[tokio::test]
async fn replay_is_thinned_to_the_bandwidth_second_by_second() {
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let prompt = app.create_prompt(press_prompt(), 4).await;
    // 1,600 events: 400 per second of prompt time.
    let history = fill_history(&app, &prompt, 80, 20, 4.0).await;
    assert_eq!(history.len(), 1600);
    let s = app.start_session(&prompt, "viewer").await;
    let bandwidth = 50u32;
    let mut viewer = Viewer::join(&app, authorize(&s, bandwidth, 0.5, 1.0, true), BUFFERING).await;
    let (got, _) = viewer.collect(Duration::from_millis(5000)).await;
    let uids: HashSet<&str> = got
        .iter()
        .map(|r| r.event["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids.len(), got.len(), "an event was delivered twice");
    let mut per_second = [0usize; 4];
    for r in &got {
        let t = r.event["prompt_time"].as_f64().unwrap();
        per_second[t.floor() as usize] += 1;
        assert!(t - r.at <= 1.15, "too early: {t} at {}", r.at);
    }
    for (k, n) in per_second.iter().enumerate() {
        assert!(
            (25..=80).contains(n),
            "second {k}: {n} events for bandwidth {bandwidth}"
        );
    }
    // Never more than the bandwidth over the connection plus a one-second burst.
    assert!(got.len() as f64 <= bandwidth as f64 * 5.0 + bandwidth as f64);
}

#[tokio::test]
async fn live_and_replayed_events_merge_without_duplicates() {
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let prompt = app.create_prompt(press_prompt(), 4).await;
    let history = fill_history(&app, &prompt, 5, 4, 4.0).await;
    let s = app.start_session(&prompt, "viewer").await;
    let mut viewer = Viewer::join(&app, authorize(&s, 200, 1.0, 1.0, true), BUFFERING).await;
    // Live participant: one event near the viewer's time, one far ahead (replayed later).
    let live = app.start_session(&prompt, "live").await;
    let (_, near) = app.post_event(&live, "join", 0.3, json!({})).await;
    let (_, ahead) = app.post_event(&live, "like", 3.5, json!({})).await;
    let (got, _) = viewer.collect(Duration::from_millis(5000)).await;
    let uids: Vec<&str> = got
        .iter()
        .map(|r| r.event["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uids.iter().collect::<HashSet<_>>().len(),
        uids.len(),
        "an event was delivered twice"
    );
    for uid in history.iter().map(String::as_str).chain([
        near["uid"].as_str().unwrap(),
        ahead["uid"].as_str().unwrap(),
    ]) {
        assert!(uids.contains(&uid), "{uid} missing");
    }
    let ahead_at = got
        .iter()
        .find(|r| r.event["uid"] == ahead["uid"])
        .unwrap()
        .at;
    assert!(
        ahead_at >= 3.5 - 1.0 - 0.15,
        "a future event arrived at {ahead_at}, more than lookahead early"
    );
}

/// Connects with a tiny receive buffer, so an unread stream fills fast.
async fn connect_small_buffer(
    app: &TestApp,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let url = format!("ws://{addr}/api/2/interactive_prompts/live");
    tokio_tungstenite::client_async(url, tcp)
        .await
        .expect("handshake")
        .0
}

/// Writes `n` likes straight into a stopped server's SQLite file (setup
/// only: far faster than HTTP), spread over the sessions and `[0, duration)`.
fn bulk_insert_likes(database: &str, sessions: &[Session], n: usize, duration: f64) {
    let conn = rusqlite::Connection::open(database.trim_start_matches("sqlite://")).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    for (i, s) in sessions.iter().enumerate() {
        let id: i64 = conn
            .query_row(
                "SELECT id FROM interactive_prompt_sessions WHERE uid = ?1",
                [&s.session_uid],
                |r| r.get(0),
            )
            .unwrap();
        let per = n / sessions.len();
        for j in 0..per {
            let t = duration * (j as f64 + i as f64 / sessions.len() as f64) / per as f64;
            conn.execute(
                "INSERT INTO interactive_prompt_events(uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
                 VALUES (?1, ?2, 'like', '{}', ?3, 0, (SELECT interactive_prompt_id FROM interactive_prompt_sessions WHERE id = ?2))",
                rusqlite::params![format!("ipe_bulk{i:03}x{j:06}"), id, t],
            )
            .unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    // Always on a SQLite file: the history is bulk-written into it.
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("slow.db").display());
    let app = spawn_on(&database, &[], None);
    let prompt = app.create_prompt(press_prompt(), 10).await;
    let mut sessions = Vec::new();
    for i in 0..20 {
        sessions.push(app.start_session(&prompt, &format!("s{i}")).await);
    }
    drop(app);
    bulk_insert_likes(&database, &sessions, 40_000, 10.0);
    let app = spawn_on(&database, &[], None);

    let mut socket = connect_small_buffer(&app).await;
    let text = |v: Value| tokio_tungstenite::tungstenite::Message::Text(v.to_string().into());
    socket
        .send(text(authorize(&sessions[0], 5000, 0.0, 10.0, true)))
        .await
        .unwrap();
    let mut handshake = Vec::new();
    while handshake.len() < 2 {
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = socket.next().await {
            let packet: Value = serde_json::from_str(&t).unwrap();
            if packet["type"] == "sync_request" {
                let sync = json!({"type": "sync_response", "data": {"receive_timestamp": 0.0, "transmit_timestamp": 0.0}});
                socket.send(text(sync)).await.unwrap();
            }
            handshake.push(packet["type"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(handshake, ["sync_request", "auth_response"]);
    // Stop reading while the server sends 5,000 events a second.
    let mut open = String::new();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let metrics = app.metrics().await;
        open = metrics
            .lines()
            .find(|l| l.starts_with("chorus_open_streams "))
            .unwrap_or("")
            .to_owned();
        if open == "chorus_open_streams 0" {
            break;
        }
    }
    assert_eq!(
        open, "chorus_open_streams 0",
        "the server still holds the unread stream after 10 s"
    );
    // What the kernel buffered drains, then the stream ends, long before the prompt would.
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        let mut events = 0usize;
        while let Some(Ok(msg)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                let packet: Value = serde_json::from_str(&t).unwrap();
                events += packet["data"]["events"].as_array().map_or(0, Vec::len);
            }
        }
        events
    })
    .await
    .expect("the stream was closed");
    assert!(
        drained < 40_000,
        "everything was delivered ({drained}); the reader was not slow"
    );
}
