//! `chorus backup` (docs/operations.md, "Backup and restore"): a copy of a
//! live SQLite database taken while events keep arriving holds every event
//! acknowledged before the backup began and passes `chorus check`; an
//! existing file is never overwritten unless asked; PostgreSQL is pointed
//! to `pg_dump`. (SQLite whatever the run's engine: the command is
//! SQLite's.)

use std::collections::HashSet;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::json;

use crate::raw_db::Db;
use crate::support::*;

/// Posters taking the prompt at once.
const POSTERS: usize = 4;

fn chorus(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CHORUS_DATABASE")
        .output()
        .expect("run chorus")
}

fn backup(database: &str, to: &Path, force: bool) -> Output {
    let to = to.to_str().unwrap();
    let mut args = vec!["backup", "--database", database, "--to", to];
    if force {
        args.push("--force");
    }
    chorus(&args)
}

/// One poster: session after session of a join, likes and a leave, until
/// `stop`; every acknowledged event's uid goes to `acked`.
async fn post_until(
    app: Arc<TestApp>,
    prompt: String,
    n: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
) {
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        let s = app
            .start_session(&prompt, &format!("poster-{n}-{round}"))
            .await;
        round += 1;
        let steps = std::iter::once(("join", 0.0))
            .chain((1..=30).map(|i| ("like", i as f64 * 0.5)))
            .chain(std::iter::once(("leave", 20.0)));
        for (route, t) in steps {
            let (status, body) = app.post_event(&s, route, t, json!({})).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            acked
                .lock()
                .unwrap()
                .push(body["uid"].as_str().unwrap().to_owned());
        }
    }
}

/// Waits until `acked` holds more than `n` uids.
async fn acked_past(acked: &Mutex<Vec<String>>, n: usize) {
    while acked.lock().unwrap().len() <= n {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_backup_during_ingest_holds_every_acknowledged_event_and_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("chorus.db").display());
    let app = Arc::new(spawn_on(&database, &["--session-event-rate", "0"], None));
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let (stop, acked) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let posters: Vec<_> = (0..POSTERS)
        .map(|n| {
            tokio::spawn(post_until(
                app.clone(),
                prompt.clone(),
                n,
                stop.clone(),
                acked.clone(),
            ))
        })
        .collect();
    acked_past(&acked, 300).await;

    let before: Vec<String> = acked.lock().unwrap().clone();
    let copy = dir.path().join("backup.db");
    let (db, to) = (database.clone(), copy.clone());
    let out = tokio::task::spawn_blocking(move || backup(&db, &to, false))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("backed up"), "{stdout}");
    // The server kept accepting events: more are acknowledged afterwards.
    let during = acked.lock().unwrap().len();
    acked_past(&acked, during + 100).await;
    stop.store(true, Ordering::Relaxed);
    for p in posters {
        p.await.unwrap();
    }

    let copy_url = format!("sqlite://{}", copy.display());
    let check = chorus(&["check", "--database", &copy_url]);
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{report}");
    assert!(report.contains("1 prompts, 0 inconsistent"), "{report}");
    let stored: HashSet<String> = Db::open(&copy_url)
        .await
        .texts("SELECT uid FROM interactive_prompt_events")
        .await
        .into_iter()
        .collect();
    let missing: Vec<&String> = before.iter().filter(|u| !stored.contains(*u)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events missing",
        missing.len()
    );
    let acked = acked.lock().unwrap();
    let all: HashSet<&String> = acked.iter().collect();
    assert!(
        stored.iter().all(|u| all.contains(u)),
        "the copy holds only acknowledged events"
    );
}

#[tokio::test]
async fn an_existing_file_is_replaced_only_when_forced_and_postgres_is_pointed_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("chorus.db").display());
    let app = spawn_on(&database, &[], None);
    let prompt = app.create_prompt(press_prompt(), 60).await;
    let s = app.start_session(&prompt, "ada").await;
    assert_eq!(
        app.post_event(&s, "join", 1.0, json!({})).await.0,
        StatusCode::CREATED
    );

    let copy = dir.path().join("backup.db");
    std::fs::write(&copy, b"keep me").unwrap();
    let out = backup(&database, &copy, false);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), b"keep me");

    let out = backup(&database, &copy, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy_url = format!("sqlite://{}", copy.display());
    assert_eq!(
        Db::open(&copy_url)
            .await
            .integer("SELECT COUNT(*) FROM interactive_prompt_events")
            .await,
        1
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let refusals = [
        (
            "postgres://chorus:secret@127.0.0.1:5432/chorus".to_owned(),
            "pg_dump",
        ),
        (
            format!("sqlite://{}", dir.path().join("none.db").display()),
            "no SQLite database",
        ),
        (database.clone(), "cannot replace the database itself"),
    ];
    for (from, says) in &refusals {
        let target = match *from == database {
            true => dir.path().join("chorus.db"),
            false => dir.path().join("other.db"),
        };
        let out = backup(from, &target, true);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{from}: {stderr}");
        assert!(stderr.contains(*says), "{from}: {stderr}");
        assert!(!stderr.contains("secret"), "{stderr}");
    }
    assert!(!dir.path().join("other.db").exists());
}
