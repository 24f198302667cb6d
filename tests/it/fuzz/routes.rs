//! The routes the fuzz tests hit, read from the server's `/openapi.json`,
//! with a valid body and a URL for each.

use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use super::fixture::{EVENTS, Fixture, NAMED};
use crate::support::*;

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("bearer {token}")).unwrap()
}

/// A route of the document, with the `Authorization` it needs.
#[derive(Clone)]
pub struct Route {
    /// GET, POST or DELETE.
    pub method: Method,
    /// The path template, e.g. `/api/1/interactive_prompts/{uid}`.
    pub path: String,
    /// `bearer <token>`, if it needs a token.
    pub authorization: Option<HeaderValue>,
}

impl Fixture {
    /// Every route of `/openapi.json` but the stream's.
    pub async fn routes(&self) -> Vec<Route> {
        let (status, doc) = self
            .app
            .send(self.app.http.get(self.app.url("/openapi.json")))
            .await;
        assert_eq!(status, 200);
        let mut routes = vec![];
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let scheme = op["security"][0]
                    .as_object()
                    .and_then(|s| s.keys().next().cloned());
                let s = self.session(path.trim_start_matches(EVENTS));
                let authorization = scheme.map(|name| match name.as_str() {
                    "admin_token" => bearer(ADMIN_TOKEN),
                    "user_token" => bearer(&s.user_token),
                    "prompt_token" => bearer(&s.jwt),
                    other => panic!("unknown security scheme {other}"),
                });
                let method = method.to_uppercase().parse().unwrap();
                routes.push(Route {
                    method,
                    path: path.clone(),
                    authorization,
                });
            }
        }
        routes.retain(|r| !r.path.contains("/live"));
        assert!(routes.len() >= 20, "{} routes", routes.len());
        routes
    }

    /// A body the route accepts (at least once).
    pub fn valid_body(&self, path: &str) -> Value {
        let s = self.session(path.trim_start_matches(EVENTS));
        let data = if path.ends_with("numeric_prompt") {
            json!({"rating": 5})
        } else if path.ends_with("color_prompt") || path.ends_with("word_prompt") {
            json!({"index": 1})
        } else {
            json!({})
        };
        match path {
            "/api/1/interactive_prompts" => {
                json!({"prompt": numeric_prompt(), "duration_seconds": 60})
            }
            "/api/1/interactive_prompts/start_session" => {
                json!({"interactive_prompt_uid": s.prompt_uid})
            }
            "/api/1/interactive_prompts/start_public" => json!({"identifier": NAMED}),
            "/api/1/interactive_prompts/events/search" => json!({
                "filters": {"evtype": {"operator": "neq", "value": "like"}, "prompt_time": {"operator": "bt", "value": [0, 10]}},
                "sort": [{"key": "prompt_time", "dir": "desc", "after": null}, {"key": "uid", "dir": "desc", "after": null}],
                "limit": 10}),
            "/api/1/dev/login" => json!({"name": "Fuzz"}),
            "/api/1/interactive_prompts/{uid}/prompt_token" => json!({}),
            "/api/1/interactive_prompts/profile_pictures" => json!({
                "uid": s.prompt_uid, "jwt": s.jwt, "prompt_time": 1.5, "limit": 5}),
            p if p.starts_with(EVENTS) => json!({
                "interactive_prompt_uid": s.prompt_uid, "interactive_prompt_jwt": s.jwt,
                "session_uid": s.session_uid, "prompt_time": 1.5, "data": data}),
            other => panic!("no valid body for {other}: add one so that it is fuzzed"),
        }
    }

    /// The URL of a route that takes a body: its path parameter, if any,
    /// is the fixture's prompt, so that the body is what is fuzzed.
    pub fn body_url(&self, route: &Route) -> String {
        match (route.path.find('{'), route.path.find('}')) {
            (Some(open), Some(close)) => {
                let uid = &self.session("respond_numeric_prompt").prompt_uid;
                let path = format!("{}{uid}{}", &route.path[..open], &route.path[close + 1..]);
                self.app.url(&path)
            }
            _ => self.app.url(&route.path),
        }
    }

    /// The URL of a bodiless route with `value` as its path parameter, or
    /// as its last query parameter (the whole query when `raw`).
    pub fn url(&self, route: &Route, value: &str, raw: bool) -> String {
        if let (Some(open), Some(close)) = (route.path.find('{'), route.path.find('}')) {
            let path = format!("{}{value}{}", &route.path[..open], &route.path[close + 1..]);
            return self.app.url(&path);
        }
        let (s, path) = (self.session("respond_numeric_prompt"), &route.path);
        let query = if raw {
            value.to_owned()
        } else if path.ends_with("/stats") {
            format!("uid={}&bin={value}", s.prompt_uid)
        } else if path.ends_with("/timeline") {
            format!("uid={value}")
        } else {
            format!("fuzz={value}")
        };
        self.app.url(&format!("{path}?{query}"))
    }
}
