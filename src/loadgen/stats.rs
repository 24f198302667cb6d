//! `chorus loadgen stats`: clients polling stats as the web client does —
//! one request for the bin its prompt clock is in, each bin width. Closed
//! loop: each connection cycles through its simulated clients as fast as
//! answers come, so the rate reached, times the bin width, is how many
//! real clients the server could keep up with.
//!
//! In three steps: [`plan`] (servers, prompts with some history, ceiling),
//! [`drive`] (the polling connections) and [`report`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::api::{self, Credentials};
use super::ceiling::HttpCeiling;
use super::client::Conn;
use super::histogram::Latency;
use super::report::{self, Errors, Report};
use super::script::Script;
use super::target::{Plan, Target};
use crate::cli::loadgen::{StatsArgs, TargetArgs};
use crate::domain::bins::Bins;

/// Runs the scenario and returns its report.
pub async fn run(targs: &TargetArgs, args: &StatsArgs) -> anyhow::Result<Report> {
    let setup = plan(targs, args).await?;
    let measured = drive(&setup, args).await?;
    Ok(report(&setup, &measured, args))
}

/// What the run is set up with.
struct Setup {
    target: Target,
    /// `(uid, prompt token)` of each prompt.
    prompts: Arc<Vec<(String, String)>>,
    ceiling: Option<HttpCeiling>,
}

/// Starts the server(s), creates the prompts with some history each, and
/// measures the ceiling.
async fn plan(targs: &TargetArgs, args: &StatsArgs) -> anyhow::Result<Setup> {
    let plan = Plan::new(targs)?;
    let creds = Credentials::new(&plan);
    let target = plan.start()?;
    let mut conn = Conn::new(target.addr_for(0));
    let prompt = api::prompt_of_style("numeric")?;
    let mut prompts = Vec::new();
    for p in 0..args.prompts.max(1) {
        let uid = creds
            .create_prompt(&mut conn, &prompt, args.duration)
            .await?;
        let jwt = seed(&mut conn, &creds, &uid, p, args).await?;
        prompts.push((uid, jwt));
    }
    let ceiling = match targs.no_ceiling {
        true => None,
        false => Some(super::ceiling::http(&target, args.connections, targs.ceiling_seconds).await),
    };
    Ok(Setup {
        target,
        prompts: Arc::new(prompts),
        ceiling,
    })
}

/// Posts about `--seed-events` events into prompt `p`, seven per session;
/// returns a prompt token for it.
async fn seed(
    conn: &mut Conn,
    creds: &Credentials,
    uid: &str,
    p: usize,
    args: &StatsArgs,
) -> anyhow::Result<String> {
    let mut jwt = String::new();
    let sessions = args.seed_events.div_ceil(7).max(1);
    for s in 0..sessions {
        let session = api::must_start_session(conn, creds, uid, &format!("seed-{p}-{s}")).await?;
        let mut script = Script::new("numeric");
        let start = rand::random::<f64>() * (args.duration as f64 - 10.0).max(0.0);
        for k in 0..7 {
            let (route, data) = script.next(k == 6);
            api::post_event(conn, &session, route, start + k as f64, &data).await?;
        }
        jwt = session.prompt_jwt;
    }
    Ok(jwt)
}

/// What the run measured.
struct Measured {
    elapsed: Duration,
    answered: u64,
    latency: Latency,
    errors: Errors,
}

/// Polls stats on every connection until the deadline.
async fn drive(setup: &Setup, args: &StatsArgs) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let done = Arc::new(AtomicU64::new(0));
    let bar = report::progress("stats", args.seconds);
    let bins = Bins::new(args.duration);
    let duration = args.duration as f64;
    let mut tasks = Vec::new();
    let connections = args.connections.max(1);
    for w in 0..connections {
        let clients: Vec<(usize, f64)> = (w..args.clients.max(connections))
            .step_by(connections)
            .map(|c| {
                let offset = rand::random::<f64>() * duration * 0.5;
                (c % setup.prompts.len(), offset)
            })
            .collect();
        let poller = Poller {
            conn: Conn::new(setup.target.addr_for(w)),
            prompts: setup.prompts.clone(),
            clients,
            done: done.clone(),
        };
        tasks.push(tokio::spawn(poller.run(
            started,
            deadline,
            bins.count(),
            duration,
        )));
    }
    let ticker = {
        let (bar, done) = (bar.clone(), done.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let secs = started.elapsed().as_secs_f64();
                bar.set_position((secs * 10.0) as u64);
                let rate = done.load(Ordering::Relaxed) as f64 / secs;
                bar.set_message(format!("{rate:.0} req/s"));
            }
        })
    };
    let mut m = Measured {
        elapsed: Duration::ZERO,
        answered: 0,
        latency: Latency::default(),
        errors: Errors::default(),
    };
    for t in tasks {
        let (n, l, e) = t.await?;
        m.answered += n;
        m.latency.merge(&l);
        m.errors.merge(&e);
    }
    m.elapsed = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    Ok(m)
}

/// One connection cycling through its simulated clients.
struct Poller {
    conn: Conn,
    prompts: Arc<Vec<(String, String)>>,
    /// `(prompt, clock offset)` of each client.
    clients: Vec<(usize, f64)>,
    done: Arc<AtomicU64>,
}

impl Poller {
    /// Asks for each client's current bin (of `n` over `duration` seconds)
    /// in turn until `deadline`.
    async fn run(
        mut self,
        started: Instant,
        deadline: Instant,
        n: u32,
        duration: f64,
    ) -> (u64, Latency, Errors) {
        let (mut latency, mut errors, mut ok) = (Latency::default(), Errors::default(), 0u64);
        let mut i = 0;
        while Instant::now() < deadline {
            let (p, offset) = self.clients[i % self.clients.len()];
            i += 1;
            let t = (offset + started.elapsed().as_secs_f64()) % duration;
            let bin = ((t * n as f64 / duration) as u32).min(n - 1);
            let sent = Instant::now();
            let (uid, jwt) = &self.prompts[p];
            match api::stats(&mut self.conn, uid, jwt, bin).await {
                Ok(r) if r.status == 200 => {
                    ok += 1;
                    self.done.fetch_add(1, Ordering::Relaxed);
                    latency.record(sent.elapsed());
                }
                Ok(r) => errors.add(r.error_type()),
                Err(e) => errors.add(e.kind()),
            }
        }
        (ok, latency, errors)
    }
}

/// The report of a run.
fn report(setup: &Setup, m: &Measured, args: &StatsArgs) -> Report {
    let bins = Bins::new(args.duration);
    let rate = report::per_second(m.answered, m.elapsed);
    let mut r = Report::new(format!(
        "stats: {} connections, {} clients over {} prompt(s) of {} bins",
        args.connections.max(1),
        args.clients,
        setup.prompts.len(),
        bins.count()
    ));
    r.line("seconds", format!("{:.1}", m.elapsed.as_secs_f64()));
    r.line("answered requests", m.answered);
    let ceiling = setup.ceiling.as_ref();
    r.ratio("stats requests/s", rate, ceiling.map(|c| c.rate), "/s");
    r.line("stats latency", m.latency.summary());
    r.line(
        "real clients served",
        format!(
            "{:.0} (one request per bin width, {:.3} s)",
            rate * bins.width(),
            bins.width()
        ),
    );
    if let Some(c) = ceiling {
        r.line(
            "ceiling (GET /healthz)",
            format!("{:.0} req/s, {}", c.rate, c.latency.summary()),
        );
    }
    r.line("errors", m.errors.summary());
    r.line("unexpected errors", m.errors.total());
    r
}
