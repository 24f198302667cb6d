//! The generated `/openapi.json` describes what is served: real responses
//! (created and read prompts of every style, a started session, events'
//! `201`s, stats, a timeline, search pages, errors) validate, with a JSON
//! Schema validator, against the schema the document gives for their route
//! and status; and a body that breaks its schema is caught, so the check is
//! not vacuous. (`scripts/schemathesis.sh` checks the same with generated
//! requests.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// The served document.
struct Document(Value);

impl Document {
    async fn fetch(app: &TestApp) -> Self {
        let (status, doc) = app.send(app.http.get(app.url("/openapi.json"))).await;
        assert_eq!(status, StatusCode::OK);
        Document(doc)
    }

    /// The schema of the `status` response of `method path`, as a JSON
    /// Schema document that resolves the document's `$ref`s.
    fn schema(&self, method: &Method, path: &str, status: StatusCode) -> Value {
        let op = &self.0["paths"][path][method.as_str().to_lowercase()];
        let mut response = &op["responses"][status.as_str()];
        if let Some(name) = response["$ref"].as_str() {
            response = self.0.pointer(name.trim_start_matches('#')).unwrap();
        }
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {path} documents no JSON {status} response"
        );
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": self.0["components"],
        })
    }

    /// Why `body`, answered with `status` to `method path`, does not match
    /// its documented schema (empty when it does).
    fn violations(&self, method: &Method, path: &str, status: StatusCode, body: &Value) -> String {
        let validator = jsonschema::validator_for(&self.schema(method, path, status))
            .expect("the document's schemas are valid JSON Schema");
        let errors = validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path()));
        errors.collect::<Vec<_>>().join("; ")
    }

    /// Asserts that `reply`, the answer to `method path`, has status
    /// `expected` and matches its documented schema.
    fn check(&self, method: Method, path: &str, expected: u16, reply: &(StatusCode, Value)) {
        let (status, body) = reply;
        assert_eq!(status.as_u16(), expected, "{method} {path}: {body}");
        let why = self.violations(&method, path, *status, body);
        assert!(why.is_empty(), "{method} {path} {status}: {why}\n{body}");
    }
}

const PROMPTS: &str = "/api/1/interactive_prompts";
const START: &str = "/api/1/interactive_prompts/start_session";
const EVENTS: &str = "/api/1/interactive_prompts/events";
const STATS: &str = "/api/1/interactive_prompts/events/stats";
const TIMELINE: &str = "/api/1/interactive_prompts/events/stats/timeline";
const SEARCH: &str = "/api/1/interactive_prompts/events/search";

/// Creates a prompt, checking the `201` and the admin's read of it.
async fn created(app: &TestApp, doc: &Document, prompt: Value) -> String {
    let body = json!({"prompt": prompt, "duration_seconds": 30});
    let req = app.http.post(app.url(PROMPTS)).bearer_auth(ADMIN_TOKEN);
    let reply = app.send(req.json(&body)).await;
    doc.check(Method::POST, PROMPTS, 201, &reply);
    let uid = reply.1["uid"].as_str().unwrap().to_owned();
    let read = app.http.get(app.url(&format!("{PROMPTS}/{uid}")));
    let reply = app.send(read.bearer_auth(ADMIN_TOKEN)).await;
    doc.check(Method::GET, &format!("{PROMPTS}/{{uid}}"), 200, &reply);
    uid
}

/// Posts `data` on `route` for `s`, checking the answer against the route's schema.
async fn posted(app: &TestApp, doc: &Document, s: &Session, route: &str, t: f64, data: Value) {
    let reply = app.post_event(s, route, t, data).await;
    doc.check(Method::POST, &format!("{EVENTS}/{route}"), 201, &reply);
}

#[tokio::test]
async fn served_responses_match_the_schemas_of_the_generated_document() {
    let app = spawn_app().await;
    let doc = Document::fetch(&app).await;
    let numeric = created(&app, &doc, numeric_prompt()).await;
    let color = created(&app, &doc, color_prompt()).await;
    created(&app, &doc, press_prompt()).await;
    created(&app, &doc, word_prompt()).await;

    let token = user_token("ada", Some("Ada"));
    let start = app.http.post(app.url(START)).bearer_auth(&token);
    let reply = app
        .send(start.json(&json!({"interactive_prompt_uid": numeric})))
        .await;
    doc.check(Method::POST, START, 201, &reply);
    let s = app.start_session(&numeric, "bo").await;
    posted(&app, &doc, &s, "join", 0.0, json!({})).await;
    posted(
        &app,
        &doc,
        &s,
        "respond_numeric_prompt",
        1.0,
        json!({"rating": 7}),
    )
    .await;
    posted(&app, &doc, &s, "like", 2.5, json!({})).await;
    posted(&app, &doc, &s, "leave", 3.0, json!({})).await;
    let c = app.start_session(&color, "cy").await;
    posted(&app, &doc, &c, "join", 0.0, json!({})).await;
    posted(
        &app,
        &doc,
        &c,
        "respond_color_prompt",
        1.0,
        json!({"index": 2}),
    )
    .await;

    for session in [&s, &c] {
        doc.check(Method::GET, STATS, 200, &app.stats(session, 1).await);
        doc.check(Method::GET, TIMELINE, 200, &app.timeline(session).await);
    }
    let first = app.search(&s, json!({"limit": 1})).await;
    assert!(first.1["next_page_sort"].is_array(), "{}", first.1);
    doc.check(Method::POST, SEARCH, 200, &first);
    let rest = json!({"sort": first.1["next_page_sort"], "limit": 10});
    doc.check(Method::POST, SEARCH, 200, &app.search(&s, rest).await);

    // Errors, each under its route's status.
    let again = app.post_event(&s, "join", 4.0, json!({})).await;
    doc.check(Method::POST, &format!("{EVENTS}/join"), 409, &again);
    doc.check(Method::GET, STATS, 404, &app.stats(&s, 10_000).await);
    let unsigned = app
        .send(app.http.post(app.url(SEARCH)).json(&json!({})))
        .await;
    doc.check(Method::POST, SEARCH, 401, &unsigned);
    let shapeless = app.search(&s, json!({"limit": "ten"})).await;
    doc.check(Method::POST, SEARCH, 422, &shapeless);
    let other = json!({"filters": {"interactive_prompt_uid": {"operator": "eq", "value": color}}});
    doc.check(Method::POST, SEARCH, 403, &app.search(&s, other).await);
    let gone = app.http.delete(app.url(&format!("{PROMPTS}/ip_nothing")));
    let reply = app.send(gone.bearer_auth(ADMIN_TOKEN)).await;
    doc.check(Method::DELETE, &format!("{PROMPTS}/{{uid}}"), 404, &reply);
    // Erasing a user (tests/it/erasure.rs): what was removed, then 404.
    let erase = app.url(&format!("/api/1/users/{}", s.sub));
    for status in [200, 404] {
        let reply = app
            .send(app.http.delete(&erase).bearer_auth(ADMIN_TOKEN))
            .await;
        doc.check(Method::DELETE, "/api/1/users/{sub}", status, &reply);
    }

    // And the check bites: a wrong type, a missing member, an undocumented
    // error `type`.
    let mut page = first.1.clone();
    page["items"][0]["evtype"] = json!("jump");
    let why = doc.violations(&Method::POST, SEARCH, StatusCode::OK, &page);
    assert!(why.contains("jump"), "{why}");
    let mut stats = app.stats(&s, 1).await.1;
    stats.as_object_mut().unwrap().remove("users");
    let why = doc.violations(&Method::GET, STATS, StatusCode::OK, &stats);
    assert!(why.contains("users"), "{why}");
    let mut conflict = again.1.clone();
    conflict["type"] = json!("not_a_rule");
    let why = doc.violations(&Method::POST, &format!("{EVENTS}/join"), again.0, &conflict);
    assert!(why.contains("not_a_rule"), "{why}");
}

#[tokio::test]
async fn named_prompt_responses_match_the_schemas_of_the_generated_document() {
    let app = spawn_app().await;
    let doc = Document::fetch(&app).await;
    let (list, one) = (
        "/api/1/interactive_prompts/public",
        "/api/1/interactive_prompts/public/{identifier}",
    );
    let start_public = "/api/1/interactive_prompts/start_public";
    let url = app.url(&format!("{list}/mood"));
    let body = json!({"prompt": color_prompt(), "duration_seconds": 30, "expires_seconds": 600});
    let put = app
        .send(app.http.put(&url).bearer_auth(ADMIN_TOKEN).json(&body))
        .await;
    doc.check(Method::PUT, one, 200, &put);
    let token = user_token("ada", Some("Ada"));
    let req = app.http.post(app.url(start_public)).bearer_auth(&token);
    doc.check(
        Method::POST,
        start_public,
        201,
        &app.send(req.json(&json!({"identifier": "mood"}))).await,
    );
    let read = app.send(app.http.get(&url).bearer_auth(ADMIN_TOKEN)).await;
    assert!(read.1["current_uid"].is_string(), "{}", read.1);
    doc.check(Method::GET, one, 200, &read);
    doc.check(
        Method::GET,
        list,
        200,
        &app.send(app.http.get(app.url(list)).bearer_auth(ADMIN_TOKEN))
            .await,
    );
    let bad = app
        .send(
            app.http
                .put(&url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"prompt": 1})),
        )
        .await;
    doc.check(Method::PUT, one, 422, &bad);
    doc.check(
        Method::DELETE,
        one,
        200,
        &app.send(app.http.delete(&url).bearer_auth(ADMIN_TOKEN))
            .await,
    );
    doc.check(
        Method::GET,
        one,
        404,
        &app.send(app.http.get(&url).bearer_auth(ADMIN_TOKEN)).await,
    );
    let req = app.http.post(app.url(start_public)).bearer_auth(&token);
    doc.check(
        Method::POST,
        start_public,
        404,
        &app.send(req.json(&json!({"identifier": "mood"}))).await,
    );
}
