//! `chorus demo` and the web client's files (docs/web-client.md): the page and
//! its assets are served, the dev prompt list shows one prompt of each
//! style, and every prompt carries recorded history.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

/// A running `chorus demo`, killed on drop.
struct Demo {
    base: String,
    http: reqwest::Client,
    child: Child,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `chorus demo` on a free port with `extra` flags; returns once it
/// printed its address (after the history is recorded).
fn start_demo(extra: &[&str]) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start chorus demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a first line").expect("read it");
    let base = first
        .strip_prefix("chorus listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let rest: Vec<String> = lines.take(3).map(|l| l.expect("read a line")).collect();
    assert!(
        rest.iter().any(|l| l.starts_with("open http://127.0.0.1:")),
        "the URL to open is printed: {rest:?}"
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Demo { base, http, child }
}

impl Demo {
    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("JSON")
    }
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_demo_serves_the_web_client_and_its_assets() {
    let demo = start_demo(&["--no-crowd", "--history", "5"]);
    let page = demo.get("/", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(content_type(&page), "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    for (path, ty) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/client/index.js", "text/javascript; charset=utf-8"),
        ("/client/watch.js", "text/javascript; charset=utf-8"),
        ("/assets/style.css", "text/css; charset=utf-8"),
        ("/assets/icon.svg", "image/svg+xml"),
    ] {
        let resp = demo.get(path, None).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(content_type(&resp), ty, "{path}");
    }
    for missing in ["/assets/nope.js", "/assets/stream.js", "/client/nope.js"] {
        let resp = demo.get(missing, None).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test]
async fn the_demo_lists_four_prompts_of_every_style_with_recorded_history() {
    let demo = start_demo(&["--no-crowd"]);
    let list: Value = demo
        .get("/api/1/dev/prompts", None)
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().expect("items");
    let styles: Vec<&str> = items
        .iter()
        .map(|p| p["prompt"]["style"].as_str().unwrap())
        .collect();
    assert_eq!(styles, ["numeric", "press", "color", "word"]);
    let user = demo
        .post("/api/1/dev/login", None, json!({"name": "Tester"}))
        .await;
    let user = user["user_jwt"].as_str().unwrap();
    for p in items {
        let duration = p["duration_seconds"].as_i64().unwrap();
        assert!((30..=60).contains(&duration), "{p}");
        let session = demo
            .post(
                "/api/1/interactive_prompts/start_session",
                Some(user),
                json!({"interactive_prompt_uid": p["uid"]}),
            )
            .await;
        let jwt = session["jwt"].as_str().unwrap();
        let uid = p["uid"].as_str().unwrap();
        let path = format!("/api/1/interactive_prompts/events/stats/timeline?uid={uid}");
        let tl: Value = demo.get(&path, Some(jwt)).await.json().await.unwrap();
        // Hundreds joined at the start, most stayed, and they liked things.
        let users = tl["users"].as_array().unwrap();
        assert!(users[0].as_i64().unwrap() >= 250, "{}", tl["users"]);
        assert!(users[users.len() / 2].as_i64().unwrap() >= 200);
        let likes = tl["likes"].as_array().unwrap();
        assert!(likes.last().unwrap().as_i64().unwrap() >= 100);
        // The answers change over the prompt.
        let style = p["prompt"]["style"].as_str().unwrap();
        let key = format!("{style}_active");
        let series = if style == "press" {
            &tl["press"]
        } else {
            &tl[&key]
        };
        let first = &series[2];
        let last = &series[series.as_array().unwrap().len() - 1];
        assert_ne!(first, last, "{style}: answers drift over the prompt");
    }
}

#[tokio::test]
async fn the_crowd_takes_the_prompts_live() {
    let demo = start_demo(&["--history", "0", "--crowd", "8"]);
    let list: Value = demo
        .get("/api/1/dev/prompts", None)
        .await
        .json()
        .await
        .unwrap();
    let uid = list["items"][3]["uid"].as_str().unwrap().to_owned();
    let user = demo
        .post("/api/1/dev/login", None, json!({"name": "Watcher"}))
        .await;
    let session = demo
        .post(
            "/api/1/interactive_prompts/start_session",
            user["user_jwt"].as_str(),
            json!({"interactive_prompt_uid": uid}),
        )
        .await;
    let jwt = session["jwt"].as_str().unwrap().to_owned();
    let body = json!({"limit": 100});
    let mut found = Vec::new();
    for _ in 0..100 {
        let page = demo
            .post(
                "/api/1/interactive_prompts/events/search",
                Some(&jwt),
                body.clone(),
            )
            .await;
        found = page["items"].as_array().unwrap().clone();
        if found.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found.len() >= 3, "the crowd posted events: {found:?}");
    assert!(
        found
            .iter()
            .all(|e| e["user_sub"].as_str().unwrap().starts_with("demo-crowd-"))
    );
}

/// A `serve` on a fresh SQLite file (listing prompts is SQLite-only so far).
fn serve_on_sqlite(extra: &[&str]) -> crate::support::TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let database = format!("sqlite://{}", dir.path().join("chorus.db").display());
    crate::support::spawn_on(&database, extra, Some(dir))
}

#[tokio::test]
async fn the_dev_prompt_list_shows_live_prompts_only_in_dev_mode() {
    let app = serve_on_sqlite(&["--dev"]);
    let kept = app.create_prompt(crate::support::word_prompt(), 30).await;
    let gone = app.create_prompt(crate::support::press_prompt(), 20).await;
    let (status, _) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/1/interactive_prompts/{gone}")))
                .bearer_auth(crate::support::ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, list) = app.send(app.http.get(app.url("/api/1/dev/prompts"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list,
        json!({"items": [{"uid": kept, "prompt": {"style": "word", "text": "Pick a word",
            "options": ["calm", "joy", "fear", "awe"]}, "duration_seconds": 30}]})
    );

    let plain = serve_on_sqlite(&[]);
    let (status, body) = plain
        .send(plain.http.get(plain.url("/api/1/dev/prompts")))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let page = plain.http.get(plain.url("/")).send().await.unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the page is served in every mode"
    );
}
