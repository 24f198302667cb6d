//! The event rules (docs/rules.md) and the auth errors (docs/api.md, "Auth"),
//! route by route: each
//! rule's status and error `type` on all eight event routes, which rule
//! decides when several fail (the first in table order), and that refused
//! requests write nothing.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const START: &str = "respond_press_prompt/start";
const END: &str = "respond_press_prompt/end";

/// Uids no prompt and no session has.
const NO_PROMPT: &str = "ip_AAAAAAAAAAAAAAAAAAAAAA";
const NO_SESSION: &str = "ips_AAAAAAAAAAAAAAAAAAAAAA";

// The error types of the event rules (docs/rules.md), shortened.
const NOT_FOUND: &str = "not_found";
const TIME: &str = "impossible_prompt_time";
const SESSION: &str = "session_not_found";
const STARTED: &str = "session_already_started";
const NOT_STARTED: &str = "session_not_started";
const ENDED: &str = "session_already_ended";
const LATER: &str = "session_has_later_event";
const SAME: &str = "session_has_same_event_at_same_time";
const EVENT: &str = "impossible_event";
const DATA: &str = "impossible_event_data";

/// Data that suits `route` on a prompt of its style (ratings 1–10, ≥ 2 options).
fn good(route: &str) -> Value {
    match route {
        "respond_numeric_prompt" => json!({"rating": 5}),
        "respond_color_prompt" | "respond_word_prompt" => json!({"index": 1}),
        _ => json!({}),
    }
}

/// Data that no prompt accepts on `route` (`{}` for routes without data).
fn bad(route: &str) -> Value {
    match route {
        "respond_numeric_prompt" => json!({"rating": 99}),
        "respond_color_prompt" | "respond_word_prompt" => json!({"index": 99}),
        _ => json!({}),
    }
}

/// The style a route needs, if any.
fn style_of(route: &str) -> Option<&'static str> {
    match route {
        "respond_numeric_prompt" => Some("numeric"),
        START | END => Some("press"),
        "respond_color_prompt" => Some("color"),
        "respond_word_prompt" => Some("word"),
        _ => None,
    }
}

/// One prompt of each style (the support module's examples) with its style name.
fn all_styles() -> [(&'static str, Value); 4] {
    [
        ("numeric", numeric_prompt()),
        ("press", press_prompt()),
        ("color", color_prompt()),
        ("word", word_prompt()),
    ]
}

async fn app() -> TestApp {
    spawn_app_with(&["--session-event-rate", "0"]).await
}

/// A prompt token as the server mints them, valid for `ttl` seconds (may be negative).
fn prompt_token(prompt_uid: &str, ttl: i64) -> String {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = json!({"sub": prompt_uid, "iss": "chorus", "aud": "chorus-interactive-prompt",
        "iat": now - 7200, "exp": now + ttl});
    sign(claims, PROMPT_SECRET)
}

fn sign(claims: Value, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

/// Posts an event and asserts it was stored; returns its uid.
async fn ok(app: &TestApp, s: &Session, route: &str, t: f64, data: Value) -> String {
    let (status, body) = app.post_event(s, route, t, data).await;
    assert_eq!(status, StatusCode::CREATED, "{route} at {t}: {body}");
    body["uid"].as_str().unwrap().to_owned()
}

/// Posts an event and asserts it was refused with error `ty`: 404 for
/// `not_found`, 409 for the other rules.
async fn no(app: &TestApp, s: &Session, route: &str, t: f64, data: Value, ty: &str) {
    let (got, body) = app.post_event(s, route, t, data.clone()).await;
    let status = if ty == NOT_FOUND { 404 } else { 409 };
    assert_eq!(
        (got.as_u16(), body["type"].as_str()),
        (status, Some(ty)),
        "{route} at {t} with {data}: {body}"
    );
}

/// Asserts that the prompt of `s` holds exactly the events `uids`.
async fn assert_stored(app: &TestApp, s: &Session, uids: &[String]) {
    let (status, body) = app.search(s, json!({"limit": 5000})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    let got: BTreeSet<&str> = items.iter().map(|e| e["uid"].as_str().unwrap()).collect();
    let want: BTreeSet<&str> = uids.iter().map(String::as_str).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn unknown_or_deleted_prompts_refuse_every_route_with_404_not_found() {
    let app = app().await;
    let p = app.create_prompt(numeric_prompt(), 10).await;
    let s = app.start_session(&p, "ada").await;
    let fresh = app.start_session(&p, "bob").await;
    let join = ok(&app, &s, "join", 1.0, json!({})).await;
    let mut unknown = s.clone();
    (unknown.prompt_uid, unknown.jwt) = (NO_PROMPT.into(), prompt_token(NO_PROMPT, 600));
    // Rule 1 comes before rules 2 (bad times), 3 (a session of another prompt) and 8.
    for route in EVENT_ROUTES {
        for t in [2.0, -1.0, 99.0] {
            no(&app, &unknown, route, t, good(route), NOT_FOUND).await;
        }
    }

    let url = app.url(&format!("/api/1/interactive_prompts/{p}"));
    let (status, body) = app
        .send(app.http.delete(url).bearer_auth(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for route in EVENT_ROUTES {
        for t in [2.0, -1.0, 99.0] {
            no(&app, &s, route, t, good(route), NOT_FOUND).await;
            no(&app, &fresh, route, t, bad(route), NOT_FOUND).await;
        }
    }
    let start = app
        .http
        .post(app.url("/api/1/interactive_prompts/start_session"));
    let body = json!({"interactive_prompt_uid": p});
    let (status, _) = app.send(start.bearer_auth(&s.user_token).json(&body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Reads still work, and show only the event accepted before the delete.
    assert_stored(&app, &s, &[join]).await;
}

#[tokio::test]
async fn prompt_times_outside_zero_to_the_duration_are_409_impossible_prompt_time() {
    let app = app().await;
    let p = app.create_prompt(press_prompt(), 10).await;
    let s = app.start_session(&p, "ada").await;
    let fresh = app.start_session(&p, "bob").await;
    let mut uids = vec![ok(&app, &s, "join", 0.0, json!({})).await];
    let mut unknown = s.clone();
    unknown.session_uid = NO_SESSION.into();
    for route in EVENT_ROUTES {
        for t in [-0.001, -10.0, 10.001, 1e12] {
            no(&app, &s, route, t, good(route), TIME).await;
            // Rule 2 comes before rules 3 and 4.
            no(&app, &unknown, route, t, good(route), TIME).await;
            no(&app, &fresh, route, t, good(route), TIME).await;
        }
    }
    // A number too large for a double is malformed: 422 before any rule.
    let raw = format!(
        r#"{{"interactive_prompt_uid":"{p}","interactive_prompt_jwt":"{}",
            "session_uid":"{}","prompt_time":1e400,"data":{{}}}}"#,
        s.jwt, s.session_uid
    );
    let req = app
        .http
        .post(app.url("/api/1/interactive_prompts/events/like"));
    let req = req
        .bearer_auth(&s.user_token)
        .header("content-type", "application/json");
    let (status, _) = app.send(req.body(raw)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Both ends of the range are allowed.
    uids.push(ok(&app, &s, "like", 0.0, json!({})).await);
    uids.push(ok(&app, &s, "like", 10.0, json!({})).await);
    uids.push(ok(&app, &s, "leave", 10.0, json!({})).await);
    assert_stored(&app, &s, &uids).await;
}

#[tokio::test]
async fn sessions_unknown_or_of_another_user_or_prompt_are_409_session_not_found() {
    let app = app().await;
    let a = app.create_prompt(numeric_prompt(), 10).await;
    let b = app.create_prompt(word_prompt(), 10).await;
    let ada_a = app.start_session(&a, "ada").await;
    let bob_a = app.start_session(&a, "bob").await;
    let bob_fresh = app.start_session(&a, "bob").await;
    let ada_b = app.start_session(&b, "ada").await;
    let mut uids = vec![
        ok(&app, &ada_a, "join", 1.0, json!({})).await,
        ok(&app, &bob_a, "join", 1.0, json!({})).await,
    ];
    let b_uid = ok(&app, &ada_b, "join", 1.0, json!({})).await;
    let as_ada = |session_uid: &str| Session {
        session_uid: session_uid.into(),
        ..ada_a.clone()
    };
    let cases = [
        as_ada(NO_SESSION),
        as_ada(&bob_a.session_uid),
        // Rule 3 comes before rule 4: a fresh session of another user.
        as_ada(&bob_fresh.session_uid),
        // Ada's own session, but of prompt B, posted under prompt A.
        as_ada(&ada_b.session_uid),
    ];
    for s in &cases {
        for route in EVENT_ROUTES {
            // 0.5 is before every event: rule 3 comes before 6; and before 8 and 9.
            no(&app, s, route, 2.0, good(route), SESSION).await;
            no(&app, s, route, 0.5, bad(route), SESSION).await;
        }
    }
    // The owners can still use their sessions: nothing was written to them.
    uids.push(ok(&app, &bob_a, "like", 2.0, json!({})).await);
    uids.push(ok(&app, &bob_fresh, "join", 2.0, json!({})).await);
    assert_stored(&app, &ada_a, &uids).await;
    assert_stored(&app, &ada_b, &[b_uid]).await;
}

#[tokio::test]
async fn a_session_takes_one_join_and_nothing_before_it() {
    let app = app().await;
    for (_, prompt) in all_styles() {
        let p = app.create_prompt(prompt, 10).await;
        let s = app.start_session(&p, "ada").await;
        // Rule 4 comes before rule 8 (other styles' routes) and rule 9 (bad data).
        for route in &EVENT_ROUTES[1..] {
            no(&app, &s, route, 1.0, good(route), NOT_STARTED).await;
            no(&app, &s, route, 1.0, bad(route), NOT_STARTED).await;
        }
        let mut uids = vec![ok(&app, &s, "join", 2.0, json!({})).await];
        // Same time (rule 7), earlier (rule 6) and later: rule 4 decides.
        for t in [2.0, 1.0, 5.0] {
            no(&app, &s, "join", t, json!({}), STARTED).await;
        }
        uids.push(ok(&app, &s, "leave", 3.0, json!({})).await);
        // After the leave, rule 4 still comes before rule 5.
        for t in [3.0, 4.0] {
            no(&app, &s, "join", t, json!({}), STARTED).await;
        }
        assert_stored(&app, &s, &uids).await;
    }
}

#[tokio::test]
async fn after_a_leave_every_event_is_409_session_already_ended() {
    let app = app().await;
    for (style, prompt) in all_styles() {
        let p = app.create_prompt(prompt, 10).await;
        let s = app.start_session(&p, "ada").await;
        let mut uids = vec![ok(&app, &s, "join", 1.0, json!({})).await];
        if style == "press" {
            // Leaving while pressing: a later start would break rule 9 too.
            uids.push(ok(&app, &s, START, 2.0, json!({})).await);
        }
        uids.push(ok(&app, &s, "leave", 5.0, json!({})).await);
        // Later, same time (rule 7 for a second leave), earlier (rule 6),
        // other styles (rule 8), bad data (rule 9): rule 5 decides.
        for route in &EVENT_ROUTES[1..] {
            for t in [6.0, 5.0, 2.0] {
                no(&app, &s, route, t, good(route), ENDED).await;
                no(&app, &s, route, t, bad(route), ENDED).await;
            }
        }
        assert_stored(&app, &s, &uids).await;
    }
}

#[tokio::test]
async fn earlier_events_are_409_later_event_and_repeats_at_one_time_are_409_same_event() {
    let app = app().await;
    for (style, prompt) in all_styles() {
        let p = app.create_prompt(prompt, 10).await;
        let s = app.start_session(&p, "ada").await;
        let own: Vec<&str> = EVENT_ROUTES
            .into_iter()
            .filter(|r| style_of(r) == Some(style))
            .collect();
        let mut uids = vec![
            ok(&app, &s, "join", 1.0, json!({})).await,
            ok(&app, &s, "like", 2.0, json!({})).await,
            ok(&app, &s, "like", 4.0, json!({})).await,
        ];
        // Different types may share a prompt time (press start and end too).
        for route in &own {
            uids.push(ok(&app, &s, route, 4.0, good(route)).await);
        }
        for route in &EVENT_ROUTES[1..] {
            // Rule 6 comes before rules 8 and 9.
            no(&app, &s, route, 3.999, good(route), LATER).await;
            no(&app, &s, route, 3.999, bad(route), LATER).await;
        }
        // A like already exists at 2: rule 6 comes before rule 7.
        no(&app, &s, "like", 2.0, json!({}), LATER).await;
        no(&app, &s, "like", 4.0, json!({}), SAME).await;
        // Rule 7 comes before rule 9: other or bad data, and a press end
        // while no longer pressing, at the time of one of the same type.
        for route in &own {
            no(&app, &s, route, 4.0, bad(route), SAME).await;
            if style == "color" || style == "word" {
                no(&app, &s, route, 4.0, json!({"index": 0}), SAME).await;
            }
        }
        // A leave at the same time as other types is fine.
        uids.push(ok(&app, &s, "leave", 4.0, json!({})).await);
        assert_stored(&app, &s, &uids).await;
    }
}

#[tokio::test]
async fn event_types_that_do_not_suit_the_style_are_409_impossible_event() {
    let app = app().await;
    for (style, prompt) in all_styles() {
        let p = app.create_prompt(prompt, 10).await;
        let s = app.start_session(&p, "ada").await;
        let uids = vec![ok(&app, &s, "join", 1.0, json!({})).await];
        let foreign = EVENT_ROUTES
            .into_iter()
            .filter(|r| style_of(r).is_some_and(|st| st != style));
        for route in foreign {
            no(&app, &s, route, 2.0, good(route), EVENT).await;
            // Rule 8 comes before rule 9 (press end while not pressing, too).
            no(&app, &s, route, 2.0, bad(route), EVENT).await;
        }
        assert_stored(&app, &s, &uids).await;
    }
}

#[tokio::test]
async fn data_that_does_not_suit_the_prompt_is_409_impossible_event_data_and_changes_nothing() {
    let app = app().await;
    // Steps after a join at 0, one every half second: `+` accepted, `-` refused.
    let plans = [
        (press_prompt(), "-end +start -start +end -end +start -start"),
        (
            numeric_prompt(),
            "+1 +10 -0 -11 --5 -9223372036854775807 --9223372036854775808",
        ),
        (color_prompt(), "+0 +2 --1 -3 -1000"),
        (word_prompt(), "+3 +0 --1 -4"),
    ];
    for (prompt, steps) in plans {
        let style = prompt["style"].as_str().unwrap().to_owned();
        let answer = EVENT_ROUTES
            .into_iter()
            .find(|r| style_of(r) == Some(&style));
        let p = app.create_prompt(prompt, 10).await;
        let s = app.start_session(&p, "ada").await;
        let mut uids = vec![ok(&app, &s, "join", 0.0, json!({})).await];
        for (k, step) in steps.split(' ').enumerate() {
            let (t, accept, v) = (1.0 + k as f64 / 2.0, &step[..1] == "+", &step[1..]);
            let (route, data) = match v.parse::<i64>() {
                Ok(n) if style == "numeric" => (answer.unwrap(), json!({ "rating": n })),
                Ok(n) => (answer.unwrap(), json!({ "index": n })),
                Err(_) => (if v == "start" { START } else { END }, json!({})),
            };
            if accept {
                uids.push(ok(&app, &s, route, t, data).await);
                continue;
            }
            let before = app.timeline(&s).await;
            no(&app, &s, route, t, data, DATA).await;
            assert_eq!(app.timeline(&s).await, before, "{route} at {t}");
        }
        assert_stored(&app, &s, &uids).await;
    }
}

#[tokio::test]
async fn auth_errors_come_first_on_every_route_and_write_nothing() {
    let app = app().await;
    let p = app.create_prompt(numeric_prompt(), 10).await;
    let other = app.create_prompt(press_prompt(), 10).await;
    let s = app.start_session(&p, "ada").await;
    let other_jwt = app.start_session(&other, "ada").await.jwt;
    let mut uids = vec![ok(&app, &s, "join", 0.0, json!({})).await];
    let now = jsonwebtoken::get_current_timestamp();
    let expired = json!({"sub": "ada", "iat": now - 7200, "exp": now - 3600});
    let expired_user = sign(expired, USER_SECRET);
    let forged_user = sign(
        json!({"sub": "ada", "iat": now, "exp": now + 3600}),
        "not-the-secret",
    );
    let bearer = |t: &str| Some(format!("bearer {t}"));
    let (user, jwt) = (bearer(&s.user_token), s.jwt.clone());
    // (Authorization header, prompt jwt, status, type)
    let cases: Vec<(Option<String>, String, u16, &str)> = vec![
        (None, jwt.clone(), 401, "not_set"),
        (Some("Basic x".into()), jwt.clone(), 401, "bad_format"),
        (Some("bearer".into()), jwt.clone(), 401, "bad_format"),
        (bearer("garbage"), jwt.clone(), 403, "invalid"),
        (bearer(&expired_user), jwt.clone(), 403, "invalid"),
        (bearer(&forged_user), jwt.clone(), 403, "invalid"),
        (bearer(&s.jwt), jwt.clone(), 403, "invalid"),
        (user.clone(), other_jwt, 403, "invalid"),
        (user.clone(), "garbage".into(), 403, "invalid"),
        (user.clone(), prompt_token(&p, -3600), 403, "invalid"),
    ];
    let before = app.timeline(&s).await;
    for route in EVENT_ROUTES {
        for (i, (auth, jwt, status, ty)) in cases.iter().enumerate() {
            // Auth is checked before rule 2 too.
            for t in [1.0, -1.0] {
                let body = json!({"interactive_prompt_uid": p, "interactive_prompt_jwt": jwt,
                    "session_uid": s.session_uid, "prompt_time": t, "data": good(route)});
                let url = app.url(&format!("/api/1/interactive_prompts/events/{route}"));
                let mut req = app.http.post(url).json(&body);
                if let Some(a) = auth {
                    req = req.header("authorization", a);
                }
                let (got, resp) = app.send(req).await;
                let got = (got.as_u16(), resp["type"].as_str());
                assert_eq!(got, (*status, Some(*ty)), "{route} case {i}: {resp}");
            }
        }
    }
    assert_eq!(app.timeline(&s).await, before);
    // Nothing was written: a like at 1 is still new. The scheme is case-insensitive.
    let body = json!({"interactive_prompt_uid": p, "interactive_prompt_jwt": s.jwt,
        "session_uid": s.session_uid, "prompt_time": 1.0, "data": {}});
    let req = app
        .http
        .post(app.url("/api/1/interactive_prompts/events/like"));
    let auth = format!("BEARER {}", s.user_token);
    let (status, body) = app
        .send(req.header("authorization", auth).json(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    uids.push(body["uid"].as_str().unwrap().to_owned());
    assert_stored(&app, &s, &uids).await;
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}
