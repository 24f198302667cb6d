//! The walk-through of the README, end to end.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn create_prompt_start_session_join_respond_and_read_stats() {
    let app = spawn_app().await;
    let prompt_uid = app.create_prompt(numeric_prompt(), 60).await;
    let s = app.start_session(&prompt_uid, "ada").await;

    let (status, join) = app.post_event(&s, "join", 0.0, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{join}");
    assert_eq!(join["type"], "join");
    assert_eq!(join["data"], json!({"name": "Name-ada"}));
    assert_eq!(join["icon"], json!(null));
    assert!(join["uid"].as_str().unwrap().starts_with("ipe_"));

    let (status, _) = app
        .post_event(&s, "respond_numeric_prompt", 2.0, json!({"rating": 7}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post_event(&s, "respond_numeric_prompt", 5.0, json!({"rating": 3}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, stats) = app.stats(&s, 62).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["users"], 1);
    assert_eq!(stats["numeric_active"]["3"], 1);
    assert_eq!(stats["numeric_active"]["7"], 0);
    let (_, early) = app.stats(&s, 2).await;
    assert_eq!(early["numeric_active"]["7"], 1);
    assert_eq!(early["press"], json!(null));

    let (status, timeline) = app.timeline(&s).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(timeline["bins"], 63);
    assert_eq!(timeline["users"].as_array().unwrap().len(), 63);

    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn a_users_display_name_follows_their_latest_token_that_has_one() {
    let app = spawn_app().await;
    let prompt_uid = app.create_prompt(numeric_prompt(), 60).await;
    for (name, expected) in [
        (Some("Ann"), "Ann"),
        (Some("Anna"), "Anna"),
        (None, "Anna"),
        (Some("Anna"), "Anna"),
    ] {
        let s = app.start_session_as(&prompt_uid, "ann", name).await;
        let (status, join) = app.post_event(&s, "join", 1.0, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{join}");
        assert_eq!(join["data"]["name"], expected, "token name {name:?}");
    }
}
