//! PostgreSQL restarted under ingest, on a private instance the test starts
//! and stops itself (never the shared one): only 201, 429 and 503 are
//! answered, nothing acknowledged is lost, everything stored is published,
//! and ingest resumes soon after PostgreSQL is back, without restarting
//! the server. Runs with `CHORUS_TEST_ENGINE=postgres`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
        run(
            "chown",
            &["postgres:postgres", dir.path().to_str().unwrap()],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePostgres { dir, bin, port };
        let initdb = pg.bin.join("initdb");
        let data = pg.data();
        as_postgres(
            &initdb,
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
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
    let published = published_on_redis(&prompt).await;
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

    let odd: Vec<_> = answers
        .iter()
        .filter(|a| ![201, 429, 503].contains(&a.1))
        .collect();
    assert!(odd.is_empty(), "answers other than 201, 429, 503: {odd:?}");
    let refused = answers.iter().filter(|a| a.1 == 503).count();
    let resumed = answers
        .iter()
        .filter(|a| a.1 == 201 && a.0 > back)
        .map(|a| a.0 - back)
        .min()
        .expect("ingest resumed after PostgreSQL came back");
    eprintln!(
        "{} answers, {refused} of them 503; first 201 {resumed:?} after PostgreSQL was back",
        answers.len()
    );
    assert!(
        resumed <= Duration::from_secs(5),
        "first 201 {resumed:?} after PostgreSQL's return"
    );

    let acked: HashSet<String> = answers.into_iter().filter_map(|a| a.2).collect();
    let stored = stored_uids(&app, &probe).await;
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // Redis delivers within moments; allow a second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let published: HashSet<String> = published.lock().unwrap().keys().cloned().collect();
    let unpublished: Vec<_> = stored.difference(&published).collect();
    assert!(
        unpublished.is_empty(),
        "stored but never published: {unpublished:?}"
    );
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

/// A TCP proxy to PostgreSQL that, once armed, passes the next `COMMIT` on
/// to the server and then cuts the client's connection, so the commit
/// happens but its answer never arrives.
struct CommitCutter {
    port: u16,
    armed: Arc<AtomicBool>,
    cuts: Arc<std::sync::atomic::AtomicUsize>,
}

async fn commit_cutter(target: u16) -> CommitCutter {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let armed = Arc::new(AtomicBool::new(false));
    let cuts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (a, c) = (armed.clone(), cuts.clone());
    tokio::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
                .await
                .unwrap();
            tokio::spawn(relay(client, server, a.clone(), c.clone()));
        }
    });
    CommitCutter { port, armed, cuts }
}

async fn relay(
    mut client: tokio::net::TcpStream,
    mut server: tokio::net::TcpStream,
    armed: Arc<AtomicBool>,
    cuts: Arc<std::sync::atomic::AtomicUsize>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The simple-protocol query `COMMIT` as the driver sends it.
    const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";
    let (mut up, mut down) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        tokio::select! {
            read = client.read(&mut up) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                if server.write_all(&up[..n]).await.is_err() {
                    return;
                }
                let commit = up[..n].windows(COMMIT.len()).any(|w| w == COMMIT);
                if commit && armed.swap(false, Ordering::SeqCst) {
                    cuts.fetch_add(1, Ordering::SeqCst);
                    drop(client);
                    // The server finishes the commit; its answer goes nowhere.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return;
                }
            }
            read = server.read(&mut down) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                if client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The answer to a batch's `COMMIT` is lost with its connection, though
/// the commit happened: the event is answered 201 (not a false 409 from
/// running it again), stored once, and published. (Two worker threads: the
/// proxy must run while `spawn_on` blocks reading the server's first line.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_was_lost_is_acknowledged_once_and_published() {
    if engine() != Engine::Postgres {
        return;
    }
    let pg = PrivatePostgres::start();
    let cutter = commit_cutter(pg.port).await;
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cutter.port);
    let app = spawn_on(&url, &["--session-event-rate", "0"], None);
    let prompt = app.create_prompt(numeric_prompt(), 600).await;
    let published = published_on_redis(&prompt).await;
    let s = app.start_session(&prompt, "cut").await;
    assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);

    cutter.armed.store(true, Ordering::SeqCst);
    let (status, body) = app.post_event(&s, "like", 5.0, json!({})).await;
    assert_eq!(
        cutter.cuts.load(Ordering::SeqCst),
        1,
        "the like's COMMIT answer was cut"
    );
    assert_eq!(status, 201, "{body}");
    let uid = body["uid"].as_str().unwrap().to_owned();

    let (status, again) = app.post_event(&s, "like", 5.0, json!({})).await;
    assert_eq!(status, 409, "the like is stored: {again}");
    let stored = stored_uids(&app, &s).await;
    assert_eq!(stored.len(), 2, "the join and the like, once: {stored:?}");
    assert!(stored.contains(&uid));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        published.lock().unwrap().contains_key(&uid),
        "the like was published"
    );
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}
