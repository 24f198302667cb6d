//! Pictures (docs/rules.md, "Sessions and users"): the token's `picture`
//! claim is kept when it is an `https:` URL of at most 2,048 characters and
//! ignored otherwise (never an error); every event leaves the server with
//! its user's picture as `icon` — the `201`, search, the stream and, with
//! Redis, the pub/sub message — and a later token without a picture keeps
//! the stored one.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::stream_support::{Viewer, authorize};
use crate::support::*;

/// A user token for `sub` carrying `claims` besides `sub`, `iat` and `exp`.
pub fn token_with(sub: &str, claims: Value) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let mut all = json!({"sub": sub, "iat": now, "exp": now + 3600});
    for (k, v) in claims.as_object().expect("claims object") {
        all[k] = v.clone();
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &all,
        &jsonwebtoken::EncodingKey::from_secret(USER_SECRET.as_bytes()),
    )
    .unwrap()
}

const GOOD: &str = "https://cdn.example.com/faces/ada.png?size=64";

#[tokio::test]
async fn good_pictures_become_every_events_icon_and_bad_ones_are_ignored() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 30).await;
    let published = match engine() {
        Engine::Postgres => Some(published_on_redis(&prompt).await),
        Engine::Sqlite => None,
    };
    let long = format!("https://e.com/{}", "a".repeat(2048));
    let users = [
        (
            "ada",
            json!({"given_name": "Ada", "picture": GOOD}),
            Some(GOOD),
        ),
        (
            "bo",
            json!({"given_name": "Bo", "picture": "http://e.com/bo.png"}),
            None,
        ),
        (
            "cy",
            json!({"given_name": "Cy", "picture": "javascript:alert(1)"}),
            None,
        ),
        ("di", json!({"given_name": "Di", "picture": long}), None),
        ("ed", json!({"given_name": "Ed", "picture": 7}), None),
        ("fay", json!({"given_name": "Fay"}), None),
    ];
    let mut expected: HashMap<String, Value> = HashMap::new();
    let mut sessions = Vec::new();
    for (i, (sub, claims, icon)) in users.iter().enumerate() {
        let s = app
            .start_session_with_token(&prompt, sub, token_with(sub, claims.clone()))
            .await;
        for (route, t, data) in [
            ("join", 0.5 * i as f64, json!({})),
            ("like", 1.0 + i as f64, json!({})),
        ] {
            let (status, body) = app.post_event(&s, route, t, data).await;
            assert_eq!(status, StatusCode::CREATED, "{sub}: {body}");
            assert_eq!(body["icon"], json!(icon), "the 201 of {sub}'s {route}");
            expected.insert(body["uid"].as_str().unwrap().to_owned(), json!(icon));
        }
        sessions.push(s);
    }

    // Search: every item carries its user's icon.
    let (status, page) = app.search(&sessions[0], json!({"limit": 100})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), expected.len());
    for item in items {
        assert_eq!(
            item["icon"],
            expected[item["uid"].as_str().unwrap()],
            "{item}"
        );
    }

    // The stream: replayed (stored) events and a near-live one.
    let mut viewer = Viewer::join(&app, authorize(&sessions[1], 100, 1.0, 1.0, true), 0.0).await;
    let (status, live) = app.post_event(&sessions[0], "like", 8.0, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    assert_eq!(live["icon"], GOOD);
    expected.insert(live["uid"].as_str().unwrap().to_owned(), json!(GOOD));
    let (received, _) = viewer.collect(Duration::from_secs(10)).await;
    let mut streamed = 0;
    for r in &received {
        let uid = r.event["uid"].as_str().unwrap();
        assert_eq!(r.event["icon"], expected[uid], "{}", r.event);
        streamed += 1;
    }
    assert_eq!(streamed, expected.len(), "every event reached the viewer");

    // Pub/sub: each message carries the icon too.
    if let Some(published) = published {
        let published = published.lock().unwrap().clone();
        assert_eq!(published.len(), expected.len(), "{published:?}");
        for (uid, message) in published {
            assert_eq!(message["icon"], expected[&uid], "message of {uid}");
        }
    }
}

#[tokio::test]
async fn a_picture_is_kept_like_the_name_and_shows_on_old_events_too() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 30).await;
    // No picture at first.
    let first = app
        .start_session_with_token(&prompt, "gus", token_with("gus", json!({})))
        .await;
    let (_, join) = app.post_event(&first, "join", 0.0, json!({})).await;
    assert_eq!(join["icon"], Value::Null);
    // A later token with a picture: new and old events show it.
    let later = token_with("gus", json!({"picture": GOOD}));
    let second = app.start_session_with_token(&prompt, "gus", later).await;
    let (_, join) = app.post_event(&second, "join", 1.0, json!({})).await;
    assert_eq!(join["icon"], GOOD);
    // Tokens without one, or with a bad one, keep it.
    for claims in [json!({}), json!({"picture": "http://e.com/x.png"})] {
        let s = app
            .start_session_with_token(&prompt, "gus", token_with("gus", claims))
            .await;
        let (status, join) = app.post_event(&s, "join", 2.0, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{join}");
        assert_eq!(join["icon"], GOOD);
    }
    let (_, first_like) = app.post_event(&first, "like", 3.0, json!({})).await;
    assert_eq!(first_like["icon"], GOOD, "the first session's later events");
    let (_, page) = app.search(&first, json!({})).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i["icon"] == GOOD), "{page}");
    // A new picture replaces the old one.
    let newer = "https://cdn.example.com/faces/gus-2.png";
    let s = app
        .start_session_with_token(&prompt, "gus", token_with("gus", json!({"picture": newer})))
        .await;
    let (_, join) = app.post_event(&s, "join", 4.0, json!({})).await;
    assert_eq!(join["icon"], newer);
}
