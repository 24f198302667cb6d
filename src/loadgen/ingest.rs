//! `chorus loadgen ingest`: users take prompts as in a premiere. Each
//! starts a session, joins, answers, likes (and presses, on press
//! prompts), and leaves, at prompt times that advance with a shared
//! premiere clock; then takes the prompt again. Closed loop (as fast as
//! answers come) or open loop at `--rate` requests per second, with
//! latency measured from the intended send time (no coordinated omission).
//!
//! In three steps: [`plan`] (history, servers, prompts, ceiling), [`load`]
//! (the users posting) and [`report`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::api::{self, Credentials, Session};
use super::ceiling::HttpCeiling;
use super::client::Conn;
use super::histogram::Latency;
use super::report::{self, Errors, Report};
use super::script::{STYLES, Script};
use super::target::{Plan, Target};
use crate::cli::loadgen::{IngestArgs, TargetArgs};

/// Events per session before the leave.
const EVENTS_PER_SESSION: u32 = 6;
/// Shortest gap between two events of one session (the server allows 20/s).
const SESSION_GAP: Duration = Duration::from_millis(60);

struct User {
    sub: String,
    token: Option<String>,
    prompt: usize,
    offset: f64,
    session: Option<(Session, Script)>,
    last_time: f64,
    last_post: Instant,
}

#[derive(Default)]
struct Tally {
    accepted: u64,
    sessions: u64,
    latency: Latency,
    session_latency: Latency,
    errors: Errors,
}

/// Prompts under load: uid, style and duration.
type Prompts = Arc<Vec<(String, String, i64)>>;

/// Runs the scenario and returns its report.
pub async fn run(targs: &TargetArgs, args: &IngestArgs) -> anyhow::Result<Report> {
    let setup = plan(targs, args).await?;
    let (tally, elapsed) = load(&setup.target, &setup.creds, args, setup.prompts.clone()).await;
    Ok(report(&setup, &tally, elapsed, args))
}

/// What the run is set up with.
struct Setup {
    target: Target,
    creds: Credentials,
    prompts: Prompts,
    ceiling: Option<HttpCeiling>,
}

/// Fills a history first if asked, starts the server(s), finds or creates
/// the prompts under load, and measures the ceiling.
async fn plan(targs: &TargetArgs, args: &IngestArgs) -> anyhow::Result<Setup> {
    let plan = Plan::new(targs)?;
    let creds = Credentials::new(&plan);
    let filled = match (args.history, plan.sqlite_path()) {
        (0, _) => None,
        (n, Some(_)) if targs.spawn => {
            let style = if args.style == "mixed" {
                "numeric"
            } else {
                &args.style
            };
            let db = plan.database.clone().expect("spawn has a database");
            let started = Instant::now();
            let uid = super::fill::fill(&db, style, args.duration, n).await?;
            eprintln!(
                "filled {n} events in {:.1} s (setup)",
                started.elapsed().as_secs_f64()
            );
            Some((uid, style.to_owned(), args.duration))
        }
        _ => anyhow::bail!("--history needs --spawn with a SQLite database"),
    };
    let target = plan.start()?;
    let prompts = match filled {
        Some(prompt) => vec![prompt],
        None => prompts_under_load(&target, &creds, args).await?,
    };
    let ceiling = match targs.no_ceiling {
        true => None,
        false => Some(super::ceiling::http(&target, args.connections, targs.ceiling_seconds).await),
    };
    Ok(Setup {
        target,
        creds,
        prompts: Arc::new(prompts),
        ceiling,
    })
}

/// The `--prompt` given, or one new prompt of each style asked for.
async fn prompts_under_load(
    target: &Target,
    creds: &Credentials,
    args: &IngestArgs,
) -> anyhow::Result<Vec<(String, String, i64)>> {
    let mut conn = Conn::new(target.addr_for(0));
    if let Some(uid) = &args.prompt {
        let p = creds.read_prompt(&mut conn, uid).await?;
        let style = p["prompt"]["style"]
            .as_str()
            .context("prompt style")?
            .to_owned();
        let duration = p["duration_seconds"].as_i64().context("prompt duration")?;
        return Ok(vec![(uid.clone(), style, duration)]);
    }
    let styles: Vec<&str> = match args.style.as_str() {
        "mixed" => STYLES.to_vec(),
        s => vec![s],
    };
    let mut prompts = Vec::new();
    for style in styles {
        let uid = creds
            .create_prompt(&mut conn, &api::prompt_of_style(style)?, args.duration)
            .await?;
        prompts.push((uid, style.to_owned(), args.duration));
    }
    Ok(prompts)
}

/// The report of a run.
fn report(setup: &Setup, tally: &Tally, elapsed: Duration, args: &IngestArgs) -> Report {
    let mut r = Report::new(format!(
        "ingest: {} connections, {} users, {}, {} prompt(s)",
        args.connections,
        args.users,
        if args.rate > 0.0 {
            format!("open loop at {} requests/s", args.rate)
        } else {
            "closed loop".into()
        },
        setup.prompts.len()
    ));
    r.line("seconds", format!("{:.1}", elapsed.as_secs_f64()));
    if args.history > 0 {
        r.line(
            "history",
            format!("{} events stored in the prompt first", args.history),
        );
    }
    r.line("accepted events", tally.accepted);
    r.line("sessions started", tally.sessions);
    let rate = report::per_second(tally.accepted, elapsed);
    let ceiling = setup.ceiling.as_ref();
    r.ratio("accepted events/s", rate, ceiling.map(|c| c.rate), "/s");
    let requests = report::per_second(
        tally.accepted + tally.sessions + tally.errors.total(),
        elapsed,
    );
    r.line("requests/s", format!("{requests:.0}"));
    r.line("event latency", tally.latency.summary());
    r.line("start_session latency", tally.session_latency.summary());
    if let Some(c) = ceiling {
        r.line(
            "ceiling (GET /healthz)",
            format!("{:.0} req/s, {}", c.rate, c.latency.summary()),
        );
    }
    r.line("errors", tally.errors.summary());
    r.line("unexpected errors", tally.errors.total());
    if let Some(rss) = setup.target.rss_bytes() {
        r.line(
            "server memory (anonymous rss)",
            format!("{:.1} MiB", rss as f64 / 1048576.0),
        );
    }
    r
}

async fn load(
    target: &Target,
    creds: &Credentials,
    args: &IngestArgs,
    prompts: Prompts,
) -> (Tally, Duration) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let accepted = Arc::new(AtomicU64::new(0));
    let bar = report::progress("ingest", args.seconds);
    let connections = args.connections.max(1);
    let mut tasks = Vec::new();
    for w in 0..connections {
        let users: Vec<User> = (w..args.users.max(connections))
            .step_by(connections)
            .map(|u| User {
                sub: format!("lg-{:x}-{u}", rand::random::<u32>()),
                token: None,
                prompt: u % prompts.len(),
                offset: rand::random::<f64>() * 2.0,
                session: None,
                last_time: 0.0,
                last_post: started,
            })
            .collect();
        let per_conn_rate = args.rate / connections as f64;
        let worker = Worker {
            conn: Conn::new(target.addr_for(w)),
            creds: creds.clone(),
            prompts: prompts.clone(),
            users,
            started,
            deadline,
            speed: 0.8 / args.seconds,
            accepted: accepted.clone(),
            tally: Tally::default(),
        };
        tasks.push(tokio::spawn(worker.run(per_conn_rate)));
    }
    let ticker = {
        let (bar, accepted) = (bar.clone(), accepted.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let n = accepted.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                bar.set_position((secs * 10.0) as u64);
                bar.set_message(format!("{n} accepted, {:.0}/s", n as f64 / secs));
            }
        })
    };
    let mut tally = Tally::default();
    for t in tasks {
        if let Ok(w) = t.await {
            tally.accepted += w.accepted;
            tally.sessions += w.sessions;
            tally.latency.merge(&w.latency);
            tally.session_latency.merge(&w.session_latency);
            tally.errors.merge(&w.errors);
        }
    }
    let elapsed = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    (tally, elapsed)
}

struct Worker {
    conn: Conn,
    creds: Credentials,
    prompts: Prompts,
    users: Vec<User>,
    started: Instant,
    deadline: Instant,
    /// Fraction of the prompt the premiere clock advances per second.
    speed: f64,
    accepted: Arc<AtomicU64>,
    tally: Tally,
}

impl Worker {
    async fn run(mut self, rate: f64) -> Tally {
        let interval = (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
        let mut intended = Instant::now();
        let mut i = 0;
        while Instant::now() < self.deadline {
            if let Some(gap) = interval {
                intended += gap;
                tokio::time::sleep_until(intended.into()).await;
            }
            let u = i % self.users.len();
            i += 1;
            let since = self.users[u].last_post.elapsed();
            if since < SESSION_GAP {
                tokio::time::sleep(SESSION_GAP - since).await;
            }
            let from = if interval.is_some() {
                intended
            } else {
                Instant::now()
            };
            self.step(u, from).await;
        }
        self.tally
    }

    /// One request for user `u`: start a session, or post its next event.
    async fn step(&mut self, u: usize, from: Instant) {
        let user = &mut self.users[u];
        let (prompt_uid, style, duration) = &self.prompts[user.prompt];
        if user.token.is_none() {
            match self.creds.user_token(&mut self.conn, &user.sub).await {
                Ok(t) => user.token = Some(t),
                Err(e) => return self.tally.errors.add(format!("token: {e}")),
            }
        }
        let Some((session, script)) = &mut user.session else {
            let token = user.token.as_deref().expect("minted");
            match api::start_session(&mut self.conn, prompt_uid, token).await {
                Ok((_, Some(s))) => {
                    self.tally.sessions += 1;
                    self.tally.session_latency.record(from.elapsed());
                    user.session = Some((s, Script::new(style)));
                    user.last_time = 0.0;
                }
                Ok((resp, None)) => self
                    .tally
                    .errors
                    .add(format!("start_session {}", resp.error_type())),
                Err(e) => self.tally.errors.add(e.kind()),
            }
            return;
        };
        let clock = self.started.elapsed().as_secs_f64() * self.speed * *duration as f64;
        let t = (clock + user.offset)
            .max(user.last_time + 0.001)
            .min(*duration as f64);
        let ending = script.posted() >= EVENTS_PER_SESSION || t >= *duration as f64;
        let (route, data) = script.next(ending);
        user.last_post = Instant::now();
        user.last_time = t;
        match api::post_event(&mut self.conn, session, route, t, &data).await {
            Ok(r) if r.status == 201 => {
                self.tally.accepted += 1;
                self.accepted.fetch_add(1, Ordering::Relaxed);
                self.tally.latency.record(from.elapsed());
            }
            Ok(r) => self.tally.errors.add(format!("{route} {}", r.error_type())),
            Err(e) => self.tally.errors.add(e.kind()),
        }
        if ending {
            user.session = None;
        }
    }
}
