//! Rate limits keyed by who asks (docs/operations.md, "Limits"): nobody can
//! spend another user's allowance, invented session uids cost their sender,
//! `start_session` is limited per user, reads per prompt token. Each test
//! sets its own limits (the suite's servers run without them).

use serde_json::json;

use crate::support::*;

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn another_users_session_uid_cannot_spend_your_allowance() {
    let app = spawn_app_with(&["--session-event-rate", "3", "--user-event-rate", "1000"]).await;
    let prompt = app.create_prompt(press_prompt(), 60).await;
    let alice = app.start_session(&prompt, "alice").await;
    let mallory = app.start_session(&prompt, "mallory").await;
    // Mallory posts on Alice's session (its uid is visible to every viewer).
    let forged = Session {
        session_uid: alice.session_uid.clone(),
        ..mallory.clone()
    };
    for i in 0..20 {
        let (status, body) = app.post_event(&forged, "like", i as f64, json!({})).await;
        assert!(status == 404 || status == 409, "{status} {body}");
    }
    // Alice still has her whole allowance: three events, then 429.
    assert_eq!(app.post_event(&alice, "join", 0.0, json!({})).await.0, 201);
    assert_eq!(app.post_event(&alice, "like", 1.0, json!({})).await.0, 201);
    assert_eq!(app.post_event(&alice, "like", 2.0, json!({})).await.0, 201);
    let (status, body) = app.post_event(&alice, "like", 3.0, json!({})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["type"], "too_many_requests");
}

#[tokio::test]
async fn invented_session_uids_cost_their_sender() {
    // One event a second per user: each check below is two requests apart,
    // so a slow machine refills the bucket only if a request takes a second.
    let app = spawn_app_with(&["--session-event-rate", "0", "--user-event-rate", "1"]).await;
    let prompt = app.create_prompt(press_prompt(), 60).await;
    let eve = app.start_session(&prompt, "eve").await;
    let invented = |i: usize| Session {
        session_uid: format!("ips_invented{i}"),
        ..eve.clone()
    };
    // Invented uids spend Eve's allowance: one is refused for the session
    // it names (404/409), the next straight after is limited.
    let mut limited = false;
    for i in 0..5 {
        let (status, body) = app
            .post_event(&invented(2 * i), "join", 0.0, json!({}))
            .await;
        assert!(
            matches!(status.as_u16(), 404 | 409 | 429),
            "{status} {body}"
        );
        let (status, body) = app
            .post_event(&invented(2 * i + 1), "join", 0.0, json!({}))
            .await;
        if status == 429 {
            limited = true;
            break;
        }
        assert!(matches!(status.as_u16(), 404 | 409), "{status} {body}");
    }
    assert!(limited, "invented uids were never limited");
    // Eve's own session is limited too: the allowance is hers, whatever uid.
    let mut own_limited = false;
    for i in 0..5 {
        let (status, body) = app
            .post_event(&invented(100 + i), "join", 0.0, json!({}))
            .await;
        assert!(
            matches!(status.as_u16(), 404 | 409 | 429),
            "{status} {body}"
        );
        let (status, body) = app.post_event(&eve, "like", i as f64, json!({})).await;
        if status == 429 {
            own_limited = true;
            break;
        }
        assert!(matches!(status.as_u16(), 201 | 409), "{status} {body}");
    }
    assert!(
        own_limited,
        "invented uids did not spend Eve's own allowance"
    );
    // Others are not.
    let bob = app.start_session(&prompt, "bob").await;
    assert_eq!(app.post_event(&bob, "join", 0.0, json!({})).await.0, 201);
}

#[tokio::test]
async fn sessions_started_are_limited_per_user() {
    let app = spawn_app_with(&["--session-start-rate", "3"]).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    for _ in 0..3 {
        app.start_session(&prompt, "busy").await;
    }
    let resp = app
        .http
        .post(app.url("/api/1/interactive_prompts/start_session"))
        .bearer_auth(user_token("busy", None))
        .json(&json!({"interactive_prompt_uid": prompt}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    // Three a minute: the next one in about twenty seconds.
    assert!(
        (1..=20).contains(&retry_after(&resp)),
        "{:?}",
        resp.headers()
    );
    app.start_session(&prompt, "calm").await;
}

#[tokio::test]
async fn reads_are_limited_per_prompt_token() {
    let app = spawn_app_with(&["--read-rate", "3"]).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let reader = app.start_session(&prompt, "reader").await;
    let other = app.start_session(&prompt, "other").await;
    // Minted in the same second for the same prompt, yet distinct.
    assert_ne!(reader.jwt, other.jwt);
    assert_eq!(app.stats(&reader, 0).await.0, 200);
    assert_eq!(app.timeline(&reader).await.0, 200);
    assert_eq!(app.search(&reader, json!({})).await.0, 200);
    let (status, body) = app.stats(&reader, 0).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(app.timeline(&reader).await.0, 429);
    assert_eq!(app.search(&reader, json!({})).await.0, 429);
    // Another token is not affected, nor is an invalid one counted.
    assert_eq!(app.stats(&other, 0).await.0, 200);
    let forged = Session {
        jwt: "not.a.token".into(),
        ..reader.clone()
    };
    assert_eq!(app.stats(&forged, 0).await.0, 403);
}
