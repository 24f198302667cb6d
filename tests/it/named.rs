//! Named prompts (docs/api.md, "Named prompts"): definitions by identifier,
//! `start_public` on the current instance, exactly one new instance when
//! it is due however many requests race (on one process, and on two over
//! PostgreSQL), the old instances still readable (stats, search, export),
//! and (in [`refusals_and_races`]) the refusals and the race between two
//! processes.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::raw_db::Db;
use crate::support::*;

mod refusals_and_races;

const PUBLIC: &str = "/api/1/interactive_prompts/public";

/// `PUT …/public/{identifier}` with `body`, as admin.
async fn put(app: &TestApp, identifier: &str, body: Value) -> (StatusCode, Value) {
    let url = app.url(&format!("{PUBLIC}/{identifier}"));
    app.send(app.http.put(url).bearer_auth(ADMIN_TOKEN).json(&body))
        .await
}

/// Defines `identifier` (panics unless 200) → the definition.
async fn define(app: &TestApp, identifier: &str, prompt: Value, duration: i64) -> Value {
    let body = json!({"prompt": prompt, "duration_seconds": duration, "expires_seconds": 600});
    let (status, def) = put(app, identifier, body).await;
    assert_eq!(status, StatusCode::OK, "{def}");
    def
}

/// `GET` or `DELETE` of `…/public/{identifier}`, as admin.
async fn admin(app: &TestApp, method: reqwest::Method, identifier: &str) -> (StatusCode, Value) {
    let url = app.url(&format!("{PUBLIC}/{identifier}"));
    app.send(app.http.request(method, url).bearer_auth(ADMIN_TOKEN))
        .await
}

/// `start_public` for user `sub` with `body`.
async fn start_raw(app: &TestApp, sub: &str, body: Value) -> (StatusCode, Value) {
    let url = app.url("/api/1/interactive_prompts/start_public");
    let token = user_token(sub, Some(&format!("Name-{sub}")));
    app.send(app.http.post(url).bearer_auth(token).json(&body))
        .await
}

/// `start_public` of `identifier` for `sub` (panics unless 201) → a session.
async fn start(app: &TestApp, identifier: &str, sub: &str) -> Session {
    let (status, body) = start_raw(app, sub, json!({"identifier": identifier})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body["jwt"].is_string() && body["prompt"].is_object(),
        "{body}"
    );
    Session {
        prompt_uid: body["uid"].as_str().unwrap().to_owned(),
        session_uid: body["session_uid"].as_str().unwrap().to_owned(),
        jwt: body["jwt"].as_str().unwrap().to_owned(),
        user_token: user_token(sub, Some(&format!("Name-{sub}"))),
        sub: sub.to_owned(),
    }
}

/// Makes every instance of `identifier` older than its expiry, behind the
/// server's back (expiries are at least a minute).
async fn expire(db: &Db, identifier: &str) {
    db.batch(&format!(
        "UPDATE interactive_prompt_instances SET created_at = created_at - 100000
         WHERE definition_id = (SELECT id FROM interactive_prompt_definitions
             WHERE identifier = '{identifier}')"
    ))
    .await;
}

/// Instances of `identifier`, and prompts stored in all.
async fn counts(db: &Db, identifier: &str) -> (i64, i64) {
    let instances = db
        .integer(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM interactive_prompt_instances i
             JOIN interactive_prompt_definitions d ON d.id = i.definition_id
             WHERE d.identifier = '{identifier}'"
        ))
        .await;
    let prompts = db
        .integer("SELECT CAST(COUNT(*) AS BIGINT) FROM interactive_prompts")
        .await;
    (instances, prompts)
}

#[tokio::test]
async fn start_public_on_a_fresh_identifier_makes_one_instance_and_keeps_using_it() {
    let app = spawn_app().await;
    let def = define(&app, "onboarding-mood", numeric_prompt(), 20).await;
    assert_eq!(def["version"], 1);
    assert_eq!(
        def["current_uid"],
        Value::Null,
        "no instance before a start"
    );
    assert_eq!(def["expires_seconds"], 600);
    assert_eq!(def["prompt"]["style"], "numeric");

    let first = start(&app, "onboarding-mood", "u0").await;
    assert!(first.prompt_uid.starts_with("ip_"));
    let others = join_all((1..10).map(|i| {
        let app = &app;
        async move { start(app, "onboarding-mood", &format!("u{i}")).await }
    }))
    .await;
    for s in &others {
        assert_eq!(s.prompt_uid, first.prompt_uid, "one instance for all");
    }
    let db = Db::open(&app.database).await;
    assert_eq!(counts(&db, "onboarding-mood").await, (1, 1));
    let (status, read) = admin(&app, reqwest::Method::GET, "onboarding-mood").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["current_uid"], first.prompt_uid.as_str());

    // The instance is an ordinary prompt: events, stats, the listing.
    assert_eq!(app.post_event(&first, "join", 0.0, json!({})).await.0, 201);
    let (status, _) = app
        .post_event(&first, "respond_numeric_prompt", 1.0, json!({"rating": 7}))
        .await;
    assert_eq!(status, 201);
    let (status, stats) = app.stats(&first, 2).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["users"], 1);
    let (_, listing) = app
        .send(
            app.http
                .get(app.url("/api/1/interactive_prompts"))
                .bearer_auth(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(listing["items"][0]["uid"], first.prompt_uid.as_str());
    assert_eq!(listing["items"][0]["sessions"], 10);

    let (status, list) = app
        .send(app.http.get(app.url(PUBLIC)).bearer_auth(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0], read);
}

#[tokio::test]
async fn a_changed_definition_starts_a_new_instance_at_once() {
    let app = spawn_app().await;
    define(&app, "remind-me", word_prompt(), 10).await;
    let v1 = start(&app, "remind-me", "a").await;
    // The same settings again, or only a new expiry: same version, same instance.
    let same = define(&app, "remind-me", word_prompt(), 10).await;
    assert_eq!(
        (same["version"].clone(), same["current_uid"].clone()),
        (json!(1), json!(v1.prompt_uid))
    );
    let body = json!({"prompt": word_prompt(), "duration_seconds": 10, "expires_seconds": 3600});
    let (_, longer) = put(&app, "remind-me", body).await;
    assert_eq!(longer["version"], 1);
    assert_eq!(longer["expires_seconds"], 3600);
    assert_eq!(
        start(&app, "remind-me", "b").await.prompt_uid,
        v1.prompt_uid
    );

    // A new prompt: version 2, no current instance until the next start.
    let changed = define(&app, "remind-me", color_prompt(), 10).await;
    assert_eq!(
        (changed["version"].clone(), changed["current_uid"].clone()),
        (json!(2), Value::Null)
    );
    let v2 = start(&app, "remind-me", "c").await;
    assert_ne!(v2.prompt_uid, v1.prompt_uid);
    let (_, v2_body) = start_raw(&app, "d", json!({"identifier": "remind-me"})).await;
    assert_eq!(v2_body["prompt"]["style"], "color");
    // A new duration: version 3.
    let longer = define(&app, "remind-me", color_prompt(), 25).await;
    assert_eq!(longer["version"], 3);
    let (_, v3) = start_raw(&app, "e", json!({"identifier": "remind-me"})).await;
    assert_eq!(v3["duration_seconds"], 25);
    assert!(v3["uid"] != v1.prompt_uid.as_str() && v3["uid"] != v2.prompt_uid.as_str());
    let db = Db::open(&app.database).await;
    assert_eq!(counts(&db, "remind-me").await, (3, 3));
    // The old instances read as before.
    assert_eq!(app.timeline(&v1).await.0, 200);
    assert_eq!(app.timeline(&v2).await.0, 200);
}

#[tokio::test]
async fn an_expired_instance_is_followed_by_exactly_one_new_one_and_stays_readable() {
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    define(&app, "weekly", press_prompt(), 30).await;
    let old = start(&app, "weekly", "early").await;
    for (route, t) in [
        ("join", 0.0),
        ("respond_press_prompt/start", 1.0),
        ("like", 2.0),
    ] {
        assert_eq!(app.post_event(&old, route, t, json!({})).await.0, 201);
    }
    let db = Db::open(&app.database).await;
    expire(&db, "weekly").await;
    let (_, def) = admin(&app, reqwest::Method::GET, "weekly").await;
    assert_eq!(def["current_uid"], Value::Null, "expired");

    let racers = join_all((0..20).map(|i| {
        let app = &app;
        async move { start(app, "weekly", &format!("late{i}")).await }
    }))
    .await;
    let uids: HashSet<&str> = racers.iter().map(|s| s.prompt_uid.as_str()).collect();
    assert_eq!(uids.len(), 1, "{uids:?}");
    assert!(!uids.contains(old.prompt_uid.as_str()));
    assert_eq!(counts(&db, "weekly").await, (2, 2));

    // The old instance: stats and search still answer, with its events.
    let (status, stats) = app.stats(&old, 5).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(
        (stats["users"].clone(), stats["likes"].clone()),
        (json!(1), json!(1))
    );
    let (status, page) = app.search(&old, json!({"limit": 100})).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let export = app.url(&format!(
        "/api/1/interactive_prompts/{}/events/export?format=jsonl",
        old.prompt_uid
    ));
    let resp = app
        .http
        .get(export)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let lines: Vec<Value> = resp
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let exported: Vec<&str> = lines
        .iter()
        .map(|e| e["evtype"].as_str().unwrap())
        .collect();
    assert_eq!(exported, ["join", "press_prompt_start_response", "like"]);
    // The new one starts empty.
    let (_, fresh) = app.search(&racers[0], json!({"limit": 100})).await;
    assert_eq!(fresh["items"], json!([]));
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn unknown_and_deleted_identifiers_are_404_and_the_instances_stay() {
    let app = spawn_app().await;
    let not_found = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["type"], "public_prompt_not_found", "{body}");
    };
    not_found(start_raw(&app, "u", json!({"identifier": "nobody"})).await);
    not_found(admin(&app, reqwest::Method::GET, "nobody").await);
    not_found(admin(&app, reqwest::Method::DELETE, "nobody").await);

    define(&app, "poll", color_prompt(), 10).await;
    let s = start(&app, "poll", "u").await;
    assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
    let (status, deleted) = admin(&app, reqwest::Method::DELETE, "poll").await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["current_uid"], s.prompt_uid.as_str(), "as it was");
    not_found(admin(&app, reqwest::Method::DELETE, "poll").await);
    not_found(admin(&app, reqwest::Method::GET, "poll").await);
    not_found(start_raw(&app, "v", json!({"identifier": "poll"})).await);
    let (_, list) = app
        .send(app.http.get(app.url(PUBLIC)).bearer_auth(ADMIN_TOKEN))
        .await;
    assert_eq!(list["items"], json!([]));
    // Its instance is an ordinary prompt still, and takes events.
    let (status, _) = app
        .post_event(&s, "respond_color_prompt", 1.0, json!({"index": 2}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(app.stats(&s, 3).await.0, 200);

    // Defined again: a new version, and a new instance.
    let again = define(&app, "poll", color_prompt(), 10).await;
    assert_eq!(
        (again["version"].clone(), again["current_uid"].clone()),
        (json!(2), Value::Null)
    );
    assert_ne!(start(&app, "poll", "w").await.prompt_uid, s.prompt_uid);
}
