//! `chorus loadgen premiere`: thousands of viewers on one prompt while
//! participants post live at the premiere clock. Measures deliveries per
//! second, post → receive and commit → receive latency, what the server
//! thinned away, and the server's memory per viewer.
//!
//! In three steps: [`plan`] (servers, prompt, sessions, ceiling), [`drive`]
//! (viewers connected, participants posting for the window) and
//! [`report`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::api::{self, Credentials, Session};
use super::client::Conn;
use super::crowd::ViewerGroup;
use super::frames::StreamCeiling;
use super::histogram::Latency;
use super::report::{Errors, Report};
use super::script::Script;
use super::shared::{growth_lines, scrape, sessions, tally};
use super::target::{Plan, Target};
use super::viewer::{Posted, ViewerConfig, ViewerStats};
use crate::cli::loadgen::{PremiereArgs, TargetArgs};

/// Check one batch in this many against the posted events for latency.
const LATENCY_SAMPLE: u64 = 4;

/// One viewer in this many notes when its checked events arrived, for
/// commit → receive latency (viewer 0 always does).
const RECEIPT_VIEWERS: usize = 50;

/// Runs the scenario and returns its report.
pub async fn run(targs: &TargetArgs, args: &PremiereArgs) -> anyhow::Result<Report> {
    let setup = plan(targs, args).await?;
    let measured = drive(&setup, args).await?;
    Ok(report(&setup, &measured, args))
}

/// What the run is set up with.
struct Setup {
    target: Target,
    ceiling: Option<StreamCeiling>,
    prompt_uid: String,
    viewers: Vec<Session>,
    posters: Vec<Session>,
}

/// Starts the server(s), measures the ceiling, creates the prompt and
/// starts the viewers' and the participants' sessions.
async fn plan(targs: &TargetArgs, args: &PremiereArgs) -> anyhow::Result<Setup> {
    let plan = Plan::new(targs)?;
    let creds = Credentials::new(&plan);
    let target = plan.start()?;
    let ceiling = super::frames::ceiling(
        targs,
        args.viewers,
        args.bandwidth,
        args.connect_concurrency,
    )
    .await?;
    let mut conn = Conn::new(target.addr_for(0));
    let prompt_uid = creds
        .create_prompt(&mut conn, &api::prompt_of_style("numeric")?, args.duration)
        .await?;
    let viewers = sessions(&target, &creds, &prompt_uid, args.viewers, "viewer").await?;
    let participants = args.participants.max(1);
    let posters = sessions(&target, &creds, &prompt_uid, participants, "poster").await?;
    Ok(Setup {
        target,
        ceiling,
        prompt_uid,
        viewers,
        posters,
    })
}

/// What the run measured.
struct Measured {
    length: Duration,
    accepted: u64,
    stats: Vec<ViewerStats>,
    errors: Errors,
    commit_latency: Latency,
    connect_time: Duration,
    /// Anonymous RSS before the viewers, once connected, and mid-window.
    rss: (Option<u64>, Option<u64>, Option<u64>),
    thinned: (BTreeMap<String, f64>, BTreeMap<String, f64>),
}

/// Connects the viewers, then has the participants post at the premiere
/// clock for the window while the viewers read.
async fn drive(setup: &Setup, args: &PremiereArgs) -> anyhow::Result<Measured> {
    let target = &setup.target;
    let rss_before = target.rss_bytes();
    let thinned_before = scrape(target, crate::metrics::THINNED).await;
    // The premiere clock: every viewer and participant is at prompt time
    // `epoch.elapsed()`.
    let epoch = Instant::now();
    let epoch_unix = super::viewer::unix_now();
    let posted = Arc::new(Posted::default());
    let group = connect_viewers(setup, args, epoch, posted.clone()).await;
    let rss_connected = target.rss_bytes();
    let connect_time = group.connect_time;
    let length = Duration::from_secs_f64(args.seconds);
    // Let the first posts travel before measuring.
    let window_start = Instant::now() + Duration::from_secs(1);
    let bar = super::report::progress("premiere", args.seconds + 1.0);
    let posters = spawn_posters(setup, args, epoch, window_start + length, &posted);
    let progress = super::report::follow_clock(&bar, epoch);
    let rss_peak = tokio::spawn({
        let pids = target.pids.clone();
        async move {
            tokio::time::sleep(length / 2).await;
            pids.iter()
                .map(|&p| super::target::rss_of(p))
                .sum::<Option<u64>>()
        }
    });
    let stats = group.run_for(window_start, length).await;
    let (mut accepted, mut errors) = (0, Errors::default());
    for t in posters {
        let (n, e) = t.await?;
        accepted += n;
        errors.merge(&e);
    }
    progress.abort();
    bar.finish_and_clear();
    let rss_mid = rss_peak.await.ok().flatten();
    let thinned_after = scrape(target, crate::metrics::THINNED).await;
    let mut conn = Conn::new(target.addr_for(0));
    let jwt = &setup.viewers[0].prompt_jwt;
    let commit_latency = commit_to_receive(&mut conn, jwt, epoch_unix, &stats).await?;
    Ok(Measured {
        length,
        accepted,
        stats,
        errors,
        commit_latency,
        connect_time,
        rss: (rss_before, rss_connected, rss_mid),
        thinned: (thinned_before, thinned_after),
    })
}

/// Connects every viewer, each at the premiere clock.
async fn connect_viewers(
    setup: &Setup,
    args: &PremiereArgs,
    epoch: Instant,
    posted: Arc<Posted>,
) -> ViewerGroup {
    let addrs = &setup.target.addrs;
    ViewerGroup::connect(
        |i| ViewerConfig {
            addr: addrs[i % addrs.len()],
            prompt_uid: setup.prompt_uid.clone(),
            jwt: setup.viewers[i].prompt_jwt.clone(),
            bandwidth: args.bandwidth,
            window: args.window,
            note_receipts: i % RECEIPT_VIEWERS == 0,
        },
        args.viewers,
        args.connect_concurrency,
        Arc::new(move |_| epoch.elapsed().as_secs_f64()),
        Some(posted),
        LATENCY_SAMPLE,
    )
    .await
}

/// One task per participant, posting at its share of the event rate until
/// `until`; each returns how many of its events were accepted, and its errors.
fn spawn_posters(
    setup: &Setup,
    args: &PremiereArgs,
    epoch: Instant,
    until: Instant,
    posted: &Arc<Posted>,
) -> Vec<tokio::task::JoinHandle<(u64, Errors)>> {
    let gap =
        Duration::from_secs_f64(1.0 / (args.event_rate / setup.posters.len() as f64).max(0.01));
    let posters = setup.posters.iter().enumerate();
    posters
        .map(|(i, s)| {
            let (posted, s) = (posted.clone(), s.clone());
            let conn = Conn::new(setup.target.addr_for(i));
            tokio::spawn(post(conn, s, posted, epoch, gap, until))
        })
        .collect()
}

/// One participant posting every `gap` at the premiere clock until `until`.
async fn post(
    mut conn: Conn,
    s: Session,
    posted: Arc<Posted>,
    epoch: Instant,
    gap: Duration,
    until: Instant,
) -> (u64, Errors) {
    let (mut ok, mut errors) = (0u64, Errors::default());
    let mut next = Instant::now() + gap.mul_f64(rand::random::<f64>());
    let mut script = Script::new("numeric");
    let mut last = -1.0f64;
    loop {
        let ending = next >= until;
        tokio::time::sleep_until(next.into()).await;
        let t = epoch.elapsed().as_secs_f64().max(last + 0.001);
        last = t;
        let (route, data) = script.next(ending);
        posted.insert(&s.session_uid, t, Instant::now());
        match api::post_event(&mut conn, &s, route, t, &data).await {
            Ok(r) if r.status == 201 => ok += 1,
            Ok(r) => errors.add(format!("{route} {}", r.error_type())),
            Err(e) => errors.add(e.kind()),
        }
        if ending {
            return (ok, errors);
        }
        // Never catch up in a burst (the server limits each session's rate).
        next = (next + gap).max(Instant::now());
    }
}

/// The report of a run.
fn report(setup: &Setup, m: &Measured, args: &PremiereArgs) -> Report {
    let (events, latency, late, drift, mut errors) = tally(&m.stats);
    errors.merge(&m.errors);
    let not_connected = (args.viewers - m.stats.len()) as u64;
    errors.by_count_add("viewers not connected", not_connected);
    let mut r = Report::new(format!(
        "premiere: {} viewers, bandwidth {}, {} participants posting {} events/s",
        args.viewers, args.bandwidth, args.participants, args.event_rate
    ));
    let secs = m.length.as_secs_f64();
    r.line("seconds", format!("{secs:.1}"));
    r.line("posted events accepted", m.accepted);
    r.line("deliveries", events);
    let ceiling = setup.ceiling.as_ref();
    r.ratio(
        "deliveries/s",
        events as f64 / secs,
        ceiling.map(|c| c.deliveries),
        "/s",
    );
    r.line(
        "offered (accepted × viewers)",
        m.accepted * args.viewers as u64,
    );
    r.line("post→receive latency", latency.summary());
    r.line("commit→receive latency", m.commit_latency.summary());
    r.line("events > 1 s late", late);
    r.line("max clock drift", format!("{drift:.3} s"));
    growth_lines(&mut r, "server thinned", &m.thinned.0, &m.thinned.1);
    let (before, connected, mid) = m.rss;
    if let (Some(b), Some(c)) = (before, connected.max(mid)) {
        let per_viewer = c.saturating_sub(b) as f64 / args.viewers as f64 / 1024.0;
        let (b, c) = (b as f64 / 1048576.0, c as f64 / 1048576.0);
        r.line(
            "server memory per viewer",
            format!("{per_viewer:.1} KiB (anonymous rss {b:.0} → {c:.0} MiB)"),
        );
    }
    if let Some(c) = ceiling {
        let memory = c
            .memory_per_viewer
            .map(|m| format!(", {:.1} KiB per viewer", m / 1024.0));
        r.line(
            "ceiling (frame server)",
            format!(
                "{:.0} deliveries/s{}",
                c.deliveries,
                memory.unwrap_or_default()
            ),
        );
    }
    r.line(
        "connect time",
        format!("{:.1} s", m.connect_time.as_secs_f64()),
    );
    r.line("errors", errors.summary());
    r.line("unexpected errors", errors.total());
    r
}

/// Commit → receive latency of the receipts viewers noted: from each
/// event's `created_at` (the server's clock when its row was written, just
/// before its group committed; read back through search) to the instant a
/// viewer read it. Both clocks are this machine's for a local server.
async fn commit_to_receive(
    conn: &mut Conn,
    prompt_jwt: &str,
    since: f64,
    stats: &[ViewerStats],
) -> anyhow::Result<Latency> {
    let created: HashMap<u64, f64> = api::created_since(conn, prompt_jwt, since)
        .await?
        .into_iter()
        .map(|(session, t, at)| (super::viewer::key(session.as_bytes(), t), at))
        .collect();
    let mut latency = Latency::default();
    for (event, received) in stats.iter().flat_map(|s| &s.received) {
        if let Some(created) = created.get(event) {
            latency.record(Duration::from_secs_f64((received - created).max(0.0)));
        }
    }
    Ok(latency)
}
