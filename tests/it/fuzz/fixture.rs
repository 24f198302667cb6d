//! The server the fuzz tests run against, the routes they read from its
//! `/openapi.json`, and the invariants checked after a run.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const EVENTS: &str = "/api/1/interactive_prompts/events/";

/// A dev-mode server with a prompt of each style and one session per event
/// route (joined, except for `join`'s; pressing for the press end's).
pub struct Fixture {
    /// The server.
    pub app: TestApp,
    sessions: Vec<(&'static str, Session)>,
    created_prompts: AtomicUsize,
    created_events: AtomicUsize,
    prompts_before: usize,
    events_before: usize,
}

/// A route of the document, with the token it needs.
pub struct Route {
    /// GET, POST or DELETE.
    pub method: Method,
    /// The path template, e.g. `/api/1/interactive_prompts/{uid}`.
    pub path: String,
    /// The bearer token it needs, if any.
    pub token: Option<String>,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let app = spawn_app_with(&["--dev"]).await;
        let mut prompts = vec![];
        for p in [
            numeric_prompt(),
            press_prompt(),
            color_prompt(),
            word_prompt(),
        ] {
            prompts.push(app.create_prompt(p, 60).await);
        }
        let mut sessions = vec![];
        for route in [
            "join",
            "leave",
            "like",
            "respond_numeric_prompt",
            "respond_press_prompt/start",
            "respond_press_prompt/end",
            "respond_color_prompt",
            "respond_word_prompt",
        ] {
            let style = ["numeric", "press", "color", "word"]
                .iter()
                .position(|s| route.contains(s));
            let s = app
                .start_session(&prompts[style.unwrap_or(0)], &format!("fuzz-{route}"))
                .await;
            if route != "join" {
                assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
            }
            if route.ends_with("/end") {
                let pressed = app.post_event(&s, "respond_press_prompt/start", 1.0, json!({}));
                assert_eq!(pressed.await.0, 201);
            }
            sessions.push((route, s));
        }
        let mut f = Fixture {
            app,
            sessions,
            created_prompts: 0.into(),
            created_events: 0.into(),
            prompts_before: 0,
            events_before: 0,
        };
        (f.prompts_before, f.events_before) = f.stored();
        assert_eq!((f.prompts_before, f.events_before), (4, 8));
        f
    }

    pub fn session(&self, route: &str) -> &Session {
        let found = self.sessions.iter().find(|(r, _)| *r == route);
        &found.unwrap_or(&self.sessions[3]).1
    }

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
                let token = scheme.map(|name| match name.as_str() {
                    "admin_token" => ADMIN_TOKEN.to_owned(),
                    "user_token" => s.user_token.clone(),
                    "prompt_token" => s.jwt.clone(),
                    other => panic!("unknown security scheme {other}"),
                });
                let method = method.to_uppercase().parse().unwrap();
                routes.push(Route {
                    method,
                    path: path.clone(),
                    token,
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
            "/api/1/interactive_prompts/events/search" => json!({
                "filters": {"evtype": {"operator": "neq", "value": "like"}, "prompt_time": {"operator": "bt", "value": [0, 10]}},
                "sort": [{"key": "prompt_time", "dir": "desc", "after": null}, {"key": "uid", "dir": "desc", "after": null}],
                "limit": 10}),
            "/api/1/dev/login" => json!({"name": "Fuzz"}),
            p if p.starts_with(EVENTS) => json!({
                "interactive_prompt_uid": s.prompt_uid, "interactive_prompt_jwt": s.jwt,
                "session_uid": s.session_uid, "prompt_time": 1.5, "data": data}),
            other => panic!("no valid body for {other}: add one so that it is fuzzed"),
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

    /// Sends a request; a 5xx, a dropped connection or a non-JSON error
    /// fails. Returns whether it succeeded (2xx).
    pub async fn send(
        &self,
        route: &Route,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<bool, String> {
        let mut req = self.app.http.request(route.method.clone(), url);
        if let Some(t) = &route.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{}: no response: {e:?}", route.path))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("{}: body cut: {e}", route.path))?;
        if status >= 500 {
            return Err(format!("{} {}: {status} {text}", route.method, route.path));
        }
        if status >= 400 {
            let v: Value = serde_json::from_str(&text).unwrap_or_default();
            if !(v["type"].is_string() && v["message"].is_string()) {
                return Err(format!(
                    "{}: {status} is not a JSON error: {text:?}",
                    route.path
                ));
            }
        }
        let counter = match route.path.as_str() {
            "/api/1/interactive_prompts" => &self.created_prompts,
            p if p.starts_with(EVENTS) && !p.ends_with("/search") => &self.created_events,
            _ => return Ok(status < 300),
        };
        if status == 201 {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        Ok(status < 300)
    }

    /// Stored prompts and events, from `chorus check` (which must pass)
    /// and, for events, from searches through the API.
    fn stored(&self) -> (usize, usize) {
        let (code, out) = self.app.run_command("check");
        assert!(code == 0 && out.contains(" 0 inconsistent"), "{out}");
        let prompts = out.lines().filter(|l| l.starts_with("ok ")).count();
        let events = out
            .lines()
            .filter_map(|l| {
                l.split('(')
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .sum();
        (prompts, events)
    }

    async fn events_via_api(&self) -> usize {
        let mut total = 0;
        for route in [
            "respond_numeric_prompt",
            "respond_press_prompt/start",
            "respond_color_prompt",
            "respond_word_prompt",
        ] {
            let (status, page) = self
                .app
                .search(self.session(route), json!({"limit": 5000}))
                .await;
            assert_eq!(status, 200, "{page}");
            total += page["items"].as_array().unwrap().len();
        }
        total
    }

    /// The server is up and stored exactly what it acknowledged.
    pub async fn assert_intact(&self) {
        let (status, _) = self
            .app
            .send(self.app.http.get(self.app.url("/healthz")))
            .await;
        assert_eq!(status, 200);
        let alive = std::process::Command::new("kill")
            .args(["-0", &self.app.pid().to_string()])
            .status()
            .unwrap();
        assert!(alive.success(), "the server process is gone");
        let created = (
            self.created_prompts.load(Ordering::SeqCst),
            self.created_events.load(Ordering::SeqCst),
        );
        let expected = (
            self.prompts_before + created.0,
            self.events_before + created.1,
        );
        assert_eq!(
            self.stored(),
            expected,
            "stored (prompts, events) vs acknowledged"
        );
        assert_eq!(self.events_via_api().await, expected.1);
    }
}
