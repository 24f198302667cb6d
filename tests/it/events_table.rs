//! The events table at scale (docs/rules.md, "Uids" and "Storage"):
//! event uids start with their creation time and increase in creation
//! order, and a database of the previous release (events without their
//! prompt, fully random uids) is migrated in place, passes `chorus check`,
//! and sorts and pages both kinds of uid together.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::join_all;
use serde_json::{Value, json};

use crate::raw_db::Db;
use crate::support::*;

/// The 16 bytes of an event uid.
fn uid_bytes(uid: &str) -> [u8; 16] {
    let (prefix, text) = uid.split_once('_').expect("<prefix>_<base64>");
    assert_eq!(prefix, "ipe", "{uid}");
    let bytes = URL_SAFE_NO_PAD.decode(text).expect("URL-safe base64");
    bytes.try_into().expect("16 bytes")
}

/// The Unix time at the start of a time-ordered uid, in seconds.
fn uid_seconds(uid: &str) -> f64 {
    let mut ms = [0u8; 8];
    ms[2..].copy_from_slice(&uid_bytes(uid)[..6]);
    u64::from_be_bytes(ms) as f64 / 1000.0
}

/// Every event of `s`'s prompt, by search.
async fn all_events(app: &TestApp, s: &Session) -> Vec<Value> {
    let (status, page) = app.search(s, json!({"limit": 5000})).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().expect("items").clone()
}

fn assert_uid_times_match(events: &[Value]) {
    for e in events {
        let (uid, created_at) = (
            e["uid"].as_str().unwrap(),
            e["created_at"].as_f64().unwrap(),
        );
        let drift = uid_seconds(uid) - created_at;
        assert!(drift.abs() < 1.0, "{uid} says {drift} s from {created_at}");
    }
}

/// Posts `n` events on a fresh session of `prompt` (a join, then likes a
/// quarter second apart); returns their uids in posting order.
async fn post_likes(app: &TestApp, prompt: &str, sub: String, n: usize) -> Vec<String> {
    let s = app.start_session(prompt, &sub).await;
    let mut uids = Vec::with_capacity(n);
    for i in 0..n {
        let route = if i == 0 { "join" } else { "like" };
        let (status, body) = app.post_event(&s, route, i as f64 * 0.25, json!({})).await;
        assert_eq!(status, 201, "{body}");
        uids.push(body["uid"].as_str().unwrap().to_owned());
    }
    uids
}

#[tokio::test]
async fn event_uids_start_with_their_creation_time_and_increase() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(press_prompt(), 600).await;
    // One after another (sessions are rate-limited: several of them).
    let mut posted = Vec::new();
    for k in 0..6 {
        posted.extend(post_likes(&app, &prompt, format!("ada{k}"), 10).await);
    }
    for pair in posted.windows(2) {
        assert!(
            uid_bytes(&pair[0]) < uid_bytes(&pair[1]),
            "{pair:?} are not in creation order"
        );
    }
    let s = app.start_session(&prompt, "viewer").await;
    let events = all_events(&app, &s).await;
    assert_eq!(events.len(), 60);
    assert_uid_times_match(&events);
}

#[tokio::test]
async fn event_uids_made_concurrently_are_unique_and_ordered_per_session() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(press_prompt(), 600).await;
    let posting = (0..32).map(|i| post_likes(&app, &prompt, format!("u{i}"), 10));
    let per_session = join_all(posting).await;
    for uids in &per_session {
        assert!(uids.windows(2).all(|p| uid_bytes(&p[0]) < uid_bytes(&p[1])));
    }
    let all: Vec<&String> = per_session.iter().flatten().collect();
    let distinct: HashSet<&&String> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (320, 320));
    let s = app.start_session(&prompt, "viewer").await;
    assert_uid_times_match(&all_events(&app, &s).await);
}

/// The previous release's events table (its migration 1), restored over
/// the current one in place: no `interactive_prompt_id`, the global
/// `(prompt_time, uid)` index, migration 3 not recorded. Every other
/// event's uid becomes 16 random bytes, as every uid was then. Returns the
/// uids replaced: current → older.
async fn downgrade(db: &Db) -> HashMap<String, String> {
    if db.is_postgres() {
        db.batch(
            "DROP INDEX interactive_prompt_events_ip_id_prompt_time_uid_idx;
             ALTER TABLE interactive_prompt_events DROP COLUMN interactive_prompt_id;
             CREATE INDEX interactive_prompt_events_prompt_time_uid_idx
                 ON interactive_prompt_events(prompt_time, uid);",
        )
        .await;
    } else {
        db.batch(
            "BEGIN;
             CREATE TABLE old_events(
                 id INTEGER PRIMARY KEY,
                 uid TEXT UNIQUE NOT NULL,
                 interactive_prompt_session_id INTEGER NOT NULL REFERENCES interactive_prompt_sessions(id) ON DELETE CASCADE,
                 evtype TEXT NOT NULL,
                 data TEXT NOT NULL,
                 prompt_time REAL NOT NULL,
                 created_at REAL NOT NULL
             );
             INSERT INTO old_events SELECT id, uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at
                 FROM interactive_prompt_events;
             DROP TABLE interactive_prompt_events;
             ALTER TABLE old_events RENAME TO interactive_prompt_events;
             CREATE INDEX interactive_prompt_events_ips_id_prompt_time_idx
                 ON interactive_prompt_events(interactive_prompt_session_id, prompt_time);
             CREATE INDEX interactive_prompt_events_created_at_session_idx
                 ON interactive_prompt_events(created_at, interactive_prompt_session_id) WHERE evtype='join';
             CREATE INDEX interactive_prompt_events_prompt_time_uid_idx
                 ON interactive_prompt_events(prompt_time, uid);
             COMMIT;",
        )
        .await;
    }
    db.batch("DELETE FROM chorus_migrations WHERE version = 3")
        .await;
    let uids = db
        .texts("SELECT uid FROM interactive_prompt_events ORDER BY id")
        .await;
    let mut replaced = HashMap::new();
    for uid in uids.into_iter().step_by(2) {
        let older = format!("ipe_{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()));
        let sql = "UPDATE interactive_prompt_events SET uid = $1 WHERE uid = $2";
        assert_eq!(db.execute(sql, &[&older, &uid]).await, 1);
        replaced.insert(uid, older);
    }
    replaced
}

/// Two prompts with sessions that share prompt times pairwise (so uids
/// break ties); returns a session of the first.
async fn populate(app: &TestApp) -> Session {
    let numeric = app.create_prompt(numeric_prompt(), 30).await;
    let press = app.create_prompt(press_prompt(), 30).await;
    let mut first = None;
    for i in 0..8 {
        let n = app.start_session(&numeric, &format!("n{i}")).await;
        let p = app.start_session(&press, &format!("p{i}")).await;
        let t0 = (i / 2) as f64;
        let events = [
            (&n, "join", t0, json!({})),
            (
                &n,
                "respond_numeric_prompt",
                t0 + 1.0,
                json!({"rating": i + 1}),
            ),
            (&n, "like", t0 + 2.5, json!({})),
            (&n, "leave", t0 + 9.0, json!({})),
            (&p, "join", t0, json!({})),
            (&p, "respond_press_prompt/start", t0 + 1.5, json!({})),
            (&p, "respond_press_prompt/end", t0 + 5.0, json!({})),
        ];
        for (s, route, t, data) in events {
            let (status, body) = app.post_event(s, route, t, data).await;
            assert_eq!(status, 201, "{route}: {body}");
        }
        first.get_or_insert(n);
    }
    first.unwrap()
}

/// `(prompt_time, uid)` order, uids compared as text (byte-wise).
fn listing_order(a: &Value, b: &Value) -> Ordering {
    let t = |e: &Value| e["prompt_time"].as_f64().unwrap();
    t(a).total_cmp(&t(b))
        .then_with(|| a["uid"].as_str().cmp(&b["uid"].as_str()))
}

/// Follows `next_page_sort` through pages of `limit`; returns the uids.
async fn paged_uids(app: &TestApp, s: &Session, limit: usize, sort: Value) -> Vec<String> {
    let mut body = json!({"limit": limit, "sort": sort});
    let mut uids = Vec::new();
    for _ in 0..500 {
        let (status, page) = app.search(s, body.clone()).await;
        assert_eq!(status, 200, "{page}");
        for e in page["items"].as_array().unwrap() {
            uids.push(e["uid"].as_str().unwrap().to_owned());
        }
        if page["next_page_sort"].is_null() {
            return uids;
        }
        body["sort"] = page["next_page_sort"].clone();
    }
    panic!("pagination does not end");
}

#[tokio::test]
async fn a_database_of_the_previous_release_is_migrated_in_place() {
    let (database, dir) = fresh_database().await;
    let app = spawn_on(&database, &[], None);
    let s = populate(&app).await;
    let before = all_events(&app, &s).await;
    drop(app);
    let db = Db::open(&database).await;
    let replaced = downgrade(&db).await;
    assert_eq!(replaced.len(), 28);

    // Any command opening the database migrates it; check then passes.
    let (code, out) = check_database(&database);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 prompts, 0 inconsistent"), "{out}");
    let wrong = "SELECT COUNT(*) FROM interactive_prompt_events e
        JOIN interactive_prompt_sessions s ON s.id = e.interactive_prompt_session_id
        WHERE e.interactive_prompt_id IS NULL OR e.interactive_prompt_id <> s.interactive_prompt_id";
    assert_eq!(db.integer(wrong).await, 0);
    let index = |name: &str| match db.is_postgres() {
        true => format!("SELECT COUNT(*) FROM pg_indexes WHERE indexname = '{name}'"),
        false => format!("SELECT COUNT(*) FROM sqlite_master WHERE name = '{name}'"),
    };
    let per_prompt = index("interactive_prompt_events_ip_id_prompt_time_uid_idx");
    assert_eq!(db.integer(&per_prompt).await, 1);
    let global = index("interactive_prompt_events_prompt_time_uid_idx");
    assert_eq!(db.integer(&global).await, 0);
    assert_eq!(
        db.integer("SELECT COUNT(*) FROM interactive_prompt_events")
            .await,
        56
    );

    // Served: the older uids beside new time-ordered ones, in one order.
    let app = spawn_on(&database, &[], dir);
    let mut expected: Vec<Value> = before
        .into_iter()
        .map(|mut e| {
            if let Some(older) = replaced.get(e["uid"].as_str().unwrap()) {
                e["uid"] = json!(older);
            }
            e
        })
        .collect();
    for (i, sub) in ["late0", "late1", "late2"].into_iter().enumerate() {
        let late = app.start_session(&s.prompt_uid, sub).await;
        for (route, t) in [("join", i as f64), ("like", 2.5), ("leave", 9.0)] {
            let (status, body) = app.post_event(&late, route, t, json!({})).await;
            assert_eq!(status, 201, "{body}");
            expected.push(json!({"uid": body["uid"], "prompt_time": t}));
        }
    }
    expected.sort_by(listing_order);
    let expected: Vec<String> = expected
        .iter()
        .map(|e| e["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 32 + 9);
    let asc = json!([{"key": "prompt_time", "dir": "asc"}, {"key": "uid", "dir": "asc"}]);
    let desc = json!([{"key": "prompt_time", "dir": "desc"}, {"key": "uid", "dir": "desc"}]);
    for limit in [1, 4, 7] {
        assert_eq!(paged_uids(&app, &s, limit, asc.clone()).await, expected);
        let mut reversed = paged_uids(&app, &s, limit, desc.clone()).await;
        reversed.reverse();
        assert_eq!(reversed, expected);
    }
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

/// Runs `chorus check --database <database>`; returns exit code and stdout.
fn check_database(database: &str) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["check", "--database", database])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run chorus");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}
