//! `chorus check` and `chorus rebuild` (docs/rules.md, "The invariant"): a
//! consistent database passes; aggregates corrupted behind the server's back
//! are reported per prompt, rebuilt from the events, and served correctly
//! again after a restart.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Runs `chorus <cmd> --database <database>`; returns exit code and stdout.
pub fn chorus(cmd: &str, database: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args([cmd, "--database", database])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run chorus");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The line of `out` that names `uid`.
pub fn line_of<'a>(out: &'a str, uid: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(uid))
        .unwrap_or_else(|| panic!("{uid} is not mentioned in\n{out}"))
}

/// Runs SQL statements with the prompt uid bound to `$1` on the server's
/// database (no server running); returns the rows each changed.
async fn tamper(database: &str, uid: &str, statements: &[&str]) -> Vec<u64> {
    match engine() {
        Engine::Sqlite => {
            let path = database.strip_prefix("sqlite://").expect("sqlite URL");
            let conn = rusqlite::Connection::open(path).expect("open the database");
            statements
                .iter()
                .map(|sql| conn.execute(sql, [uid]).expect("tamper") as u64)
                .collect()
        }
        Engine::Postgres => {
            let (client, conn) = tokio_postgres::connect(database, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            let mut changed = Vec::new();
            for sql in statements {
                changed.push(client.execute(*sql, &[&uid]).await.expect("tamper"));
            }
            changed
        }
    }
}

const PROMPT_ID: &str = "(SELECT id FROM interactive_prompts WHERE uid = $1)";

/// Two prompts with events of every kind their style allows.
async fn populate(app: &TestApp) -> (Session, Session) {
    let numeric = app.create_prompt(numeric_prompt(), 20).await;
    let press = app.create_prompt(press_prompt(), 20).await;
    let (mut first_n, mut first_p) = (None, None);
    for i in 0..4 {
        let n = app.start_session(&numeric, &format!("n{i}")).await;
        let p = app.start_session(&press, &format!("p{i}")).await;
        let t0 = i as f64 * 0.7;
        let events = [
            (&n, "join", t0, json!({})),
            (
                &n,
                "respond_numeric_prompt",
                t0 + 1.0,
                json!({"rating": i + 2}),
            ),
            (&n, "like", t0 + 2.5, json!({})),
            (
                &n,
                "respond_numeric_prompt",
                t0 + 6.0,
                json!({"rating": 9 - i}),
            ),
            (&p, "join", t0, json!({})),
            (&p, "respond_press_prompt/start", t0 + 1.5, json!({})),
            (&p, "like", t0 + 3.0, json!({})),
            (&p, "respond_press_prompt/end", t0 + 5.0, json!({})),
            (&p, "respond_press_prompt/start", t0 + 9.0, json!({})),
        ];
        for (s, route, t, data) in events {
            let (status, body) = app.post_event(s, route, t, data).await;
            assert_eq!(status, StatusCode::CREATED, "{route}: {body}");
        }
        if i < 2 {
            let (status, _) = app.post_event(&n, "leave", t0 + 12.0, json!({})).await;
            assert_eq!(status, StatusCode::CREATED);
            let (status, _) = app.post_event(&p, "leave", t0 + 12.0, json!({})).await;
            assert_eq!(status, StatusCode::CREATED);
        }
        first_n.get_or_insert(n);
        first_p.get_or_insert(p);
    }
    (first_n.unwrap(), first_p.unwrap())
}

/// Everything the server says about a prompt: its timeline, a few single
/// bins, and every event.
async fn observe(app: &TestApp, s: &Session) -> Value {
    let (status, timeline) = app.timeline(s).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let mut bins = Vec::new();
    for bin in [0, 3, 10, 30] {
        let (status, stats) = app.stats(s, bin).await;
        assert_eq!(status, StatusCode::OK, "{stats}");
        bins.push(stats);
    }
    let (_, events) = app.search(s, json!({"limit": 5000})).await;
    json!({"timeline": timeline, "bins": bins, "events": events["items"]})
}

#[tokio::test]
async fn rebuild_repairs_corrupted_aggregates_that_check_reports() {
    let (database, dir) = fresh_database().await;
    let app = spawn_on(&database, &[], None);
    let (n, p) = populate(&app).await;
    let (before_n, before_p) = (observe(&app, &n).await, observe(&app, &p).await);
    assert_eq!(before_n["events"].as_array().unwrap().len(), 18);
    assert_eq!(before_n["timeline"]["likes"][30], 4);
    drop(app);

    let (code, out) = chorus("check", &database);
    assert_eq!(code, 0, "{out}");
    assert!(line_of(&out, &n.prompt_uid).starts_with("ok"), "{out}");

    let changed = tamper(
        &database,
        &n.prompt_uid,
        &[
            &format!("UPDATE interactive_prompt_event_fenwick_trees SET val = val + 3 WHERE id = (SELECT id FROM interactive_prompt_event_fenwick_trees WHERE interactive_prompt_id = {PROMPT_ID} AND category = 'likes' ORDER BY idx LIMIT 1)"),
            &format!("UPDATE interactive_prompt_event_counts SET total = total + 2 WHERE id = (SELECT id FROM interactive_prompt_event_counts WHERE interactive_prompt_id = {PROMPT_ID} ORDER BY bucket LIMIT 1)"),
        ],
    )
    .await;
    assert_eq!(changed, vec![1, 1]);

    let (code, out) = chorus("check", &database);
    assert_ne!(code, 0, "check passed a corrupted database:\n{out}");
    assert!(line_of(&out, &n.prompt_uid).contains("MISMATCH"), "{out}");
    assert!(line_of(&out, &p.prompt_uid).starts_with("ok"), "{out}");

    // The corruption is visible to clients until rebuilt.
    let app = spawn_on(&database, &[], None);
    assert_ne!(observe(&app, &n).await["timeline"], before_n["timeline"]);
    drop(app);

    let (code, out) = chorus("rebuild", &database);
    assert_eq!(code, 0, "{out}");
    assert!(line_of(&out, &n.prompt_uid).contains("rebuilt"), "{out}");
    let (code, out) = chorus("check", &database);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 prompts, 0 inconsistent"), "{out}");

    let app = spawn_on(&database, &[], dir);
    assert_eq!(observe(&app, &n).await, before_n);
    assert_eq!(observe(&app, &p).await, before_p);
    // And the rebuilt aggregates keep counting new events.
    let late = app.start_session(&n.prompt_uid, "late").await;
    assert_eq!(
        app.post_event(&late, "join", 19.0, json!({})).await.0,
        StatusCode::CREATED
    );
    let (_, last) = app.stats(&late, 30).await;
    assert_eq!(
        last["users"],
        before_n["bins"][3]["users"].as_i64().unwrap() + 1
    );
    assert_eq!(app.run_command("check").0, 0);
}

#[tokio::test]
async fn rebuild_restores_deleted_rows_and_removes_stray_ones() {
    let (database, dir) = fresh_database().await;
    let app = spawn_on(&database, &[], None);
    let (n, p) = populate(&app).await;
    let (before_n, before_p) = (observe(&app, &n).await, observe(&app, &p).await);
    drop(app);

    let changed = tamper(
        &database,
        &p.prompt_uid,
        &[
            &format!("DELETE FROM interactive_prompt_event_fenwick_trees WHERE interactive_prompt_id = {PROMPT_ID} AND category = 'press_active'"),
            &format!("DELETE FROM interactive_prompt_event_counts WHERE interactive_prompt_id = {PROMPT_ID} AND bucket = 3"),
            &format!("INSERT INTO interactive_prompt_event_counts (interactive_prompt_id, bucket, total) VALUES ({PROMPT_ID}, 17, 5)"),
        ],
    )
    .await;
    assert!(
        changed[0] > 0 && changed[1] == 1 && changed[2] == 1,
        "{changed:?}"
    );

    let (code, out) = chorus("check", &database);
    assert_ne!(code, 0, "{out}");
    assert!(line_of(&out, &p.prompt_uid).contains("MISMATCH"), "{out}");
    assert!(line_of(&out, &n.prompt_uid).starts_with("ok"), "{out}");

    let (code, out) = chorus("rebuild", &database);
    assert_eq!(code, 0, "{out}");
    let (code, out) = chorus("check", &database);
    assert_eq!(code, 0, "{out}");

    let app = spawn_on(&database, &[], dir);
    assert_eq!(observe(&app, &n).await, before_n);
    assert_eq!(observe(&app, &p).await, before_p);
}
