//! `chorus loadgen replay`: a prompt with a long stored history (filled
//! through the library before the server starts: setup, not measured),
//! replayed by many viewers at once, each with its own bandwidth. Measures
//! whether every viewer gets its share of the bandwidth and stays ahead
//! of its prompt clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::api::Credentials;
use super::crowd::ViewerGroup;
use super::premiere::{scrape, sessions, tally};
use super::report::Report;
use super::target::Plan;
use super::viewer::ViewerConfig;
use crate::cli::loadgen::{ReplayArgs, TargetArgs};

/// Runs the scenario and returns its report.
pub async fn run(targs: &TargetArgs, args: &ReplayArgs) -> anyhow::Result<Report> {
    let plan = Plan::new(targs)?;
    let creds = Credentials::new(&plan);
    let fill_into = match (&args.fill_database, plan.sqlite_path()) {
        (Some(path), _) => format!("sqlite://{}", path.display()),
        (None, Some(_)) if targs.spawn => plan.database.clone().expect("spawned database"),
        (None, _) if targs.spawn => plan.database.clone().expect("spawned database"),
        _ => bail!(
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
    let viewer_sessions = sessions(&target, &creds, &prompt_uid, args.viewers, "replayer").await?;
    let rss_before = target.rss_bytes();
    let thinned_before = scrape(&target, crate::metrics::THINNED).await;
    let addrs = target.addrs.clone();
    let (n, spread) = (args.viewers.max(1), args.spread.max(0.0));
    let group = ViewerGroup::connect(
        |i| ViewerConfig {
            addr: addrs[i % addrs.len()],
            prompt_uid: prompt_uid.clone(),
            jwt: viewer_sessions[i].prompt_jwt.clone(),
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
    let rss_after = target.rss_bytes();
    let thinned_after = scrape(&target, crate::metrics::THINNED).await;
    let (events, _, late, drift, errors) = tally(&stats);
    let secs = length.as_secs_f64();
    // A viewer's due share: its bandwidth, or everything stored when the
    // prompt holds fewer events a second than that.
    let available = args.history as f64 / args.duration.max(1) as f64;
    let due = (args.bandwidth as f64).min(available).max(1e-9);
    let mut shares: Vec<f64> = stats.iter().map(|s| s.events as f64 / secs / due).collect();
    shares.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| {
        shares
            .get(((shares.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let below = shares.iter().filter(|&&s| s < 0.9).count();
    let behind = stats
        .iter()
        .filter(|s| s.late > 0 || s.max_lag > 0.5)
        .count();
    let max_late = stats.iter().map(|s| s.max_late).fold(f64::MIN, f64::max);
    let lag = stats.iter().map(|s| s.max_lag).fold(0.0, f64::max);
    let mut r = Report::new(format!(
        "replay: {} viewers, bandwidth {}, {} stored events over {} s",
        args.viewers, args.bandwidth, args.history, args.duration
    ));
    r.line("seconds", format!("{secs:.1}"));
    r.line("deliveries", events);
    r.ratio(
        "deliveries/s",
        events as f64 / secs,
        ceiling.as_ref().map(|c| c.deliveries),
        "/s",
    );
    r.line(
        "received / due share per viewer",
        format!(
            "min {:.2}, p10 {:.2}, median {:.2}, max {:.2}",
            at(0.0),
            at(0.1),
            at(0.5),
            at(1.0)
        ),
    );
    r.line(
        "due share per viewer",
        format!("{due:.1} events/s (bandwidth, or all that is stored)"),
    );
    r.line("viewers below 90 % of bandwidth", below);
    r.line(
        "viewers behind their clock",
        format!("{behind} ({late} events > 1 s late, server's clock behind the viewer's by at most {lag:.3} s; max |drift| {drift:.3} s)"),
    );
    r.line(
        "latest event vs clock",
        format!("{max_late:.3} s (negative = ahead)"),
    );
    for (labels, after) in &thinned_after {
        let n = after - thinned_before.get(labels).copied().unwrap_or(0.0);
        r.line(&format!("server thinned {labels}"), format!("{n:.0}"));
    }
    if let (Some(b), Some(c)) = (rss_before, rss_connected.max(rss_after)) {
        r.line(
            "server memory per viewer",
            format!("{:.1} KiB", c.saturating_sub(b) as f64 / n as f64 / 1024.0),
        );
    }
    if let Some(c) = &ceiling {
        r.line(
            "ceiling (frame server)",
            format!("{:.0} deliveries/s", c.deliveries),
        );
    }
    r.line(
        "connect time",
        format!("{:.1} s", connect_time.as_secs_f64()),
    );
    r.line("errors", errors.summary());
    r.line("unexpected errors", errors.total());
    Ok(r)
}
