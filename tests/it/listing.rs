//! The admin listing of prompts (docs/api.md, "Listing prompts"): newest
//! first, every prompt on exactly one page, the `deleted` filter, limits,
//! each prompt's session and event totals, and the refusals.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// The listing at `query` (e.g. `limit=3&deleted=any`), as admin.
async fn list(app: &TestApp, query: &str) -> (StatusCode, Value) {
    app.send(
        app.http
            .get(app.url(&format!("/api/1/interactive_prompts?{query}")))
            .bearer_auth(ADMIN_TOKEN),
    )
    .await
}

/// Every page of the listing with `query`, `limit` at a time: the items in
/// order, and how many pages it took.
async fn every_page(app: &TestApp, query: &str, limit: usize) -> (Vec<Value>, usize) {
    let (mut items, mut pages) = (Vec::new(), 0);
    let mut after: Option<String> = None;
    loop {
        let cursor = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let (status, page) = list(app, &format!("{query}&limit={limit}{cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit);
        items.extend(got.iter().cloned());
        pages += 1;
        match &page["next"] {
            Value::Null => return (items, pages),
            Value::String(next) => after = Some(next.clone()),
            other => panic!("next is {other}"),
        }
        assert!(pages < 100, "the listing does not end");
    }
}

async fn delete(app: &TestApp, uid: &str) {
    let (status, body) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/1/interactive_prompts/{uid}")))
                .bearer_auth(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn pages_visit_every_prompt_once_newest_first_with_the_totals_created() {
    let app = spawn_app().await;
    let styles = [
        numeric_prompt(),
        press_prompt(),
        color_prompt(),
        word_prompt(),
    ];
    let mut created = Vec::new();
    for i in 0..13 {
        created.push(app.create_prompt(styles[i % 4].clone(), 30).await);
    }
    // Sessions and events on some prompts: (sessions, events) expected.
    let mut totals: HashMap<String, (i64, i64)> = HashMap::new();
    for (i, uid) in created.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let mut events = 0;
        for n in 0..=(i % 4) {
            let s = app.start_session(uid, &format!("u{i}-{n}")).await;
            if n == 0 {
                continue; // a session without events counts too
            }
            for (route, t) in [("join", 0.0), ("like", 1.0), ("like", 1.0), ("leave", 2.0)] {
                let (status, _) = app.post_event(&s, route, t, json!({})).await;
                if status == StatusCode::CREATED {
                    events += 1;
                }
            }
        }
        totals.insert(uid.clone(), ((i % 4) as i64 + 1, events));
    }
    assert!(totals.values().any(|&(_, e)| e > 0));
    let deleted: Vec<String> = created.iter().skip(2).step_by(5).cloned().collect();
    for uid in &deleted {
        delete(&app, uid).await;
    }

    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    let (items, pages) = every_page(&app, "deleted=any", 4).await;
    let uids: Vec<String> = items
        .iter()
        .map(|p| p["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(uids, newest_first, "every prompt once, newest first");
    assert_eq!(pages, 4);
    for item in &items {
        let uid = item["uid"].as_str().unwrap();
        let (sessions, events) = totals.get(uid).copied().unwrap_or((0, 0));
        assert_eq!(item["sessions"], sessions, "{item}");
        assert_eq!(item["events"], events, "{item}");
        assert_eq!(item["duration_seconds"], 30);
        assert!(item["prompt"]["style"].is_string());
        assert!(item["created_at"].as_f64().unwrap() > 0.0);
        assert_eq!(
            item["deleted_at"].is_null(),
            !deleted.contains(&uid.to_owned())
        );
    }

    let (live, _) = every_page(&app, "deleted=false", 3).await;
    let live: Vec<&str> = live.iter().map(|p| p["uid"].as_str().unwrap()).collect();
    let expected: Vec<&str> = newest_first
        .iter()
        .filter(|u| !deleted.contains(u))
        .map(String::as_str)
        .collect();
    assert_eq!(live, expected);
    let (gone, _) = every_page(&app, "deleted=true", 2).await;
    let gone: Vec<&str> = gone.iter().map(|p| p["uid"].as_str().unwrap()).collect();
    let expected: Vec<&str> = deleted.iter().rev().map(String::as_str).collect();
    assert_eq!(gone, expected);

    // The defaults: live prompts only, up to 100 on one page.
    let (status, page) = list(&app, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), live.len());
    assert_eq!(page["next"], Value::Null);
    // A page that ends exactly at the last prompt says there is no more.
    let (_, page) = list(&app, &format!("deleted=any&limit={}", created.len())).await;
    assert_eq!(page["items"].as_array().unwrap().len(), created.len());
    assert_eq!(page["next"], Value::Null);

    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn the_listing_is_for_admins_and_names_each_bad_parameter() {
    let app = spawn_app().await;
    app.create_prompt(press_prompt(), 10).await;
    let url = app.url("/api/1/interactive_prompts");
    let (status, body) = app.send(app.http.get(&url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["type"], "not_set");
    let (status, body) = app.send(app.http.get(&url).bearer_auth("wrong")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "invalid");
    let user = user_token("someone", None);
    let (status, _) = app.send(app.http.get(&url).bearer_auth(user)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for (query, names) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("limit=", "limit"),
        ("deleted=maybe", "deleted"),
        ("deleted=", "deleted"),
        ("after=nonsense", "after"),
        ("after=", "after"),
        ("after=cDA", "after"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = list(&app, query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["type"], "unprocessable_entity");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(names), "{query}: {message}");
    }
    let (status, page) = list(&app, "limit=500&deleted=any").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

/// Runs SQL statements on a database no server is using.
async fn run_sql(database: &str, statements: &[&str]) {
    match engine() {
        Engine::Sqlite => {
            let path = database.strip_prefix("sqlite://").expect("sqlite URL");
            let conn = rusqlite::Connection::open(path).expect("open the database");
            for sql in statements {
                conn.execute_batch(sql).expect(sql);
            }
        }
        Engine::Postgres => {
            let (client, conn) = tokio_postgres::connect(database, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            for sql in statements {
                client.batch_execute(sql).await.expect(sql);
            }
        }
    }
}

/// Runs `chorus <cmd> --database <database>`; returns exit code and stdout.
fn chorus(cmd: &str, database: &str) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args([cmd, "--database", database])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run chorus");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout)
}

/// The listing's `(sessions, events)` of `uid`.
async fn totals_of(app: &TestApp, uid: &str) -> (i64, i64) {
    let (status, page) = list(app, "deleted=any&limit=500").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let item = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["uid"] == uid)
        .unwrap_or_else(|| panic!("{uid} is not listed"));
    (
        item["sessions"].as_i64().unwrap(),
        item["events"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn totals_are_filled_in_when_an_older_database_is_upgraded_and_check_holds_them() {
    let (database, dir) = fresh_database().await;
    let app = spawn_on(&database, &[], None);
    let uid = app.create_prompt(numeric_prompt(), 20).await;
    for i in 0..3 {
        let s = app.start_session(&uid, &format!("old{i}")).await;
        for (route, t, data) in [
            ("join", 0.5, json!({})),
            ("respond_numeric_prompt", 1.0, json!({"rating": 3})),
        ] {
            let (status, body) = app.post_event(&s, route, t, data).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    app.start_session(&uid, "idle").await;
    assert_eq!(totals_of(&app, &uid).await, (4, 6));
    drop(app);

    // The database as the version before the totals left it.
    run_sql(
        &database,
        &[
            "DROP TABLE interactive_prompt_instances",
            "DROP TABLE interactive_prompt_definitions",
            "DROP TABLE interactive_prompt_totals",
            "DELETE FROM chorus_migrations WHERE version = 5",
        ],
    )
    .await;
    let app = spawn_on(&database, &[], None);
    assert_eq!(totals_of(&app, &uid).await, (4, 6), "filled from the rows");
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
    drop(app);

    // Totals that drift are reported, and rebuilt from the rows.
    run_sql(
        &database,
        &["UPDATE interactive_prompt_totals SET sessions = 9, events = 1"],
    )
    .await;
    let (code, out) = chorus("check", &database);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("total sessions: stored 9, expected 4"),
        "{out}"
    );
    assert!(out.contains("total events: stored 1, expected 6"), "{out}");
    let (code, out) = chorus("rebuild", &database);
    assert_eq!(code, 0, "{out}");
    let app = spawn_on(&database, &[], dir);
    assert_eq!(totals_of(&app, &uid).await, (4, 6));
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}
