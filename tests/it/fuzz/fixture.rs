//! The server the fuzz tests run against, how they send to it, and the
//! invariants checked after a run.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use super::routes::Route;
use crate::support::*;

/// Where the event routes are.
pub const EVENTS: &str = "/api/1/interactive_prompts/events/";
/// The identifier of the fixture's named prompt.
pub const NAMED: &str = "fuzz-named";

/// A dev-mode server with a prompt of each style and one session per event
/// route (joined, except for `join`'s; pressing for the press end's), and a
/// named prompt with its instance.
pub struct Fixture {
    /// The server.
    pub app: TestApp,
    sessions: Vec<(&'static str, Session)>,
    created_prompts: AtomicUsize,
    created_events: AtomicUsize,
    prompts_before: usize,
    events_before: usize,
}

impl Fixture {
    /// Starts the server and makes the prompts and sessions.
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
        for route in EVENT_ROUTES {
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
        // A named prompt (expiring long after the run), already started
        // once, so that `start_public` reuses its instance.
        let (status, def) = app
            .send(
                app.http
                    .put(app.url(&format!("/api/1/interactive_prompts/public/{NAMED}")))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"prompt": press_prompt(), "duration_seconds": 60,
                        "expires_seconds": 86_400})),
            )
            .await;
        assert_eq!(status, 200, "{def}");
        let (status, started) = app
            .send(
                app.http
                    .post(app.url("/api/1/interactive_prompts/start_public"))
                    .bearer_auth(user_token("fuzz-named", None))
                    .json(&json!({"identifier": NAMED})),
            )
            .await;
        assert_eq!(status, 201, "{started}");
        let mut f = Fixture {
            app,
            sessions,
            created_prompts: 0.into(),
            created_events: 0.into(),
            prompts_before: 0,
            events_before: 0,
        };
        (f.prompts_before, f.events_before) = f.stored();
        assert_eq!((f.prompts_before, f.events_before), (5, 8));
        f
    }

    /// The session for an event route (the numeric response's for others).
    pub fn session(&self, route: &str) -> &Session {
        let found = self.sessions.iter().find(|(r, _)| *r == route);
        &found.unwrap_or(&self.sessions[3]).1
    }

    /// Sends a request; a 5xx, a dropped connection or a non-JSON error
    /// fails. Returns whether it succeeded (2xx).
    pub async fn send(
        &self,
        route: &Route,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<bool, String> {
        Ok(self.send_status(route, url, body).await? < 300)
    }

    /// Like [`Fixture::send`], returning the status.
    pub async fn send_status(
        &self,
        route: &Route,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<u16, String> {
        let mut req = self.app.http.request(route.method.clone(), url);
        if let Some(a) = &route.authorization {
            req = req.header(AUTHORIZATION, a.clone());
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
            _ => return Ok(status),
        };
        if status == 201 {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        Ok(status)
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

    /// Events of the fixture's prompts, found by searching.
    async fn events_via_api(&self) -> usize {
        let mut total = 0;
        // One session per prompt: the responses' (the others' are on the numeric one).
        for route in EVENT_ROUTES[3..].iter().filter(|r| !r.ends_with("/end")) {
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
