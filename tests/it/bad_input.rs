//! Bad input (docs/api.md, "Limits and bad input"): malformed or oversized bodies, invalid prompts,
//! wrong tokens, bad stats queries and event bursts each get a clear error
//! and change nothing that is stored.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const PROMPTS: &str = "/api/1/interactive_prompts";
const START: &str = "/api/1/interactive_prompts/start_session";
const EVENT: &str = "/api/1/interactive_prompts/events/like";
const SEARCH: &str = "/api/1/interactive_prompts/events/search";
const AUD: &str = "chorus-interactive-prompt";

/// A response: status, JSON body (Null if none) and `Retry-After`.
struct Reply {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

impl Reply {
    /// Asserts the status and the error `type`; returns the message.
    fn error(&self, status: u16, kind: &str, context: &str) -> &str {
        assert_eq!(self.status, status, "{context}: {}", self.body);
        assert_eq!(self.body["type"], kind, "{context}");
        let message = self.body["message"].as_str().unwrap();
        assert!(!message.is_empty(), "{context}: empty message");
        message
    }
}

fn bearer(token: &str) -> String {
    format!("bearer {token}")
}

/// Sends `body` as raw JSON text with `auth` (if not empty) as `Authorization`.
async fn raw(app: &TestApp, method: Method, path: &str, auth: &str, body: &str) -> Reply {
    let mut req = app.http.request(method, app.url(path));
    if !auth.is_empty() {
        req = req.header("authorization", auth);
    }
    let req = req.header("content-type", "application/json");
    let resp = req.body(body.to_owned()).send().await.expect("request");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let retry_after = headers
        .get("retry-after")
        .map(|v| v.to_str().unwrap().into());
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        body,
        retry_after,
    }
}

async fn post(app: &TestApp, path: &str, auth: &str, body: &str) -> Reply {
    raw(app, Method::POST, path, auth, body).await
}

fn signed(claims: Value, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

/// A prompt token like the server's, with a chosen subject, key, audience and lifetime.
fn prompt_token(sub: &str, secret: &str, aud: &str, exp_in: i64) -> String {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = json!({"sub": sub, "iss": "chorus", "aud": aud, "iat": now, "exp": now + exp_in});
    signed(claims, secret)
}

/// The uids of the events of the session's prompt.
async fn event_uids(app: &TestApp, s: &Session) -> Vec<String> {
    let (status, page) = app.search(s, json!({"limit": 5000})).await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap().iter();
    items.map(|e| e["uid"].as_str().unwrap().into()).collect()
}

/// `chorus check` passes and counts this many prompts.
fn check_passes_with_prompts(app: &TestApp, prompts: usize) {
    let (code, out) = app.run_command("check");
    let summary = format!("{prompts} prompts, 0 inconsistent");
    assert!(code == 0 && out.contains(&summary), "{out}");
}

/// A like body for session `s` with `prompt_time` as raw JSON text.
fn event_body(s: &Session, prompt_time: &str) -> String {
    let (p, j, u) = (&s.prompt_uid, &s.jwt, &s.session_uid);
    format!(
        r#"{{"interactive_prompt_uid": "{p}", "interactive_prompt_jwt": "{j}", "session_uid": "{u}", "prompt_time": {prompt_time}, "data": {{}}}}"#
    )
}

/// A server with one prompt (of `prompt`'s style) and one joined session.
async fn joined(prompt: Value) -> (TestApp, Session) {
    let app = spawn_app().await;
    let uid = app.create_prompt(prompt, 60).await;
    let s = app.start_session(&uid, "ada").await;
    assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
    (app, s)
}

#[tokio::test]
async fn malformed_bodies_are_422_saying_where_and_store_nothing() {
    let (app, s) = joined(numeric_prompt()).await;
    let before = event_uids(&app, &s).await;
    let full = event_body(&s, "1.0");
    let valid: Value = serde_json::from_str(&full).unwrap();
    let with = |key: &str, v: Value| {
        let mut b = valid.clone();
        b[key] = v;
        b.to_string()
    };
    let without = |key: &str| {
        let mut b = valid.clone();
        b.as_object_mut().unwrap().remove(key);
        b.to_string()
    };
    // Every field in order, but as an array instead of an object.
    let order = "interactive_prompt_uid interactive_prompt_jwt session_uid prompt_time data";
    let as_array = Value::Array(order.split(' ').map(|f| valid[f].clone()).collect()).to_string();
    // (event route, body, words the message must contain)
    #[rustfmt::skip]
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("like", full[..full.len() / 2].to_owned(), &["line 1"]),
        ("like", "hello".into(), &["line 1", "column 1"]),
        ("like", String::new(), &["EOF"]),
        ("like", as_array, &["object"]),
        ("like", " []".into(), &["object"]),
        ("like", r#""a string""#.into(), &["string"]),
        ("like", "42".into(), &["integer"]),
        ("like", with("prompt_time", json!("5")), &["prompt_time"]),
        ("like", with("session_uid", json!(5)), &["session_uid"]),
        ("like", with("data", json!("x")), &["data"]),
        ("like", with("data", json!({"rating": 3})), &["data", "rating"]),
        ("like", with("extra", json!(1)), &["extra"]),
        ("like", without("session_uid"), &["session_uid"]),
        ("like", without("data"), &["data"]),
        ("like", without("interactive_prompt_jwt"), &["interactive_prompt_jwt"]),
        ("like", event_body(&s, "NaN"), &["prompt_time"]),
        ("like", event_body(&s, "Infinity"), &["prompt_time"]),
        ("like", event_body(&s, "-Infinity"), &["prompt_time"]),
        ("like", event_body(&s, "1e400"), &["prompt_time"]),
        ("respond_numeric_prompt", with("data", json!({"rating": "7"})), &["data"]),
        ("respond_numeric_prompt", with("data", json!({"rating": 7.5})), &["data"]),
        ("respond_numeric_prompt", with("data", json!({})), &["rating"]),
    ];
    let user = bearer(&s.user_token);
    for (route, body, words) in cases {
        let path = format!("/api/1/interactive_prompts/events/{route}");
        let reply = post(&app, &path, &user, &body).await;
        let message = reply.error(422, "unprocessable_entity", &body);
        let missing: Vec<_> = words.iter().filter(|w| !message.contains(*w)).collect();
        assert!(missing.is_empty(), "{body}: {message:?} lacks {missing:?}");
    }
    // The other routes parse as strictly.
    let (admin, jwt) = (bearer(ADMIN_TOKEN), bearer(&s.jwt));
    #[rustfmt::skip]
    let others = [
        (PROMPTS, &admin, r#"{"prompt": {"style": "press", "text": "x"}, "duration_seconds": 60, "x": 1}"#),
        (PROMPTS, &admin, r#"{"prompt": {"style": "press", "text": "x"}, "duration_seconds": "60"}"#),
        (PROMPTS, &admin, r#"{"prompt": {"style": "press", "text": "x"}, "duration_seconds": 1.5}"#),
        (PROMPTS, &admin, r#"{"prompt": {"style": "press"}, "duration_seconds": 60}"#),
        (PROMPTS, &admin, r#"[{"style": "press", "text": "x"}, 60]"#),
        (START, &user, r#"{"interactive_prompt_uid": 7}"#),
        (START, &user, r#"{"interactive_prompt_uid": "ip_x""#),
        (SEARCH, &jwt, r#"{"filters": {"prompt_time": {"operator": "eq", "value": NaN}}}"#),
        (SEARCH, &jwt, r#"{"limit": "ten"}"#),
    ];
    for (path, auth, body) in others {
        let reply = post(&app, path, auth, body).await;
        reply.error(422, "unprocessable_entity", body);
    }
    assert_eq!(event_uids(&app, &s).await, before);
    check_passes_with_prompts(&app, 1);
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_and_store_nothing() {
    let (app, s) = joined(press_prompt()).await;
    let before = event_uids(&app, &s).await;
    // Valid JSON padded with whitespace: only its size can make it fail.
    let pad =
        |json: &str, kib: usize| format!("{}{}{}", &json[..1], " ".repeat(kib * 1024), &json[1..]);
    let create = json!({"prompt": press_prompt(), "duration_seconds": 60}).to_string();
    let start = json!({"interactive_prompt_uid": s.prompt_uid}).to_string();
    let (admin, user, jwt) = (bearer(ADMIN_TOKEN), bearer(&s.user_token), bearer(&s.jwt));
    let routes = [
        (PROMPTS, &admin, create),
        (EVENT, &user, event_body(&s, "1.0")),
        (START, &user, start),
        (SEARCH, &jwt, "{}".to_owned()),
    ];
    for (path, auth, body) in &routes {
        let reply = post(&app, path, auth, &pad(body, 70)).await;
        reply.error(413, "payload_too_large", path);
    }
    assert_eq!(event_uids(&app, &s).await, before);
    check_passes_with_prompts(&app, 1);

    // Just under the limit, the same bodies are accepted.
    for (path, auth, body) in &routes {
        let reply = post(&app, path, auth, &pad(body, 60)).await;
        assert!((200..300).contains(&reply.status), "{path}: {}", reply.body);
    }
    assert_eq!(event_uids(&app, &s).await.len(), before.len() + 1);
    check_passes_with_prompts(&app, 2);
}

#[tokio::test]
async fn invalid_prompts_are_422_naming_the_field() {
    let app = spawn_app().await;
    let numeric = |min: i64, max: i64, step: i64| json!({"style": "numeric", "text": "Rate", "min": min, "max": max, "step": step});
    let color = |colors: &[&str]| json!({"style": "color", "text": "Colour?", "colors": colors});
    let word = |options: &[&str]| json!({"style": "word", "text": "Word?", "options": options});
    let press = |text: &str| json!({"style": "press", "text": text});
    let (long_text, long_word) = ("x".repeat(76), "y".repeat(46));
    let nine = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    #[rustfmt::skip]
    let cases = [
        (press("   "), 60, "prompt.text"),
        (press(&long_text), 60, "prompt.text"),
        (json!({"style": "numeric", "text": "", "min": 1, "max": 2, "step": 1}), 60, "prompt.text"),
        (numeric(5, 4, 1), 60, "prompt.min"),
        (numeric(1, 10, 2), 60, "prompt.step"),
        (numeric(1, 10, 0), 60, "prompt.step"),
        (numeric(0, 11, 1), 60, "prompt.max"),
        (numeric(i64::MIN, i64::MAX, 1), 60, "prompt.max"),
        (color(&["#FF0000"]), 60, "prompt.colors"),
        (color(&["#FF0000"; 9]), 60, "prompt.colors"),
        (color(&["#FF0000", "#GG0000"]), 60, "prompt.colors[1]"),
        (color(&["red", "#00FF00"]), 60, "prompt.colors[0]"),
        (color(&["#FF0000", "#FF00000"]), 60, "prompt.colors[1]"),
        (word(&["a"]), 60, "prompt.options"),
        (word(&nine), 60, "prompt.options"),
        (word(&["ok", &long_word]), 60, "prompt.options[1]"),
        (word(&["  ", "ok"]), 60, "prompt.options[0]"),
        (json!({"style": "slider", "text": "Slide"}), 60, "slider"),
        (json!({"text": "No style"}), 60, "style"),
        (numeric(1, 10, 1), 0, "duration_seconds"),
        (numeric(1, 10, 1), 86_401, "duration_seconds"),
        (numeric(1, 10, 1), -5, "duration_seconds"),
    ];
    let admin = bearer(ADMIN_TOKEN);
    for (prompt, duration, field) in cases {
        let body = json!({"prompt": prompt, "duration_seconds": duration}).to_string();
        let reply = post(&app, PROMPTS, &admin, &body).await;
        let message = reply.error(422, "unprocessable_entity", &body);
        assert!(
            message.contains(field),
            "{body}: {message:?} does not name {field}"
        );
    }
    check_passes_with_prompts(&app, 0);

    // The edges of every range are fine; text is trimmed, colours upper-cased.
    let text_75 = format!("  {}  ", "t".repeat(75));
    let word_45 = format!(" {} ", "y".repeat(45));
    let accepted = [
        (press(&text_75), 1),
        (numeric(-5, 5, 1), 86_400),
        (numeric(3, 3, 1), 60),
        (color(&["#000000"; 8]), 60),
        (word(&[&word_45, "a"]), 60),
        (word(&nine[..8]), 60),
        (color(&["#ff00aa", "#00FF00"]), 60),
    ];
    let mut uid = String::new();
    for (prompt, duration) in accepted {
        uid = app.create_prompt(prompt, duration).await;
    }
    let read = raw(&app, Method::GET, &format!("{PROMPTS}/{uid}"), &admin, "").await;
    assert_eq!(read.body["prompt"]["colors"], json!(["#FF00AA", "#00FF00"]));
    check_passes_with_prompts(&app, 7);
}

#[tokio::test]
async fn wrong_tokens_are_401_or_403_on_every_route() {
    let (app, s) = joined(numeric_prompt()).await;
    let prompt = s.prompt_uid.clone();
    let other_prompt = app.create_prompt(press_prompt(), 60).await;
    let other = app.start_session(&other_prompt, "ada").await;
    let before = event_uids(&app, &s).await;
    let now = jsonwebtoken::get_current_timestamp();
    let user_claims = |iat: u64, exp: u64| json!({"sub": "ada", "iat": iat, "exp": exp});
    let expired_user = signed(user_claims(now - 7200, now - 3600), USER_SECRET);
    let user_by_wrong_key = signed(user_claims(now, now + 3600), PROMPT_SECRET);
    let expired_prompt = prompt_token(&prompt, PROMPT_SECRET, AUD, -3600);
    let prompt_by_wrong_key = prompt_token(&prompt, USER_SECRET, AUD, 600);
    let prompt_wrong_aud = prompt_token(&prompt, PROMPT_SECRET, "someone-else", 600);
    let (admin, user, jwt) = (ADMIN_TOKEN.to_owned(), s.user_token.clone(), s.jwt.clone());

    let every_route: Vec<(String, u16, &str)> = vec![
        (String::new(), 401, "not_set"),
        (format!("Basic {ADMIN_TOKEN}"), 401, "bad_format"),
        (ADMIN_TOKEN.to_owned(), 401, "bad_format"),
        ("bearer ".to_owned(), 401, "bad_format"),
        (bearer("not-a-token"), 403, "invalid"),
        (bearer(&format!("{ADMIN_TOKEN}x")), 403, "invalid"),
    ];
    let not_admin = [&user, &jwt];
    let not_users = [&admin, &jwt, &expired_user, &user_by_wrong_key];
    let bad_prompt = [&expired_prompt, &prompt_by_wrong_key, &prompt_wrong_aud];
    let not_prompts = [[&admin, &user].as_slice(), &bad_prompt].concat();
    // A token for another prompt does not open this one's stats either.
    let not_this_prompt = [not_prompts.as_slice(), &[&other.jwt]].concat();
    let stats = format!("/api/1/interactive_prompts/events/stats?uid={prompt}&bin=0");
    let timeline = format!("/api/1/interactive_prompts/events/stats/timeline?uid={prompt}");
    let read = format!("{PROMPTS}/{prompt}");
    let create = json!({"prompt": press_prompt(), "duration_seconds": 60}).to_string();
    let start = json!({"interactive_prompt_uid": prompt}).to_string();
    let event = event_body(&s, "1.0");
    let routes: [(Method, &str, &str, &[&String]); 8] = [
        (Method::POST, PROMPTS, &create, &not_admin),
        (Method::GET, &read, "", &not_admin),
        (Method::DELETE, &read, "", &not_admin),
        (Method::POST, START, &start, &not_users),
        (Method::POST, EVENT, &event, &not_users),
        (Method::GET, &stats, "", &not_this_prompt),
        (Method::GET, &timeline, "", &not_this_prompt),
        (Method::POST, SEARCH, "{}", &not_prompts),
    ];
    for (method, path, body, wrong) in routes {
        let wrong = wrong.iter().map(|t| (bearer(t), 403, "invalid"));
        for (auth, status, kind) in every_route.iter().cloned().chain(wrong) {
            let reply = raw(&app, method.clone(), path, &auth, body).await;
            reply.error(status, kind, &format!("{method} {path} with {auth:?}"));
        }
    }
    // The prompt token inside an event body is checked too.
    let junk = "junk".to_owned();
    for token in [bad_prompt.as_slice(), &[&other.jwt, &user, &junk]].concat() {
        let reply = post(&app, EVENT, &bearer(&user), &event.replace(&jwt, token)).await;
        reply.error(403, "invalid", token);
    }
    // Nothing changed, and the scheme is case-insensitive for the right tokens.
    let reply = raw(&app, Method::GET, &read, &format!("BEARER {admin}"), "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["deleted_at"],
        json!(null),
        "a refused DELETE deleted"
    );
    assert_eq!(event_uids(&app, &s).await, before);
    let reply = post(&app, EVENT, &format!("Bearer {user}"), &event).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    check_passes_with_prompts(&app, 2);
}

#[tokio::test]
async fn stats_of_bad_bins_and_unknown_prompts_are_refused() {
    let (app, s) = joined(numeric_prompt()).await; // 60 s: 63 bins
    let (app, prompt) = (&app, &s.prompt_uid);
    let get = |query: String, token: &str| {
        let (path, auth) = (
            format!("/api/1/interactive_prompts/events/{query}"),
            bearer(token),
        );
        async move { raw(app, Method::GET, &path, &auth, "").await }
    };
    let reply = get(format!("stats?uid={prompt}&bin=62"), &s.jwt).await;
    assert_eq!((reply.status, &reply.body["users"]), (200, &json!(1)));
    // `bin = bins` is the last bin, at the end of the prompt; above is 404.
    let reply = get(format!("stats?uid={prompt}&bin=63"), &s.jwt).await;
    assert_eq!((reply.status, &reply.body["users"]), (200, &json!(1)));
    assert_eq!(reply.body["prompt_time"], json!(60.0));
    let reply = get(format!("stats?uid={prompt}&bin=64"), &s.jwt).await;
    reply.error(404, "bin_not_found", "bin 64");
    for query in ["bin=-1", "bin=abc", "bin=1.5", "bin=", "bin", ""] {
        let reply = get(format!("stats?uid={prompt}&{query}"), &s.jwt).await;
        reply.error(422, "unprocessable_entity", query);
    }
    let reply = get("stats?bin=0".into(), &s.jwt).await;
    reply.error(422, "unprocessable_entity", "no uid");
    // A valid token for a prompt that does not exist.
    let unknown = "ip_AAAAAAAAAAAAAAAAAAAAAA";
    let token = prompt_token(unknown, PROMPT_SECRET, AUD, 600);
    for query in [
        format!("stats?uid={unknown}&bin=0"),
        format!("stats/timeline?uid={unknown}"),
    ] {
        let reply = get(query.clone(), &token).await;
        reply.error(404, "interactive_prompt_not_found", &query);
    }
    let reply = post(app, SEARCH, &bearer(&token), "{}").await;
    reply.error(404, "interactive_prompt_not_found", "search");
    assert_eq!(event_uids(app, &s).await.len(), 1);
    check_passes_with_prompts(app, 1);
}

#[tokio::test]
async fn bursts_beyond_the_session_rate_get_429_with_retry_after() {
    let app = spawn_app_with(&["--session-event-rate", "5"]).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let s = app.start_session(&prompt, "ada").await;
    let calm = app.start_session(&prompt, "bob").await;
    assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
    let (user, mut accepted, mut refused) = (bearer(&s.user_token), vec![0.0], 0);
    // The bucket refills while the posts are sent, so how many must be
    // refused depends on how long sending them took (a loaded machine is
    // slow): at most the burst of 5 plus 5 a second get through.
    let started = std::time::Instant::now();
    for t in 1..=15 {
        let reply = post(&app, EVENT, &user, &event_body(&s, &format!("{t}.0"))).await;
        if reply.status == 201 {
            accepted.push(t as f64);
            continue;
        }
        reply.error(429, "too_many_requests", &format!("like at {t}"));
        let wait: u64 = reply.retry_after.expect("Retry-After").parse().unwrap();
        assert!((1..=5).contains(&wait), "Retry-After {wait}");
        refused += 1;
    }
    let allowed = 5 + (5.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    assert!(
        accepted.len() <= allowed,
        "{accepted:?} got through ({allowed} allowed)"
    );
    assert!(
        refused >= 16usize.saturating_sub(allowed),
        "only {refused} of 15 were refused"
    );
    assert!(accepted.len() >= 4, "no burst allowance: {accepted:?}");
    // Another session is not slowed down by this one.
    assert_eq!(app.post_event(&calm, "join", 0.0, json!({})).await.0, 201);
    // Exactly the accepted events were stored.
    let only_s = json!({"session_uid": {"operator": "eq", "value": s.session_uid}});
    let (_, page) = app.search(&s, json!({"filters": only_s})).await;
    let items = page["items"].as_array().unwrap().iter();
    let times: Vec<f64> = items.map(|e| e["prompt_time"].as_f64().unwrap()).collect();
    assert_eq!(times, accepted);
    // After waiting, the session may post again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.post_event(&s, "like", 20.0, json!({})).await.0, 201);
    check_passes_with_prompts(&app, 1);
}
