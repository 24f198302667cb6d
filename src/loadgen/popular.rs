//! `chorus loadgen popular`: replay-bucket reads, the one query of a
//! prompt's events any viewer's stream makes every second, on a popular
//! prompt and on small ones, at the same events per bucket `k`.
//!
//! Two databases are filled through the library before their servers
//! start (setup, not measured): one holds a small prompt (1,000 sessions)
//! beside a popular one (100,000 sessions, 1 M events), the other the small
//! prompt's twin alone. Each bucket is read over HTTP with search, whose
//! `prompt_time bte [b, b + 1]` filter in the default `(prompt_time, uid)`
//! order is the stream's bucket query (`storage::search_sql::bucket`) with
//! a page limit, so it takes the same plan; the stream itself shares each
//! bucket among its viewers, so it cannot be made to read one again.
//!
//! In three steps: [`plan`] (fills, servers, a prompt token each, every
//! bucket read back once), [`drive`] (each prompt read at random buckets
//! for a phase in turn, on one connection, round after round, the serving
//! process's CPU time taken around each phase) and [`report`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::api::{self, Credentials};
use super::client::Conn;
use super::fill::{EVENTS_PER_SESSION, PromptFill, fill_prompts};
use super::histogram::Latency;
use super::report::{Errors, Report};
use super::target::{Plan, Target, cpu_of};
use crate::cli::loadgen::{PopularArgs, TargetArgs};

/// Runs the scenario and returns its report.
pub async fn run(targs: &TargetArgs, args: &PopularArgs) -> anyhow::Result<Report> {
    let setup = plan(targs, args).await?;
    let measured = drive(&setup, args).await;
    Ok(report(&setup, &measured, args))
}

/// One prompt read.
struct Read {
    /// How the report names it.
    name: &'static str,
    addr: SocketAddr,
    /// The process serving it.
    pid: Option<u32>,
    jwt: String,
    fill: PromptFill,
    /// Events found by reading every bucket once.
    read_back: u64,
}

/// What the run is set up with: the two servers (kept running) and the
/// three prompts read: small beside popular, popular, small alone.
struct Setup {
    _servers: (Target, Target),
    reads: Vec<Read>,
}

/// The fill of a prompt of `sessions` sessions holding `k` events a
/// bucket.
fn prompt_fill(sessions: u64, k: u64) -> anyhow::Result<PromptFill> {
    let events = sessions.max(1) * EVENTS_PER_SESSION;
    let duration = (events as f64 / k.max(1) as f64).round() as i64;
    if !(1..=86_400).contains(&duration) {
        bail!(
            "{sessions} sessions at {k} events a bucket last {duration} s: a prompt lasts 1 … 86,400 s"
        );
    }
    Ok(PromptFill {
        style: "numeric".into(),
        duration,
        events,
    })
}

/// Fills both databases, starts their servers, takes a prompt token for
/// each prompt and reads every bucket back once.
async fn plan(targs: &TargetArgs, args: &PopularArgs) -> anyhow::Result<Setup> {
    if !targs.spawn
        || targs
            .database
            .as_deref()
            .is_some_and(|d| !d.starts_with("sqlite://"))
    {
        bail!(
            "popular fills SQLite databases before its servers start: use --spawn (and no --database, or a sqlite:// one)"
        );
    }
    if args.bucket_events > 2500 {
        bail!("--bucket-events above 2,500 would not fit one search page");
    }
    let (small, popular) = (
        prompt_fill(args.small_sessions, args.bucket_events)?,
        prompt_fill(args.popular_sessions, args.bucket_events)?,
    );
    let crowded = Plan::new(targs)?;
    let alone = Plan::new(&TargetArgs {
        database: None,
        ..targs.clone()
    })?;
    let started = Instant::now();
    let fill = [small.clone(), popular.clone()];
    let uids = fill_prompts(crowded.database.as_deref().expect("spawn"), &fill).await?;
    let alone_uid = fill_prompts(alone.database.as_deref().expect("spawn"), &fill[..1]).await?;
    eprintln!(
        "filled {} events in {:.1} s (setup)",
        2 * small.events + popular.events,
        started.elapsed().as_secs_f64()
    );
    let (crowded_creds, alone_creds) = (Credentials::new(&crowded), Credentials::new(&alone));
    let servers = (crowded.start()?, alone.start()?);
    let prompts = [
        ("small", &servers.0, &crowded_creds, &uids[0], small.clone()),
        ("popular", &servers.0, &crowded_creds, &uids[1], popular),
        ("alone", &servers.1, &alone_creds, &alone_uid[0], small),
    ];
    let mut reads = Vec::new();
    for (name, target, creds, uid, fill) in prompts {
        let addr = target.addr_for(0);
        let mut conn = Conn::new(addr);
        let jwt = api::must_start_session(&mut conn, creds, uid, "reader")
            .await?
            .prompt_jwt;
        let read_back = read_back(&mut conn, &jwt, fill.duration).await?;
        let pid = target.pids.first().copied();
        reads.push(Read {
            name,
            addr,
            pid,
            jwt,
            fill,
            read_back,
        });
    }
    Ok(Setup {
        _servers: servers,
        reads,
    })
}

/// Events in every bucket of a prompt of `duration` seconds, summed (and
/// the caches warmed, as the server's would be by its viewers).
async fn read_back(conn: &mut Conn, jwt: &str, duration: i64) -> anyhow::Result<u64> {
    let mut total = 0;
    for b in 0..duration {
        let mut sort = Value::Null;
        loop {
            let resp = api::search_bucket(conn, jwt, b, &sort).await?;
            if resp.status != 200 {
                bail!("reading bucket {b}: {}", resp.status);
            }
            let page = resp.json();
            total += page["items"].as_array().context("search items")?.len() as u64;
            sort = page["next_page_sort"].clone();
            if sort.is_null() {
                break;
            }
        }
    }
    Ok(total)
}

/// What the run measured, per prompt read (in the order of
/// [`Setup::reads`]).
#[derive(Default)]
struct Measured {
    latency: Vec<Latency>,
    /// The serving process's CPU seconds during the prompt's phases.
    cpu: Vec<Option<f64>>,
    reads: Vec<u64>,
    events: Vec<u64>,
    errors: Errors,
}

/// Reads each prompt at random buckets for a phase, in turn (the order
/// rotating every round), on one connection per prompt.
async fn drive(setup: &Setup, args: &PopularArgs) -> Measured {
    let n = setup.reads.len();
    let mut m = Measured {
        latency: vec![Latency::default(); n],
        cpu: vec![Some(0.0); n],
        reads: vec![0; n],
        events: vec![0; n],
        errors: Errors::default(),
    };
    let mut conns: Vec<Conn> = setup.reads.iter().map(|r| Conn::new(r.addr)).collect();
    let phase = Duration::from_secs_f64(args.phase_seconds.max(0.01));
    let bar = super::report::progress("popular", args.phase_seconds * (args.rounds * n) as f64);
    let progress = super::report::follow_clock(&bar, Instant::now());
    for round in 0..args.rounds.max(1) {
        for i in (0..n).map(|i| (i + round) % n) {
            let read = &setup.reads[i];
            let before = read.pid.and_then(cpu_of);
            let end = Instant::now() + phase;
            while Instant::now() < end {
                let b = rand::random_range(0..read.fill.duration);
                let sent = Instant::now();
                match api::search_bucket(&mut conns[i], &read.jwt, b, &Value::Null).await {
                    Ok(r) if r.status == 200 => {
                        m.latency[i].record(sent.elapsed());
                        m.reads[i] += 1;
                        m.events[i] += r.json()["items"].as_array().map_or(0, |a| a.len()) as u64;
                    }
                    Ok(r) => m.errors.add(r.error_type()),
                    Err(e) => m.errors.add(e.kind()),
                }
            }
            let after = read.pid.and_then(cpu_of);
            m.cpu[i] = match (m.cpu[i], before, after) {
                (Some(sum), Some(b), Some(a)) => Some(sum + a - b),
                _ => None,
            };
        }
    }
    progress.abort();
    bar.finish_and_clear();
    m
}

/// The report of a run.
fn report(setup: &Setup, m: &Measured, args: &PopularArgs) -> Report {
    let mut r = Report::new(format!(
        "popular: bucket reads (search, prompt_time bte [b, b + 1]) at about {} events a bucket, {} rounds of {} s per prompt",
        args.bucket_events, args.rounds, args.phase_seconds
    ));
    let cpu_us = |i: usize| m.cpu[i].map(|c| c * 1e6 / m.reads[i].max(1) as f64);
    for (i, read) in setup.reads.iter().enumerate() {
        let (name, f) = (read.name, &read.fill);
        r.line(&format!("{name} prompt sessions"), f.sessions());
        r.line(
            &format!("{name} prompt events filled"),
            format!("{} over {} s", f.events, f.duration),
        );
        r.line(&format!("{name} prompt events read back"), read.read_back);
        let per_read = m.events[i] as f64 / m.reads[i].max(1) as f64;
        r.line(
            &format!("{name} prompt reads"),
            format!("{} ({per_read:.1} events a read)", m.reads[i]),
        );
        r.line(
            &format!("{name} prompt read latency"),
            m.latency[i].summary(),
        );
        if let Some(us) = cpu_us(i) {
            r.line(
                &format!("{name} prompt server CPU per read"),
                format!("{us:.0} µs"),
            );
        }
    }
    let ratio = |a: usize, b: usize, goal: f64| {
        let q = |q: f64| m.latency[a].quantile_ms(q) / m.latency[b].quantile_ms(q).max(1e-9);
        let cpu = match (cpu_us(a), cpu_us(b)) {
            (Some(x), Some(y)) if y > 0.0 => format!(", CPU {:.2}", x / y),
            _ => String::new(),
        };
        format!(
            "median {:.2}, p99 {:.2}{cpu} (goal ≤ {goal})",
            q(0.5),
            q(0.99)
        )
    };
    r.line("popular ÷ small", ratio(1, 0, 1.5));
    r.line("small beside popular ÷ alone", ratio(0, 2, 1.2));
    r.line("errors", m.errors.summary());
    r.line("unexpected errors", m.errors.total());
    r
}
