//! The admin's prompt token (docs/api.md, "Prompt tokens"): what the admin
//! console reads a prompt with, without taking it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// `POST …/{uid}/prompt_token` with `auth` as the bearer token (none if `None`).
async fn mint(app: &TestApp, uid: &str, auth: Option<&str>) -> (StatusCode, Value) {
    let mut req = app
        .http
        .post(app.url(&format!("/api/1/interactive_prompts/{uid}/prompt_token")));
    if let Some(token) = auth {
        req = req.bearer_auth(token);
    }
    app.send(req).await
}

/// A reader of `uid` holding `jwt` (the support's calls take a session).
fn reader(uid: &str, jwt: &str) -> Session {
    Session {
        prompt_uid: uid.to_owned(),
        session_uid: String::new(),
        jwt: jwt.to_owned(),
        user_token: String::new(),
        sub: String::new(),
    }
}

#[tokio::test]
async fn the_admin_reads_a_prompt_with_a_minted_token_without_taking_it() {
    let app = spawn_app().await;
    let uid = app.create_prompt(word_prompt(), 30).await;
    let s = app.start_session(&uid, "ada").await;
    assert_eq!(
        app.post_event(&s, "join", 0.0, json!({})).await.0,
        StatusCode::CREATED
    );
    let (status, _) = app
        .post_event(&s, "respond_word_prompt", 1.0, json!({"index": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = mint(&app, &uid, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["uid"], uid.as_str());
    assert_eq!(body["expires_in"], 1800);
    let admin = reader(&uid, body["jwt"].as_str().unwrap());

    let (status, stats) = app.stats(&admin, 0).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(
        stats["users"], 1,
        "the admin is not counted among those here"
    );
    let (status, timeline) = app.timeline(&admin).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let (status, found) = app.search(&admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["items"].as_array().unwrap().len(), 2);

    // A deleted prompt is still read (and so still minted for).
    let (status, _) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/1/interactive_prompts/{uid}")))
                .bearer_auth(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = mint(&app, &uid, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .timeline(&reader(&uid, body["jwt"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_minted_token_grants_its_prompt_only_and_bad_requests_change_nothing() {
    let app = spawn_app().await;
    let one = app.create_prompt(numeric_prompt(), 20).await;
    let other = app.create_prompt(press_prompt(), 20).await;
    let (_, body) = mint(&app, &one, Some(ADMIN_TOKEN)).await;
    let jwt = body["jwt"].as_str().unwrap();
    let (status, err) = app.timeline(&reader(&other, jwt)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["type"], "invalid");

    let (status, err) = mint(&app, &one, None).await;
    assert_eq!(
        (status, err["type"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("not_set"))
    );
    let (status, err) = mint(&app, &one, Some("not-the-admin-token")).await;
    assert_eq!(
        (status, err["type"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid"))
    );
    let (status, err) = mint(&app, &one, Some(&user_token("ada", None))).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a user token is not the admin's: {err}"
    );
    let (status, err) = mint(&app, "ip_AAAAAAAAAAAAAAAAAAAAAA", Some(ADMIN_TOKEN)).await;
    assert_eq!(
        (status, err["type"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    // Minting started no session: the prompt is as empty as it was.
    let (status, stats) = app.timeline(&reader(&one, jwt)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(stats["users"].as_array().unwrap().iter().all(|u| u == 0));
}
