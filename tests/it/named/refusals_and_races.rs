//! Named prompts' refusals, and the race for the next instance between
//! two server processes over PostgreSQL.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{PUBLIC, admin, counts, define, expire, put, start, start_raw};
use crate::raw_db::Db;
use crate::support::*;
#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let good = || json!({"prompt": press_prompt(), "duration_seconds": 10, "expires_seconds": 60});
    let with = |key: &str, value: Value| {
        let mut body = good();
        body[key] = value;
        body
    };
    let too_long = "x".repeat(65);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("Upper", good(), "identifier"),
        ("under_score", good(), "identifier"),
        (&too_long, good(), "identifier"),
        ("ok", with("expires_seconds", json!(59)), "expires_seconds"),
        ("ok", with("expires_seconds", json!(1.5)), "expires_seconds"),
        ("ok", with("duration_seconds", json!(0)), "duration_seconds"),
        (
            "ok",
            with("duration_seconds", json!(86_401)),
            "duration_seconds",
        ),
        (
            "ok",
            with("prompt", json!({"style": "press", "text": " "})),
            "prompt.text",
        ),
        ("ok", with("extra", json!(1)), "extra"),
        (
            "ok",
            json!({"prompt": press_prompt(), "duration_seconds": 10}),
            "expires_seconds",
        ),
    ];
    for (identifier, body, field) in cases {
        let (status, error) = put(&app, identifier, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{identifier} {body}: {error}"
        );
        assert_eq!(error["type"], "unprocessable_entity");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(field), "{field} not named in {message:?}");
    }
    for bad in ["Upper", "a%2Fb", "%C3%A9"] {
        for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
            let (status, error) = admin(&app, method, bad).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {error}");
        }
    }
    for body in [
        json!({}),
        json!({"identifier": 5}),
        json!({"identifier": "Bad"}),
        json!({"identifier": "ok", "more": 1}),
        json!(["ok"]),
    ] {
        let (status, error) = start_raw(&app, "u", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
    }
    // Auth: admin routes want the admin token, start_public a user token.
    let url = app.url(&format!("{PUBLIC}/ok"));
    let (status, _) = app.send(app.http.put(&url).json(&good())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .send(
            app.http
                .put(&url)
                .bearer_auth(user_token("u", None))
                .json(&good()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .send(app.http.get(app.url(PUBLIC)).bearer_auth("wrong"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let start_url = app.url("/api/1/interactive_prompts/start_public");
    let (status, _) = app
        .send(app.http.post(&start_url).json(&json!({"identifier": "ok"})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, list) = app
        .send(app.http.get(app.url(PUBLIC)).bearer_auth(ADMIN_TOKEN))
        .await;
    assert_eq!(list["items"], json!([]), "nothing was defined");
    let db = Db::open(&app.database).await;
    assert_eq!(counts(&db, "ok").await, (0, 0));
}

/// Always on PostgreSQL, whatever the suite's engine: two processes race
/// to define it, then to make its first and its next instance.
#[tokio::test]
async fn fifty_starts_over_two_processes_make_exactly_one_instance_each_time() {
    let database = fresh_postgres_database().await;
    let flags = ["--redis", &redis_url(), "--session-event-rate", "0"];
    let a = spawn_on(&database, &flags, None);
    let b = spawn_on(&database, &flags, None);
    // Defined by ten racing PUTs of the same body: one definition, version 1.
    let defined = join_all((0..10).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        define(app, "premiere", numeric_prompt(), 15)
    }))
    .await;
    assert!(defined.iter().all(|d| d["version"] == 1), "{defined:?}");
    let db = Db::open(&database).await;
    let definitions = "SELECT CAST(COUNT(*) AS BIGINT) FROM interactive_prompt_definitions";
    assert_eq!(db.integer(definitions).await, 1);
    let mut seen = Vec::new();
    for round in 0..2 {
        if round == 1 {
            expire(&db, "premiere").await;
        }
        let starts = (0..50).map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            async move { start(app, "premiere", &format!("r{round}-{i}")).await }
        });
        let sessions = join_all(starts).await;
        let uids: HashSet<&str> = sessions.iter().map(|s| s.prompt_uid.as_str()).collect();
        assert_eq!(uids.len(), 1, "round {round}: {uids:?}");
        let uid = sessions[0].prompt_uid.clone();
        assert!(!seen.contains(&uid), "round {round} made a new instance");
        seen.push(uid.clone());
        assert_eq!(counts(&db, "premiere").await, (round + 1, round + 1));
        let in_it = db
            .integer(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM interactive_prompt_sessions s
                 JOIN interactive_prompts p ON p.id = s.interactive_prompt_id WHERE p.uid = '{uid}'"
            ))
            .await;
        assert_eq!(
            in_it, 50,
            "every session of round {round} is in its instance"
        );
    }
    let (code, out) = a.run_command("check");
    assert_eq!(code, 0, "{out}");
}
