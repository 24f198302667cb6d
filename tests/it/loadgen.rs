//! `chorus loadgen` at tiny scale against a spawned server: every scenario
//! runs, exits 0, and reports accepted events or deliveries with no
//! unexpected errors. (The benchmarks themselves are `scripts/bench.sh`,
//! outside pass/fail.)

use std::process::Command;

use crate::support::{ADMIN_TOKEN, USER_SECRET, spawn_app};

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
    let report = loadgen(
        &app.base,
        &[
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
        ],
    );
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
