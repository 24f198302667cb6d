//! `chorus loadgen premiere`: thousands of viewers on one prompt while
//! participants post live at the premiere clock. Measures deliveries per
//! second, post → receive and commit → receive latency, what the server
//! thinned away, and the server's memory per viewer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::api::{self, Credentials, Session};
use super::client::Conn;
use super::crowd::ViewerGroup;
use super::histogram::Latency;
use super::report::{Errors, Report};
use super::script::Script;
use super::target::{Plan, Target};
use super::viewer::{Posted, ViewerConfig, ViewerStats};
use crate::cli::loadgen::{PremiereArgs, TargetArgs};

/// Check one batch in this many against the posted events for latency.
const LATENCY_SAMPLE: u64 = 4;

/// One viewer in this many notes when its checked events arrived, for
/// commit → receive latency (viewer 0 always does).
const RECEIPT_VIEWERS: usize = 50;

/// Sums the Prometheus samples of `metric` by label set, over every server.
pub async fn scrape(target: &Target, metric: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for &addr in &target.addrs {
        let Ok(resp) = Conn::new(addr).get("/metrics", None).await else {
            continue;
        };
        for line in String::from_utf8_lossy(&resp.body).lines() {
            let Some(rest) = line.strip_prefix(metric) else {
                continue;
            };
            let (labels, value) = rest.rsplit_once(' ').unwrap_or(("", "0"));
            if labels.starts_with('{') || labels.is_empty() {
                *out.entry(labels.to_owned()).or_default() += value.parse::<f64>().unwrap_or(0.0);
            }
        }
    }
    out
}

/// Starts `n` sessions of `prompt_uid` over a few connections.
pub async fn sessions(
    target: &Target,
    creds: &Credentials,
    prompt_uid: &str,
    n: usize,
    tag: &str,
) -> anyhow::Result<Vec<Session>> {
    let lanes = 16.min(n.max(1));
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let (creds, uid, tag) = (creds.clone(), prompt_uid.to_owned(), tag.to_owned());
        let mut conn = Conn::new(target.addr_for(lane));
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (lane..n).step_by(lanes) {
                out.push(
                    api::must_start_session(&mut conn, &creds, &uid, &format!("{tag}-{i}")).await?,
                );
            }
            anyhow::Ok(out)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(all)
}

/// Sums viewer figures: (events, latency, late events, max drift, errors).
pub fn tally(stats: &[ViewerStats]) -> (u64, Latency, u64, f64, Errors) {
    let (mut events, mut latency, mut late, mut drift, mut errors) =
        (0, Latency::default(), 0, 0.0f64, Errors::default());
    for s in stats {
        events += s.events;
        latency.merge(&s.latency);
        late += s.late;
        drift = drift.max(s.max_drift);
        if let Some(e) = &s.error {
            errors.add(format!("viewer {}", e.split(':').next().unwrap_or(e)));
        }
    }
    (events, latency, late, drift, errors)
}

/// Runs the scenario and returns its report.
pub async fn run(targs: &TargetArgs, args: &PremiereArgs) -> anyhow::Result<Report> {
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
    let viewer_sessions = sessions(&target, &creds, &prompt_uid, args.viewers, "viewer").await?;
    let posters = sessions(
        &target,
        &creds,
        &prompt_uid,
        args.participants.max(1),
        "poster",
    )
    .await?;
    let rss_before = target.rss_bytes();
    let thinned_before = scrape(&target, crate::metrics::THINNED).await;
    // The premiere clock: every viewer and participant is at prompt time
    // `epoch.elapsed()`.
    let epoch = Instant::now();
    let epoch_unix = super::viewer::unix_now();
    let posted = Arc::new(Posted::default());
    let addrs = target.addrs.clone();
    let group = ViewerGroup::connect(
        |i| ViewerConfig {
            addr: addrs[i % addrs.len()],
            prompt_uid: prompt_uid.clone(),
            jwt: viewer_sessions[i].prompt_jwt.clone(),
            bandwidth: args.bandwidth,
            window: args.window,
            note_receipts: i % RECEIPT_VIEWERS == 0,
        },
        args.viewers,
        args.connect_concurrency,
        Arc::new(move |_| epoch.elapsed().as_secs_f64()),
        Some(posted.clone()),
        LATENCY_SAMPLE,
    )
    .await;
    let rss_connected = target.rss_bytes();
    let connect_time = group.connect_time;
    let length = Duration::from_secs_f64(args.seconds);
    // Let the first posts travel before measuring.
    let window_start = Instant::now() + Duration::from_secs(1);
    let bar = super::report::progress("premiere", args.seconds + 1.0);
    let post_until = window_start + length;
    let per_poster = args.event_rate / posters.len() as f64;
    let mut post_tasks = Vec::new();
    for (i, s) in posters.into_iter().enumerate() {
        let (posted, mut conn) = (posted.clone(), Conn::new(target.addr_for(i)));
        post_tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors) = (0u64, Errors::default());
            let gap = Duration::from_secs_f64(1.0 / per_poster.max(0.01));
            let mut next = Instant::now() + gap.mul_f64(rand::random::<f64>());
            let mut script = Script::new("numeric");
            let mut last = -1.0f64;
            loop {
                let ending = next >= post_until;
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
        }));
    }
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
    let (mut accepted, mut post_errors) = (0, Errors::default());
    for t in post_tasks {
        let (n, e) = t.await?;
        accepted += n;
        post_errors.merge(&e);
    }
    progress.abort();
    bar.finish_and_clear();
    let rss_mid = rss_peak.await.ok().flatten();
    let thinned_after = scrape(&target, crate::metrics::THINNED).await;
    let (events, latency, late, drift, mut errors) = tally(&stats);
    let commit_latency = commit_to_receive(
        &mut conn,
        &viewer_sessions[0].prompt_jwt,
        epoch_unix,
        &stats,
    )
    .await?;
    errors.merge(&post_errors);
    errors.by_count_add("viewers not connected", group_failed(&stats, args.viewers));
    let mut r = Report::new(format!(
        "premiere: {} viewers, bandwidth {}, {} participants posting {} events/s",
        args.viewers, args.bandwidth, args.participants, args.event_rate
    ));
    r.line("seconds", format!("{:.1}", length.as_secs_f64()));
    r.line("posted events accepted", accepted);
    r.line("deliveries", events);
    let rate = events as f64 / length.as_secs_f64();
    r.ratio(
        "deliveries/s",
        rate,
        ceiling.as_ref().map(|c| c.deliveries),
        "/s",
    );
    r.line(
        "offered (accepted × viewers)",
        accepted * args.viewers as u64,
    );
    r.line("post→receive latency", latency.summary());
    r.line("commit→receive latency", commit_latency.summary());
    r.line("events > 1 s late", late);
    r.line("max clock drift", format!("{drift:.3} s"));
    for (labels, after) in &thinned_after {
        let n = after - thinned_before.get(labels).copied().unwrap_or(0.0);
        r.line(&format!("server thinned {labels}"), format!("{n:.0}"));
    }
    if let (Some(b), Some(c)) = (rss_before, rss_connected.max(rss_mid)) {
        r.line(
            "server memory per viewer",
            format!(
                "{:.1} KiB (anonymous rss {:.0} → {:.0} MiB)",
                c.saturating_sub(b) as f64 / args.viewers as f64 / 1024.0,
                b as f64 / 1048576.0,
                c as f64 / 1048576.0
            ),
        );
    }
    if let Some(c) = &ceiling {
        r.line(
            "ceiling (frame server)",
            format!(
                "{:.0} deliveries/s{}",
                c.deliveries,
                c.memory_per_viewer
                    .map(|m| format!(", {:.1} KiB per viewer", m / 1024.0))
                    .unwrap_or_default()
            ),
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

fn group_failed(stats: &[ViewerStats], n: usize) -> u64 {
    (n - stats.len()) as u64
}
