//! Hostile clients at the HTTP edge: what a client can make the server keep
//! (metric series), what it can make the server print (secrets), and what
//! it reads back (normalised numbers, `/readyz` without driver messages).

use std::process::{Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use crate::support::*;

/// The sample lines of `/metrics` (one per series and histogram bucket).
fn series(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count()
}

#[tokio::test]
async fn invented_methods_and_paths_add_no_metric_series() {
    let app = spawn_app().await;
    let invented = |i: usize| {
        let method = reqwest::Method::from_bytes(format!("M{i:06}").as_bytes()).unwrap();
        match i % 3 {
            0 => app.http.request(method, app.url(&format!("/x{i}/y"))),
            1 => app.http.request(method, app.url("/healthz")),
            _ => app.http.get(app.url(&format!("/api/1/nothing/{i}?q={i}"))),
        }
    };
    // The first of each kind may add its series (method `other`, route
    // `unmatched` or the matched route), and so may the first scrape; no
    // later request may.
    for i in 0..3 {
        let status = invented(i).send().await.unwrap().status();
        assert!(status.is_client_error(), "{status}");
    }
    app.metrics().await;
    let before = app.metrics().await;
    let statuses: Vec<u16> = futures::stream::iter(3..10_003)
        .map(|i| {
            let req = invented(i);
            async move { req.send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| (400..500).contains(s)));
    let after = app.metrics().await;
    assert_eq!(series(&before), series(&after), "{after}");
    assert!(!after.contains("M000"), "an invented method became a label");
    assert!(
        metric(
            &after,
            r#"chorus_http_requests_total{method="other",route="unmatched",status="404"}"#
        ) >= 3_000.0
    );
}

#[tokio::test]
async fn negative_zero_is_stored_and_echoed_as_zero() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 30).await;
    let s = app.start_session(&prompt, "z").await;
    let (status, body) = app.post_event(&s, "join", -0.0, json!({})).await;
    assert_eq!(status, 201, "{body}");
    let t = body["prompt_time"].as_f64().unwrap();
    assert!(t == 0.0 && t.is_sign_positive(), "{body}");
    let (status, page) = app
        .search(
            &s,
            json!({"filters": {"prompt_time": {"operator": "eq", "value": 0.0}}}),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let found = page["items"][0]["prompt_time"].as_f64().unwrap();
    assert!(found.is_sign_positive(), "{page}");
}

/// Runs `chorus serve` with `args` until it exits (it must, within 60 s),
/// returning its exit code and everything it printed.
fn failed_start(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("CHORUS_USER_JWT_SECRET", USER_SECRET)
        .env("CHORUS_PROMPT_JWT_SECRET", PROMPT_SECRET)
        .env("CHORUS_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chorus");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started (or hung) with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[tokio::test]
async fn start_up_errors_never_print_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("c.db").display());
    let cases = [
        vec![
            "--database",
            "postgres://chorus:Pg-S3cret-pw@127.0.0.1:1/chorus",
        ],
        vec![
            "--database",
            "mysql://chorus:My-S3cret-pw@127.0.0.1:1/chorus",
        ],
        vec![
            "--database",
            &sqlite,
            "--redis",
            "redis://:Rd-S3cret-pw@127.0.0.1:1/0",
        ],
    ];
    for args in cases {
        let (code, text) = tokio::task::spawn_blocking({
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            move || failed_start(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .await
        .unwrap();
        assert_ne!(code, Some(0), "{text}");
        assert!(!text.contains("S3cret"), "a password was printed: {text}");
        assert!(
            text.contains(":***@127.0.0.1:1"),
            "the URL is named: {text}"
        );
    }
}
