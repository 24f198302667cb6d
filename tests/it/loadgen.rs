//! `chorus loadgen` at tiny scale against a spawned server: every scenario
//! runs, exits 0, and reports accepted events or deliveries with no
//! unexpected errors. (The benchmarks themselves are `scripts/bench.sh`,
//! outside pass/fail.) And its delaying proxy: bytes arrive whole and in
//! order, no sooner than the delay each way, and servers work through it
//! on PostgreSQL and Redis.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::stream_support::{Viewer, authorize};
use crate::support::{
    ADMIN_TOKEN, USER_SECRET, color_prompt, fresh_postgres_database, redis_url, spawn_app, spawn_on,
};

/// A premiere small enough for a test: 2 s, 10 viewers, 4 participants
/// posting 20 events/s.
const TINY_PREMIERE: &[&str] = &[
    "premiere",
    "--seconds",
    "2",
    "--viewers",
    "10",
    "--participants",
    "4",
    "--event-rate",
    "20",
    "--bandwidth",
    "20",
];

/// Runs `chorus loadgen --url <app> <args…>` and returns its report.
fn loadgen(base: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["loadgen", "--url", base, "--admin-token", ADMIN_TOKEN])
        .args(["--user-jwt-secret", USER_SECRET, "--ceiling-seconds", "0.3"])
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run chorus loadgen");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "loadgen {args:?} failed: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

/// The report line `key: …`.
fn line<'r>(report: &'r str, key: &str) -> &'r str {
    report
        .lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
        .unwrap_or_else(|| panic!("no {key:?} line in\n{report}"))
}

/// The number on the report line `key: N …`.
fn figure(report: &str, key: &str) -> f64 {
    let line = line(report, key);
    let value = line.split_once(':').expect("key: value").1.trim();
    value
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line:?}"))
}

fn assert_clean(report: &str) {
    assert_eq!(figure(report, "unexpected errors"), 0.0, "{report}");
}

#[tokio::test]
async fn ingest_at_tiny_scale_accepts_events_without_errors() {
    let app = spawn_app().await;
    let report = loadgen(
        &app.base,
        &[
            "ingest",
            "--seconds",
            "1.5",
            "--connections",
            "4",
            "--users",
            "16",
        ],
    );
    assert!(figure(&report, "accepted events") > 0.0, "{report}");
    assert!(report.contains("ceiling (GET /healthz)"), "{report}");
    assert_clean(&report);
}

#[tokio::test]
async fn ingest_open_loop_paces_requests_at_the_asked_rate() {
    let app = spawn_app().await;
    let report = loadgen(
        &app.base,
        &[
            "ingest",
            "--seconds",
            "2",
            "--connections",
            "4",
            "--users",
            "16",
            "--rate",
            "100",
        ],
    );
    assert!(report.contains("open loop at 100 requests/s"), "{report}");
    let sent = figure(&report, "requests/s");
    assert!(sent > 0.0 && sent <= 110.0, "paced at {sent}/s: {report}");
    assert!(figure(&report, "accepted events") > 0.0, "{report}");
    assert_clean(&report);
}

#[tokio::test]
async fn stats_at_tiny_scale_answers_requests_without_errors() {
    let app = spawn_app().await;
    let report = loadgen(
        &app.base,
        &[
            "stats",
            "--seconds",
            "1",
            "--connections",
            "4",
            "--clients",
            "16",
            "--prompts",
            "1",
            "--seed-events",
            "14",
        ],
    );
    assert!(figure(&report, "answered requests") > 0.0, "{report}");
    assert_clean(&report);
}

#[tokio::test]
async fn premiere_at_tiny_scale_delivers_live_events() {
    let app = spawn_app().await;
    let report = loadgen(&app.base, TINY_PREMIERE);
    assert!(figure(&report, "posted events accepted") > 0.0, "{report}");
    assert!(figure(&report, "deliveries") > 0.0, "{report}");
    for latency in ["post→receive latency", "commit→receive latency"] {
        assert!(samples(&report, latency) > 0, "{latency}: {report}");
    }
    assert_clean(&report);
}

/// The sample count of the latency line `key: p50 … (N samples)`.
fn samples(report: &str, key: &str) -> u64 {
    line(report, key)
        .rsplit_once('(')
        .and_then(|(_, n)| n.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn replay_at_tiny_scale_replays_a_filled_prompt() {
    // Replay fills its prompt through the library before the server
    // starts, so it spawns its own server on a SQLite file.
    let out = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["loadgen", "--spawn", "--ceiling-seconds", "0.3", "replay"])
        .args([
            "--seconds",
            "2",
            "--viewers",
            "8",
            "--history",
            "2000",
            "--duration",
            "20",
            "--bandwidth",
            "20",
        ])
        .env("RUST_LOG", "error")
        .output()
        .expect("run chorus loadgen");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(figure(&report, "deliveries") > 0.0, "{report}");
    assert_clean(&report);
}

#[tokio::test]
async fn popular_at_tiny_scale_reads_back_what_it_filled() {
    // Popular fills two SQLite databases before their servers start, so
    // it spawns its own servers.
    let out = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["loadgen", "--spawn", "popular"])
        .args(["--small-sessions", "20", "--popular-sessions", "200"])
        .args([
            "--bucket-events",
            "10",
            "--phase-seconds",
            "0.2",
            "--rounds",
            "2",
        ])
        .env("RUST_LOG", "error")
        .output()
        .expect("run chorus loadgen");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, sessions) in [("small", 20.0), ("popular", 200.0), ("alone", 20.0)] {
        let key = |what: &str| format!("{name} prompt {what}");
        assert_eq!(figure(&report, &key("sessions")), sessions, "{report}");
        let events = sessions * 10.0;
        assert_eq!(figure(&report, &key("events filled")), events, "{report}");
        assert_eq!(
            figure(&report, &key("events read back")),
            events,
            "{report}"
        );
        assert!(figure(&report, &key("reads")) > 0.0, "{report}");
        // Ten events a session spread evenly: ten in every bucket.
        let per_read: f64 = line(&report, &key("reads"))
            .rsplit_once('(')
            .and_then(|(_, n)| n.split_whitespace().next()?.parse().ok())
            .expect("events a read");
        assert!((9.0..=11.0).contains(&per_read), "{report}");
        assert!(samples(&report, &key("read latency")) > 0, "{report}");
    }
    for ratio in ["popular ÷ small", "small beside popular ÷ alone"] {
        assert!(line(&report, ratio).contains("median"), "{report}");
    }
    assert_clean(&report);
}

/// A `chorus loadgen proxy` child, killed on drop.
struct DelayProxy {
    /// `127.0.0.1:PORT`
    addr: String,
    child: Child,
}

impl DelayProxy {
    /// Starts one in front of `to` (`host:port`), holding bytes back
    /// `delay_ms` each way.
    fn start(to: &str, delay_ms: f64) -> DelayProxy {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chorus"))
            .args(["loadgen", "proxy", "--listen", "127.0.0.1:0", "--to", to])
            .args(["--delay-ms", &delay_ms.to_string()])
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start chorus loadgen proxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the proxy's first line");
        // "proxy listening on ADDR, to …"
        let addr = line
            .strip_prefix("proxy listening on ")
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        DelayProxy { addr, child }
    }

    /// Sends SIGTERM and waits for the exit (up to 10 s); true if it exited 0.
    fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(killed.expect("kill").success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "the proxy did not exit on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An echo server: every connection gets back what it sends, then the end.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = conn.into_split();
                if tokio::io::copy(&mut r, &mut w).await.is_ok() {
                    let _ = w.shutdown().await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_carries_bytes_in_order_no_sooner_than_its_delay_each_way() {
    let delay = Duration::from_millis(25);
    let mut proxy = DelayProxy::start(&echo_server().await, 25.0);

    // One byte there and back: it waited at least the delay each way.
    let mut conn = TcpStream::connect(&proxy.addr).await.expect("connect");
    let sent = Instant::now();
    conn.write_all(b"x").await.unwrap();
    let mut byte = [0u8];
    conn.read_exact(&mut byte).await.unwrap();
    assert!(
        sent.elapsed() >= 2 * delay,
        "round trip {:?}",
        sent.elapsed()
    );
    assert_eq!(&byte, b"x");

    // 12 MiB, more than the proxy holds back at once, come back whole and
    // in order, and the end of the stream follows them.
    let data: Vec<u8> = (0..12u32 << 20).map(|i| (i ^ (i >> 9)) as u8).collect();
    let (mut r, mut w) = conn.into_split();
    let to_send = data.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&to_send).await.unwrap();
        w.shutdown().await.unwrap();
    });
    let mut back = Vec::new();
    r.read_to_end(&mut back).await.expect("read back");
    writer.await.unwrap();
    assert!(
        back == data,
        "{} bytes came back, not the {} sent",
        back.len(),
        data.len()
    );

    // SIGTERM: the proxy closes what it carries and exits 0.
    let mut open = TcpStream::connect(&proxy.addr).await.expect("connect");
    open.write_all(b"y").await.unwrap();
    open.read_exact(&mut byte).await.unwrap();
    assert!(proxy.terminate(), "the proxy exited with an error");
    let closed = open.read(&mut byte).await;
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
}

/// `host:port` of a `scheme://[user@]host:port/…` URL.
fn host_port(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_work_through_delaying_proxies_to_postgres_and_redis() {
    let delay = Duration::from_millis(5);
    let database = fresh_postgres_database().await;
    let redis = redis_url();
    let pg_proxy = DelayProxy::start(host_port(&database), 5.0);
    let redis_proxy = DelayProxy::start(host_port(&redis), 5.0);
    let database = database.replacen(host_port(&database), &pg_proxy.addr, 1);
    let redis = redis.replacen(host_port(&redis), &redis_proxy.addr, 1);
    let flags = ["--redis", redis.as_str(), "--session-event-rate", "0"];
    let (a, b) = (
        spawn_on(&database, &flags, None),
        spawn_on(&database, &flags, None),
    );

    let prompt = a.create_prompt(color_prompt(), 60).await;
    let viewer_session = b.start_session(&prompt, "viewer").await;
    let mut viewer = Viewer::join(&b, authorize(&viewer_session, 50, 2.0, 2.0, false), 0.0).await;
    // An event is answered once committed: a round trip to PostgreSQL at least.
    let participant = a.start_session(&prompt, "participant").await;
    let posted = Instant::now();
    let (status, join) = a.post_event(&participant, "join", 0.1, json!({})).await;
    assert!(
        posted.elapsed() >= 2 * delay,
        "answered in {:?}",
        posted.elapsed()
    );
    assert_eq!(status, 201, "{join}");
    // It reaches the other process's viewer through Redis.
    let (got, _) = viewer.collect(Duration::from_secs(3)).await;
    assert!(got.iter().any(|r| r.event["uid"] == join["uid"]), "{got:?}");

    // The premiere scenario over both processes runs clean.
    let args = [&["--no-ceiling"][..], TINY_PREMIERE].concat();
    let report = loadgen(&format!("{},{}", a.base, b.base), &args);
    assert!(figure(&report, "posted events accepted") > 0.0, "{report}");
    assert!(figure(&report, "deliveries") > 0.0, "{report}");
    assert_clean(&report);
}
