//! The limits on HTTP connections (docs/operations.md, "Limits"): slow
//! heads, idle connections and slow bodies are dropped and counted, the
//! server's memory stays bounded while they last, and connections past the
//! cap wait while the served ones go on working.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// The server's resident memory, in KiB (`VmRSS` of /proc/PID/status).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads one response (head and `content-length` body); None if nothing
/// came within `within`, or the connection closed first.
async fn response(socket: &mut TcpStream, within: Duration) -> Option<String> {
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    return Some(text);
                }
            }
        }
    };
    tokio::time::timeout(within, read).await.ok().flatten()
}

/// Waits up to `within` for the server to close `socket`; whether it did.
async fn closed(socket: &mut TcpStream, within: Duration) -> bool {
    let drain = async {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = socket.read(&mut chunk).await {
            if n == 0 {
                return;
            }
        }
    };
    tokio::time::timeout(within, drain).await.is_ok()
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: chorus\r\n\r\n";

#[tokio::test]
async fn slowloris_connections_are_closed_and_memory_stays_bounded() {
    let app = spawn_app_with(&[
        "--http-header-timeout-ms",
        "1500",
        "--http-max-connections",
        "1000",
    ])
    .await;
    assert_eq!(app.send(app.http.get(app.url("/healthz"))).await.0, 200);
    let before = rss_kib(app.pid());
    let started = Instant::now();
    // 200 connections, each sending almost the largest head the server
    // takes, never finishing it, then a byte at a time.
    let mut slow = Vec::new();
    for i in 0..200 {
        let mut s = connect(&app).await;
        let head = format!("GET /healthz HTTP/1.1\r\nHost: chorus\r\nX-Pad-{i}: ");
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&vec![b'a'; 15_000]).await.unwrap();
        slow.push(s);
    }
    for s in &mut slow {
        let _ = s.write_all(b"a").await;
    }
    let held = rss_kib(app.pid());
    // A legitimate client is served meanwhile.
    let (status, body) = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(status, 200, "{body}");
    for s in &mut slow {
        assert!(
            closed(s, Duration::from_secs(20)).await,
            "a slow head was kept"
        );
    }
    let elapsed = started.elapsed();
    println!(
        "RSS {before} KiB before, {held} KiB while 200 slow heads were held; all closed after {elapsed:?}"
    );
    assert!(
        held < before + 32 * 1024,
        "RSS grew from {before} to {held} KiB"
    );
    let (status, _) = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(status, 200);
    let m = app.metrics().await;
    let dropped = metric(
        &m,
        r#"chorus_http_connections_dropped_total{reason="header_timeout"}"#,
    );
    assert!(dropped >= 200.0, "{dropped}");
}

#[tokio::test]
async fn a_head_over_the_limit_is_refused_with_431() {
    let app = spawn_app().await;
    let mut s = connect(&app).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: chorus\r\nX-Big: ")
        .await
        .unwrap();
    let _ = s.write_all(&vec![b'a'; 20 * 1024]).await;
    let answer = response(&mut s, Duration::from_secs(10))
        .await
        .unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    assert!(closed(&mut s, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn idle_connections_and_slow_bodies_are_dropped() {
    let app = spawn_app_with(&[
        "--http-idle-timeout-ms",
        "500",
        "--http-request-timeout-ms",
        "500",
    ])
    .await;
    // Served, kept alive, then idle: closed.
    let mut idle = connect(&app).await;
    idle.write_all(HEALTHZ).await.unwrap();
    let answer = response(&mut idle, Duration::from_secs(10)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed(&mut idle, Duration::from_secs(10)).await);

    // A body announced and never sent: 408, and the connection closes.
    let mut slow = connect(&app).await;
    let head = format!(
        "POST /api/1/interactive_prompts HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = response(&mut slow, Duration::from_secs(10)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""type":"request_timeout""#), "{answer}");
    assert!(closed(&mut slow, Duration::from_secs(10)).await);

    let m = app.metrics().await;
    for reason in ["idle_timeout", "request_timeout"] {
        let n = metric(
            &m,
            &format!(r#"chorus_http_connections_dropped_total{{reason="{reason}"}}"#),
        );
        assert!(n >= 1.0, "{reason}: {n}");
    }
}

#[tokio::test]
async fn connections_past_the_cap_wait_while_served_ones_work() {
    let app = spawn_app_with(&["--http-max-connections", "3"]).await;
    let mut served = Vec::new();
    for _ in 0..3 {
        let mut s = connect(&app).await;
        s.write_all(HEALTHZ).await.unwrap();
        let answer = response(&mut s, Duration::from_secs(10)).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        served.push(s);
    }
    // The fourth is queued by the kernel, not served.
    let mut waiting = connect(&app).await;
    waiting.write_all(HEALTHZ).await.unwrap();
    assert_eq!(response(&mut waiting, Duration::from_secs(1)).await, None);
    // The served ones go on working.
    for s in &mut served {
        s.write_all(HEALTHZ).await.unwrap();
        let answer = response(s, Duration::from_secs(10)).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // One closes: the waiting one is served.
    drop(served.pop());
    let answer = response(&mut waiting, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
