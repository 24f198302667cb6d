//! The stream under hostile clients: silent sockets, one user opening many
//! streams, oversized frames (docs/stream-protocol.md, "Handshake"; the
//! limits in docs/operations.md).

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::stream_support::*;
use crate::support::*;

/// The error packet and close code of a handshake the server refuses.
async fn refused(socket: &mut Socket) -> (Value, Option<u16>) {
    let packet = next_packet(socket).await;
    assert_eq!(packet["type"], "error", "{packet}");
    (
        packet["data"].clone(),
        close_code(socket, Duration::from_secs(5)).await,
    )
}

/// Opens a socket and sends `authorize`, expecting a refusal.
async fn refused_viewer(app: &TestApp, s: &Session) -> (Value, Option<u16>) {
    let mut socket = connect(app).await;
    send(&mut socket, authorize(s, 10, 1.0, 1.0, false)).await;
    refused(&mut socket).await
}

/// How a socket that never authorizes ends: the `type` of the error packet
/// it was sent, if any, and its close code (within 10 s).
async fn ending(socket: &mut Socket) -> (Option<String>, Option<u16>) {
    let mut error = None;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("closed within 10 s");
        match msg {
            Some(Ok(Message::Text(t))) => {
                let packet: Value = serde_json::from_str(&t).expect("JSON packet");
                if packet["type"] == "error" {
                    error = packet["data"]["type"].as_str().map(str::to_owned);
                }
            }
            Some(Ok(Message::Close(frame))) => return (error, frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            _ => return (error, None),
        }
    }
}

#[tokio::test]
async fn silent_sockets_cannot_lock_viewers_out() {
    let app = spawn_app_with(&[
        "--max-streams",
        "3",
        "--stream-handshake-timeout-ms",
        "1500",
    ])
    .await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    // Five sockets that never authorize: more than --max-streams.
    let mut silent = Vec::new();
    for _ in 0..5 {
        silent.push(connect(&app).await);
    }
    // Real viewers are served meanwhile, up to --max-streams of them.
    let mut viewers = Vec::new();
    for i in 0..3 {
        let s = app.start_session(&prompt, &format!("v{i}")).await;
        viewers.push(Viewer::join(&app, authorize(&s, 10, 1.0, 1.0, false), 0.0).await);
    }
    let fourth = app.start_session(&prompt, "v3").await;
    let (error, code) = refused_viewer(&app, &fourth).await;
    assert_eq!(
        (error["code"].as_u64(), error["type"].as_str()),
        (Some(503), Some("too_many_streams"))
    );
    assert_eq!(code, Some(1013));
    // The silent sockets are closed at the handshake deadline.
    for socket in &mut silent {
        assert_eq!(
            close_code(socket, Duration::from_secs(10)).await,
            Some(1008)
        );
    }
}

#[tokio::test]
async fn a_full_pending_pool_refuses_at_once_and_frees_at_the_deadline() {
    let app = spawn_app_with(&[
        "--max-pending-streams",
        "2",
        "--stream-handshake-timeout-ms",
        "1500",
    ])
    .await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let s = app.start_session(&prompt, "v").await;
    // Three silent sockets for a pool of two: one is refused at once, the
    // other two are closed at the deadline. (Which one is refused depends
    // on the order the server takes their upgrades in, not on ours.)
    let mut sockets = [
        connect(&app).await,
        connect(&app).await,
        connect(&app).await,
    ];
    let mut endings = Vec::new();
    for socket in &mut sockets {
        endings.push(ending(socket).await);
    }
    endings.sort();
    assert_eq!(
        endings,
        [
            (None, Some(1008)),
            (None, Some(1008)),
            (Some("too_many_streams".to_owned()), Some(1013)),
        ]
    );
    // The pool is free again: a viewer is served (the server may need a
    // moment to notice the closed sockets).
    let mut served = false;
    for _ in 0..50 {
        let mut socket = connect(&app).await;
        send(&mut socket, authorize(&s, 10, 1.0, 1.0, false)).await;
        if next_packet(&mut socket).await["type"] == "sync_request" {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "no viewer was served once the silent sockets were closed"
    );
}

#[tokio::test]
async fn one_user_holds_at_most_max_streams_per_user() {
    let app = spawn_app_with(&["--max-streams-per-user", "2"]).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let a = app.start_session(&prompt, "ada").await;
    let a2 = app.start_session(&prompt, "ada").await;
    let b = app.start_session(&prompt, "bob").await;
    let first = Viewer::join(&app, authorize(&a, 10, 1.0, 1.0, false), 0.0).await;
    let _second = Viewer::join(&app, authorize(&a2, 10, 1.0, 1.0, false), 0.0).await;
    // A third stream of ada's, with either of her prompt tokens, is refused.
    for s in [&a, &a2] {
        let (error, code) = refused_viewer(&app, s).await;
        assert_eq!(
            (error["code"].as_u64(), error["type"].as_str()),
            (Some(429), Some("too_many_user_streams")),
            "{error}"
        );
        assert_eq!(code, Some(1008));
    }
    // Other users are not affected.
    let _bob = Viewer::join(&app, authorize(&b, 10, 1.0, 1.0, false), 0.0).await;
    // Once one of ada's streams closes, she may open another.
    drop(first);
    let mut served = false;
    for _ in 0..50 {
        let mut socket = connect(&app).await;
        send(&mut socket, authorize(&a, 10, 1.0, 1.0, false)).await;
        if next_packet(&mut socket).await["type"] == "sync_request" {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "ada's slot was not given back");
}

/// Upgrades a raw TCP connection to the stream endpoint.
async fn raw_upgrade(app: &TestApp) -> tokio::net::TcpStream {
    let host = app.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET /api/2/interactive_prompts/live HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            tcp.read(&mut byte).await.unwrap(),
            1,
            "the upgrade was answered"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

#[tokio::test]
async fn an_oversized_frame_before_authorizing_closes_the_socket() {
    // A long handshake deadline: only the frame's size can close the socket soon.
    let app = spawn_app_with(&["--stream-handshake-timeout-ms", "60000"]).await;
    let mut tcp = raw_upgrade(&app).await;
    // A masked text frame announcing 1 MiB, of which only 4 KiB are sent.
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&(1u64 << 20).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend(std::iter::repeat_n(b'x', 4096));
    tcp.write_all(&frame).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server waited for the rest of a 1 MiB frame"
    );
}

/// Authorizes and answers the clock sync with `receive` and `transmit`.
async fn sync_as(app: &TestApp, s: &Session, receive: f64, transmit: f64) -> Socket {
    let mut socket = connect(app).await;
    send(&mut socket, authorize(s, 10, 0.0, 1.0, false)).await;
    assert_eq!(next_packet(&mut socket).await["type"], "sync_request");
    let sync = serde_json::json!({"type": "sync_response",
        "data": {"receive_timestamp": receive, "transmit_timestamp": transmit}});
    send(&mut socket, sync).await;
    socket
}

#[tokio::test]
async fn hostile_clock_answers_are_refused_and_no_stream_outlives_its_prompt() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 5).await;
    let s = app.start_session(&prompt, "v").await;
    // Far before the start, far past the end (duration 5 + lookback 0), or
    // a hold that would cancel the round trip.
    for (receive, transmit) in [
        (-1e15, -1e15),
        (-61.0, -61.0),
        (5.5, 5.5),
        (1e15, 1e15),
        (0.0, 1e15),
    ] {
        let mut socket = sync_as(&app, &s, receive, transmit).await;
        let (error, code) = refused(&mut socket).await;
        assert_eq!(
            (error["code"].as_u64(), error["type"].as_str()),
            (Some(422), Some("unprocessable_entity")),
            "{receive}, {transmit}: {error}"
        );
        assert_eq!(code, Some(1008));
    }
    // The latest time accepted, duration + lookback: the stream closes 10 s
    // later, at duration + lookback + 10.
    let mut socket = sync_as(&app, &s, 5.0, 5.0).await;
    assert_eq!(next_packet(&mut socket).await["type"], "auth_response");
    assert_eq!(
        close_code(&mut socket, Duration::from_secs(20)).await,
        Some(1000)
    );
}

#[tokio::test]
async fn an_expired_prompt_token_ends_a_long_stream_with_4401() {
    // Prompt tokens of 1 s (and the server's 5 s of leeway).
    let app = spawn_app_with(&["--prompt-token-seconds", "1"]).await;
    let prompt = app.create_prompt(numeric_prompt(), 3600).await;
    let s = app.start_session(&prompt, "v").await;
    let mut viewer = Viewer::join(&app, authorize(&s, 10, 1.0, 1.0, false), 0.0).await;
    let (_, code) = viewer.collect(Duration::from_secs(20)).await;
    assert_eq!(code, Some(4401));
    assert!(
        viewer.prompt_time() < 20.0,
        "closed by the token, not the prompt"
    );
    // The expired token no longer opens a stream.
    let (error, _) = refused_viewer(&app, &s).await;
    assert_eq!(error["code"], 403, "{error}");
}
