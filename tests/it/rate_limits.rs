//! Rate limits keyed by who asks (docs/operations.md, "Limits"): nobody can
//! spend another user's allowance, invented session uids cost their sender,
//! `start_session` is limited per user, and so are reads, whatever prompt
//! tokens the user holds. Each test sets its own limits (the suite's
//! servers run without them).

use std::time::Instant;

use futures::future::join_all;
use reqwest::StatusCode;
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
async fn reads_are_limited_per_user() {
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
    assert_eq!(body["type"], "too_many_requests");
    assert_eq!(app.timeline(&reader).await.0, 429);
    assert_eq!(app.search(&reader, json!({})).await.0, 429);
    // Another user is not affected, nor is an invalid token counted.
    assert_eq!(app.stats(&other, 0).await.0, 200);
    let forged = Session {
        jwt: "not.a.token".into(),
        ..reader.clone()
    };
    assert_eq!(app.stats(&forged, 0).await.0, 403);
    // Tokens of the admin route name no user: each has its own allowance.
    for _ in 0..2 {
        let url = app.url(&format!("/api/1/interactive_prompts/{prompt}/prompt_token"));
        let (status, minted) = app.send(app.http.post(url).bearer_auth(ADMIN_TOKEN)).await;
        assert_eq!(status, 200, "{minted}");
        let admin = Session {
            jwt: minted["jwt"].as_str().unwrap().into(),
            ..reader.clone()
        };
        assert_eq!(app.stats(&admin, 0).await.0, 200);
    }
}

/// One read of `kind` (stats, timeline, search, who is here) with `s`'s
/// tokens; its status.
async fn read(app: &TestApp, s: &Session, kind: usize) -> StatusCode {
    match kind {
        0 => app.stats(s, 0).await.0,
        1 => app.timeline(s).await.0,
        2 => app.search(s, json!({})).await.0,
        _ => {
            let body = json!({"uid": s.prompt_uid, "jwt": s.jwt, "prompt_time": 0, "limit": 3});
            let url = app.url("/api/1/interactive_prompts/profile_pictures");
            let req = app.http.post(url).bearer_auth(&s.user_token).json(&body);
            app.send(req).await.0
        }
    }
}

#[tokio::test]
async fn many_prompt_tokens_of_one_user_share_one_read_allowance() {
    // One read a second per user, burst 1.
    let app = spawn_app_with(&["--read-rate", "1"]).await;
    let prompts = [
        app.create_prompt(numeric_prompt(), 60).await,
        app.create_prompt(press_prompt(), 60).await,
    ];
    // Every session started gives the user another prompt token.
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(app.start_session(&prompts[i % 2], "hoarder").await);
    }
    let started = Instant::now();
    let on = &app;
    let reads = tokens
        .iter()
        .flat_map(|s| (0..4).map(move |kind| read(on, s, kind)));
    let statuses = join_all(reads).await;
    let seconds = started.elapsed().as_secs_f64();
    let served = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(served + limited, 32, "{statuses:?}");
    // At most the burst and the refill while they ran: per token, each of
    // the eight would have had its own burst.
    println!("{served} of 32 reads served in {seconds:.2} s");
    assert!(served >= 1, "{statuses:?}");
    assert!(
        served as f64 <= 1.0 + seconds.floor() + 1.0,
        "{served} reads served in {seconds:.2} s at one a second"
    );
    // Another user still has theirs.
    let calm = app.start_session(&prompts[0], "calm").await;
    assert_eq!(read(&app, &calm, 3).await, 200);
}
