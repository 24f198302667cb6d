//! `chorus loadgen replay`: a prompt with a long stored history (filled
//! through the library before the server starts: setup, not measured),
//! replayed by many viewers at once, each with its own bandwidth. Measures
//! whether every viewer gets its share of the bandwidth and stays ahead
//! of its prompt clock.
//!
//! In three steps: [`plan`] (history, servers, sessions, ceiling),
//! [`drive`] (viewers connected and reading for the window) and [`report`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::api::{Credentials, Session};
use super::crowd::ViewerGroup;
use super::frames::StreamCeiling;
use super::report::Report;
use super::shared::{growth_lines, scrape, sessions, tally};
use super::target::{Plan, Target};
use super::viewer::{ViewerConfig, ViewerStats};
use crate::cli::loadgen::{ReplayArgs, TargetArgs};

/// Runs the scenario and returns its report.
pub async fn run(targs: &TargetArgs, args: &ReplayArgs) -> anyhow::Result<Report> {
    let setup = plan(targs, args).await?;
    let measured = drive(&setup, args).await;
    Ok(report(&setup, &measured, args))
}

/// What the run is set up with.
struct Setup {
    target: Target,
    ceiling: Option<StreamCeiling>,
    prompt_uid: String,
    viewers: Vec<Session>,
}

/// Fills the prompt's history, starts the server(s), measures the ceiling
/// and starts the viewers' sessions.
async fn plan(targs: &TargetArgs, args: &ReplayArgs) -> anyhow::Result<Setup> {
    let plan = Plan::new(targs)?;
    let creds = Credentials::new(&plan);
    let fill_into = match (&args.fill_database, targs.spawn) {
        (Some(path), _) => format!("sqlite://{}", path.display()),
        (None, true) => plan.database.clone().expect("spawned database"),
        (None, false) => bail!(
            "replay fills its prompt before the server starts: use --spawn, or --fill-database with a stopped server"
        ),
    };
    let filled = Instant::now();
    let prompt_uid = super::fill::fill(&fill_into, "numeric", args.duration, args.history).await?;
    eprintln!(
        "filled {} events in {:.1} s (setup)",
        args.history,
        filled.elapsed().as_secs_f64()
    );
    let target = plan.start()?;
    let ceiling = super::frames::ceiling(
        targs,
        args.viewers,
        args.bandwidth,
        args.connect_concurrency,
    )
    .await?;
    let viewers = sessions(&target, &creds, &prompt_uid, args.viewers, "replayer").await?;
    Ok(Setup {
        target,
        ceiling,
        prompt_uid,
        viewers,
    })
}

/// What the run measured.
struct Measured {
    length: Duration,
    stats: Vec<ViewerStats>,
    connect_time: Duration,
    /// Anonymous RSS before the viewers, once connected, and at the end.
    rss: (Option<u64>, Option<u64>, Option<u64>),
    thinned: (BTreeMap<String, f64>, BTreeMap<String, f64>),
}

/// Connects the viewers, their prompt clocks spread over `--spread`
/// seconds, and lets them read for the window.
async fn drive(setup: &Setup, args: &ReplayArgs) -> Measured {
    let target = &setup.target;
    let rss_before = target.rss_bytes();
    let thinned_before = scrape(target, crate::metrics::THINNED).await;
    let addrs = &target.addrs;
    let (n, spread) = (args.viewers.max(1), args.spread.max(0.0));
    let group = ViewerGroup::connect(
        |i| ViewerConfig {
            addr: addrs[i % addrs.len()],
            prompt_uid: setup.prompt_uid.clone(),
            jwt: setup.viewers[i].prompt_jwt.clone(),
            bandwidth: args.bandwidth,
            window: args.window,
            note_receipts: false,
        },
        n,
        args.connect_concurrency,
        Arc::new(move |i| spread * i as f64 / n as f64),
        None,
        1,
    )
    .await;
    let rss_connected = target.rss_bytes();
    let connect_time = group.connect_time;
    // Skip the first seconds: every viewer starts with a one-second burst.
    let window_start = Instant::now() + Duration::from_secs(2);
    let length = Duration::from_secs_f64(args.seconds);
    let bar = super::report::progress("replay", args.seconds + 2.0);
    let progress = super::report::follow_clock(&bar, Instant::now());
    let stats = group.run_for(window_start, length).await;
    progress.abort();
    bar.finish_and_clear();
    Measured {
        length,
        stats,
        connect_time,
        rss: (rss_before, rss_connected, target.rss_bytes()),
        thinned: (
            thinned_before,
            scrape(target, crate::metrics::THINNED).await,
        ),
    }
}

/// Each viewer's deliveries per second over its due share, sorted.
fn shares(m: &Measured, args: &ReplayArgs) -> (f64, Vec<f64>) {
    let secs = m.length.as_secs_f64();
    // A viewer's due share: its bandwidth, or everything stored when the
    // prompt holds fewer events a second than that.
    let available = args.history as f64 / args.duration.max(1) as f64;
    let due = (args.bandwidth as f64).min(available).max(1e-9);
    let mut shares: Vec<f64> = m
        .stats
        .iter()
        .map(|s| s.events as f64 / secs / due)
        .collect();
    shares.sort_by(|a, b| a.total_cmp(b));
    (due, shares)
}

/// The report of a run.
fn report(setup: &Setup, m: &Measured, args: &ReplayArgs) -> Report {
    let (events, _, late, drift, errors) = tally(&m.stats);
    let secs = m.length.as_secs_f64();
    let (due, shares) = shares(m, args);
    let at = |q: f64| {
        let i = ((shares.len() as f64 - 1.0) * q).round() as usize;
        shares.get(i).copied().unwrap_or(0.0)
    };
    let below = shares.iter().filter(|&&s| s < 0.9).count();
    let behind = m.stats.iter().filter(|s| s.late > 0 || s.max_lag > 0.5);
    let max_late = m.stats.iter().map(|s| s.max_late).fold(f64::MIN, f64::max);
    let lag = m.stats.iter().map(|s| s.max_lag).fold(0.0, f64::max);
    let mut r = Report::new(format!(
        "replay: {} viewers, bandwidth {}, {} stored events over {} s",
        args.viewers, args.bandwidth, args.history, args.duration
    ));
    r.line("seconds", format!("{secs:.1}"));
    r.line("deliveries", events);
    let ceiling = setup.ceiling.as_ref().map(|c| c.deliveries);
    r.ratio("deliveries/s", events as f64 / secs, ceiling, "/s");
    let (min, p10, median, max) = (at(0.0), at(0.1), at(0.5), at(1.0));
    r.line(
        "received / due share per viewer",
        format!("min {min:.2}, p10 {p10:.2}, median {median:.2}, max {max:.2}"),
    );
    r.line(
        "due share per viewer",
        format!("{due:.1} events/s (bandwidth, or all that is stored)"),
    );
    r.line("viewers below 90 % of bandwidth", below);
    r.line(
        "viewers behind their clock",
        format!("{} ({late} events > 1 s late, server's clock behind the viewer's by at most {lag:.3} s; max |drift| {drift:.3} s)", behind.count()),
    );
    r.line(
        "latest event vs clock",
        format!("{max_late:.3} s (negative = ahead)"),
    );
    growth_lines(&mut r, "server thinned", &m.thinned.0, &m.thinned.1);
    let (before, connected, after) = m.rss;
    if let (Some(b), Some(c)) = (before, connected.max(after)) {
        let n = args.viewers.max(1) as f64;
        let per_viewer = c.saturating_sub(b) as f64 / n / 1024.0;
        r.line("server memory per viewer", format!("{per_viewer:.1} KiB"));
    }
    if let Some(c) = ceiling {
        r.line("ceiling (frame server)", format!("{c:.0} deliveries/s"));
    }
    r.line(
        "connect time",
        format!("{:.1} s", m.connect_time.as_secs_f64()),
    );
    r.line("errors", errors.summary());
    r.line("unexpected errors", errors.total());
    r
}
