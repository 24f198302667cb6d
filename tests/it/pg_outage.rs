//! PostgreSQL restarted under ingest, on a private instance the test starts
//! and stops itself (never the shared one): only 201, 429 and 503 are
//! answered, nothing acknowledged is lost, everything stored is published,
//! and ingest resumes soon after PostgreSQL is back, without restarting
//! the server. Runs with `CHORUS_TEST_ENGINE=postgres`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::*;

/// A PostgreSQL server of its own, in a temporary directory, run as the
/// `postgres` user (initdb refuses root); stopped when dropped.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn start() -> Self {
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL binaries in /usr/lib/postgresql")
            .map(|e| e.unwrap().path().join("bin"))
            .filter(|p| p.join("pg_ctl").exists())
            .collect();
        bins.sort();
        let bin = bins.pop().expect("a PostgreSQL version with pg_ctl");
        let dir = tempfile::tempdir().unwrap();
        run("chown", &["postgres:postgres", dir.path().to_str().unwrap()]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePostgres { dir, bin, port };
        let initdb = pg.bin.join("initdb");
        let data = pg.data();
        as_postgres(&initdb, &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"]);
        pg.ctl(&["start"]);
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl start` (waiting until it accepts connections) or `stop`.
    fn ctl(&self, action: &[&str]) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let data = self.data();
        let mut args = vec!["-D", &data, "-w", "-t", "60", "-o", &options, "-l", &log];
        args.extend_from_slice(action);
        as_postgres(&self.bin.join("pg_ctl"), &args);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "stop", "-m", "immediate"])
            .output();
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect(program);
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
}

fn as_postgres(program: &std::path::Path, args: &[&str]) {
    let mut all = vec!["-u", "postgres", "--", program.to_str().unwrap()];
    all.extend_from_slice(args);
    run("runuser", &all);
}

/// Collects the uids of the events published for `prompt_uid` on Redis.
async fn subscribe(prompt_uid: &str) -> Arc<Mutex<HashSet<String>>> {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub
        .subscribe(format!("ps:interactive_prompts:{prompt_uid}:events"))
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let into = seen.clone();
    tokio::spawn(async move {
        let mut messages = pubsub.into_on_message();
        while let Some(msg) = messages.next().await {
            let payload: String = msg.get_payload().unwrap();
            let v: Value = serde_json::from_str(&payload).unwrap();
            into.lock().unwrap().insert(v["uid"].as_str().unwrap().to_owned());
        }
    });
    seen
}

/// One answer: when, status, uid if acknowledged.
type Answer = (Instant, u16, Option<String>);

/// Posts likes on `s` until `stop`, recording every answer.
async fn post(app: Arc<TestApp>, s: Session, stop: Arc<AtomicBool>) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut t = 1.0;
    while !stop.load(Ordering::Relaxed) {
        t += 0.001;
        let (status, body) = app.post_event(&s, "like", t, json!({})).await;
        let uid = body["uid"].as_str().map(str::to_owned);
        answers.push((Instant::now(), status.as_u16(), uid));
        if status != 201 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    answers
}

#[tokio::test]
async fn postgres_restarted_mid_ingest_loses_nothing_and_ingest_resumes() {
    if engine() != Engine::Postgres {
        return;
    }
    let pg = PrivatePostgres::start();
    let app = Arc::new(spawn_on(&pg.url(), &["--session-event-rate", "0"], None));
    let prompt = app.create_prompt(numeric_prompt(), 600).await;
    let published = subscribe(&prompt).await;
    let probe = app.start_session(&prompt, "probe").await;
    let mut sessions = Vec::new();
    for w in 0..8 {
        let s = app.start_session(&prompt, &format!("w{w}")).await;
        assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
        sessions.push(s);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let posters: Vec<_> = sessions
        .iter()
        .map(|s| tokio::spawn(post(app.clone(), s.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.ctl(&["stop", "-m", "fast"]);
    // Longer than a batch is tried again, so some requests are refused.
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg.ctl(&["start"]);
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for poster in futures::future::join_all(posters).await {
        answers.extend(poster.unwrap());
    }

    let odd: Vec<_> = answers.iter().filter(|a| ![201, 429, 503].contains(&a.1)).collect();
    assert!(odd.is_empty(), "answers other than 201, 429, 503: {odd:?}");
    let refused = answers.iter().filter(|a| a.1 == 503).count();
    let resumed = answers
        .iter()
        .filter(|a| a.1 == 201 && a.0 > back)
        .map(|a| a.0 - back)
        .min()
        .expect("ingest resumed after PostgreSQL came back");
    eprintln!("{} answers, {refused} of them 503; first 201 {resumed:?} after PostgreSQL was back", answers.len());
    assert!(resumed <= Duration::from_secs(5), "first 201 {resumed:?} after PostgreSQL's return");

    let acked: HashSet<String> = answers.into_iter().filter_map(|a| a.2).collect();
    let stored = stored_uids(&app, &probe).await;
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // Redis delivers within moments; allow a second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let published = published.lock().unwrap().clone();
    let unpublished: Vec<_> = stored.difference(&published).collect();
    assert!(unpublished.is_empty(), "stored but never published: {unpublished:?}");
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

/// Every stored event's uid, through search.
async fn stored_uids(app: &TestApp, s: &Session) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut body = json!({"limit": 5000});
    loop {
        let (status, page) = app.search(s, body.clone()).await;
        assert_eq!(status, 200, "{page}");
        for e in page["items"].as_array().unwrap() {
            out.insert(e["uid"].as_str().unwrap().to_owned());
        }
        match &page["next_page_sort"] {
            Value::Null => return out,
            next => body = json!({"limit": 5000, "sort": next}),
        }
    }
}
