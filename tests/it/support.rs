//! Spawning the real server and talking to it like a client would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

/// User tokens in tests are signed with this.
pub const USER_SECRET: &str = "test-user-secret";
/// Prompt tokens are signed with this.
pub const PROMPT_SECRET: &str = "test-prompt-secret";
/// The admin token.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A running `chorus serve` process, killed on drop.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The database URL it serves.
    pub database: String,
    /// HTTP client.
    pub http: reqwest::Client,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The storage engine the suite runs against, from `CHORUS_TEST_ENGINE`
/// (`sqlite`, the default, or `postgres`, which also uses Redis pub/sub).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A fresh SQLite file per test, in-process pub/sub.
    Sqlite,
    /// A fresh PostgreSQL database per test, Redis pub/sub.
    Postgres,
}

/// The engine of this run.
pub fn engine() -> Engine {
    match std::env::var("CHORUS_TEST_ENGINE").as_deref() {
        Ok("postgres") => Engine::Postgres,
        Ok("sqlite") | Err(_) => Engine::Sqlite,
        Ok(other) => panic!("unknown CHORUS_TEST_ENGINE {other:?}"),
    }
}

/// PostgreSQL server URL (its `test` database) for creating test databases.
pub fn postgres_admin_url() -> String {
    std::env::var("CHORUS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The binary the tests run: this build's, or the one named by
/// `CHORUS_TEST_SERVER_BIN` (benchmarks run a release server under the
/// debug test harness: `CHORUS_TEST_SERVER_BIN=target/release/chorus`).
pub fn server_bin() -> String {
    std::env::var("CHORUS_TEST_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_chorus").to_owned())
}

/// Redis URL for the PostgreSQL runs.
pub fn redis_url() -> String {
    std::env::var("CHORUS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Creates a fresh, empty PostgreSQL database and returns its URL. Fails
/// (never skips) when PostgreSQL is unreachable.
pub async fn fresh_postgres_database() -> String {
    let admin = postgres_admin_url();
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is unreachable: {e}"));
    tokio::spawn(conn);
    // The creation time in the name lets `scripts/test.sh` drop only
    // databases left behind by runs that are over, not a concurrent run's.
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let name = format!("chorus_t_{created}_{}", rand::random::<u32>());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let (base, _) = admin
        .rsplit_once('/')
        .expect("database URL ends with /dbname");
    format!("{base}/{name}")
}

/// A fresh database of this run's engine (and the temp dir holding it).
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match engine() {
        Engine::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            (
                format!("sqlite://{}", dir.path().join("chorus.db").display()),
                Some(dir),
            )
        }
        Engine::Postgres => (fresh_postgres_database().await, None),
    }
}

/// Starts a server on a fresh database of this run's engine.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server on a fresh database with extra `serve` flags.
pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let (database, dir) = fresh_database().await;
    spawn_on(&database, extra, dir)
}

/// Starts a server on an existing database.
pub fn spawn_on(database: &str, extra: &[&str], dir: Option<tempfile::TempDir>) -> TestApp {
    spawn_with_env(database, extra, dir, &[])
}

/// Starts a server on an existing database with extra environment variables.
pub fn spawn_with_env(
    database: &str,
    extra: &[&str],
    dir: Option<tempfile::TempDir>,
    env: &[(&str, &str)],
) -> TestApp {
    let redis = match engine() {
        Engine::Postgres if database.starts_with("postgres") && !extra.contains(&"--redis") => {
            vec!["--redis".to_owned(), redis_url()]
        }
        _ => vec![],
    };
    let mut child = Command::new(server_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .args(redis)
        .args(extra)
        .env("CHORUS_USER_JWT_SECRET", USER_SECRET)
        .env("CHORUS_PROMPT_JWT_SECRET", PROMPT_SECRET)
        .env("CHORUS_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "error")
        // Many servers share the test PostgreSQL (max_connections 100).
        .env("CHORUS_PG_POOL_SIZE", "6")
        // Tests post, start sessions and read far faster than people do;
        // the rate limits are tested with their own flags (rate_limits.rs).
        .env("CHORUS_USER_EVENT_RATE", "0")
        .env("CHORUS_SESSION_START_RATE", "0")
        .env("CHORUS_READ_RATE", "0")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start chorus");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let base = line.trim().rsplit(' ').next().expect("address").to_owned();
    assert!(
        base.starts_with("http://"),
        "unexpected first line {line:?}"
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    TestApp {
        base,
        database: database.to_owned(),
        http,
        child,
        _dir: dir,
    }
}

/// Every event route, in the order of docs/api.md, "Events".
pub const EVENT_ROUTES: [&str; 8] = [
    "join",
    "leave",
    "like",
    "respond_numeric_prompt",
    "respond_press_prompt/start",
    "respond_press_prompt/end",
    "respond_color_prompt",
    "respond_word_prompt",
];

/// The value of the metric line `name_and_labels` in Prometheus text (0 if absent).
pub fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Mints a user token as an identity provider would.
pub fn user_token(sub: &str, name: Option<&str>) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = json!({"sub": sub, "iat": now, "exp": now + 3600});
    if let Some(n) = name {
        claims["given_name"] = json!(n);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(USER_SECRET.as_bytes()),
    )
    .unwrap()
}

/// A started session, ready to post events.
#[derive(Debug, Clone)]
pub struct Session {
    /// The prompt's uid.
    pub prompt_uid: String,
    /// The session's uid.
    pub session_uid: String,
    /// The prompt token.
    pub jwt: String,
    /// The user token.
    pub user_token: String,
    /// The user's sub.
    pub sub: String,
}

impl TestApp {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`TERM`, `KILL`, …) to the server process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the server to exit (up to `within`) and returns its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `url` relative to the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `GET /metrics`, as text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Sends a request and returns status and JSON body (Null if none).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a prompt as admin; panics unless 201.
    pub async fn create_prompt(&self, prompt: Value, duration_seconds: i64) -> String {
        let (status, body) = self
            .send(
                self.http
                    .post(self.url("/api/1/interactive_prompts"))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"prompt": prompt, "duration_seconds": duration_seconds})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["uid"].as_str().unwrap().to_owned()
    }

    /// Starts a session for user `sub` named `Name-<sub>`; panics unless 201.
    pub async fn start_session(&self, prompt_uid: &str, sub: &str) -> Session {
        self.start_session_as(prompt_uid, sub, Some(&format!("Name-{sub}")))
            .await
    }

    /// Starts a session for user `sub` whose token carries `name`; panics
    /// unless 201.
    pub async fn start_session_as(
        &self,
        prompt_uid: &str,
        sub: &str,
        name: Option<&str>,
    ) -> Session {
        self.start_session_with_token(prompt_uid, sub, user_token(sub, name))
            .await
    }

    /// Starts a session of `prompt_uid` with `token`, a user token of `sub`;
    /// panics unless 201.
    pub async fn start_session_with_token(
        &self,
        prompt_uid: &str,
        sub: &str,
        token: String,
    ) -> Session {
        let (status, body) = self
            .send(
                self.http
                    .post(self.url("/api/1/interactive_prompts/start_session"))
                    .bearer_auth(&token)
                    .json(&json!({"interactive_prompt_uid": prompt_uid})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Session {
            prompt_uid: prompt_uid.to_owned(),
            session_uid: body["session_uid"].as_str().unwrap().to_owned(),
            jwt: body["jwt"].as_str().unwrap().to_owned(),
            user_token: token,
            sub: sub.to_owned(),
        }
    }

    /// Posts an event on `route` (e.g. `join`, `respond_press_prompt/start`).
    pub async fn post_event(
        &self,
        s: &Session,
        route: &str,
        prompt_time: f64,
        data: Value,
    ) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(self.url(&format!("/api/1/interactive_prompts/events/{route}")))
                .bearer_auth(&s.user_token)
                .json(&json!({
                    "interactive_prompt_uid": s.prompt_uid,
                    "interactive_prompt_jwt": s.jwt,
                    "session_uid": s.session_uid,
                    "prompt_time": prompt_time,
                    "data": data,
                })),
        )
        .await
    }

    /// Stats of one bin.
    pub async fn stats(&self, s: &Session, bin: i64) -> (StatusCode, Value) {
        self.send(
            self.http
                .get(self.url(&format!(
                    "/api/1/interactive_prompts/events/stats?uid={}&bin={bin}",
                    s.prompt_uid
                )))
                .bearer_auth(&s.jwt),
        )
        .await
    }

    /// The timeline.
    pub async fn timeline(&self, s: &Session) -> (StatusCode, Value) {
        self.send(
            self.http
                .get(self.url(&format!(
                    "/api/1/interactive_prompts/events/stats/timeline?uid={}",
                    s.prompt_uid
                )))
                .bearer_auth(&s.jwt),
        )
        .await
    }

    /// A search with the session's prompt token.
    pub async fn search(&self, s: &Session, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(self.url("/api/1/interactive_prompts/events/search"))
                .bearer_auth(&s.jwt)
                .json(&body),
        )
        .await
    }

    /// Runs `chorus <cmd> --database <this database>`; returns exit code and stdout.
    pub fn run_command(&self, cmd: &str) -> (i32, String) {
        let out = Command::new(server_bin())
            .args([cmd, "--database", &self.database])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run chorus");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

/// Example prompts of every style.
pub fn numeric_prompt() -> Value {
    json!({"style": "numeric", "text": "How do you feel?", "min": 1, "max": 10, "step": 1})
}
/// A press prompt.
pub fn press_prompt() -> Value {
    json!({"style": "press", "text": "Press while you like it"})
}
/// A colour prompt with three colours.
pub fn color_prompt() -> Value {
    json!({"style": "color", "text": "Which colour is this song?", "colors": ["#ff0000", "#00FF00", "#0000ff"]})
}
/// A word prompt with four options.
pub fn word_prompt() -> Value {
    json!({"style": "word", "text": "Pick a word", "options": ["calm", "joy", "fear", "awe"]})
}

/// Every message published for `prompt_uid` on Redis from now on, by event
/// uid (collected in the background for as long as the test runs).
pub async fn published_on_redis(
    prompt_uid: &str,
) -> std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Value>>> {
    use futures::StreamExt;
    let client = redis::Client::open(redis_url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub
        .subscribe(format!("ps:interactive_prompts:{prompt_uid}:events"))
        .await
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let into = seen.clone();
    tokio::spawn(async move {
        let mut messages = pubsub.into_on_message();
        while let Some(msg) = messages.next().await {
            let payload: String = msg.get_payload().unwrap();
            let v: Value = serde_json::from_str(&payload).unwrap();
            let uid = v["uid"].as_str().unwrap().to_owned();
            into.lock().unwrap().insert(uid, v);
        }
    });
    seen
}
