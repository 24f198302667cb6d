//! `chorus loadgen stats`: clients polling stats as the web client does —
//! one request for the bin its prompt clock is in, each bin width. Closed
//! loop: each connection cycles through its simulated clients as fast as
//! answers come, so the rate reached, times the bin width, is how many
//! real clients the server could keep up with.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::api::{self, Credentials};
use super::client::Conn;
use super::histogram::Latency;
use super::report::{self, Errors, Report};
use super::script::Script;
use super::target::Plan;
use crate::cli::loadgen::{StatsArgs, TargetArgs};

/// Bins of a prompt lasting `d` seconds (SPEC §4).
fn bins(d: i64) -> u32 {
    if d <= 1 {
        1
    } else {
        (d as u64).next_power_of_two() as u32 - 1
    }
}

/// Runs the scenario and returns its report.
pub async fn run(targs: &TargetArgs, args: &StatsArgs) -> anyhow::Result<Report> {
    let plan = Plan::new(targs)?;
    let creds = Credentials::new(&plan);
    let target = plan.start()?;
    let mut conn = Conn::new(target.addr_for(0));
    let prompt = api::prompt_of_style("numeric")?;
    // (uid, prompt token) per prompt, after seeding some history.
    let mut prompts = Vec::new();
    for p in 0..args.prompts.max(1) {
        let uid = creds
            .create_prompt(&mut conn, &prompt, args.duration)
            .await?;
        let mut jwt = String::new();
        let sessions = args.seed_events.div_ceil(7).max(1);
        for s in 0..sessions {
            let session =
                api::must_start_session(&mut conn, &creds, &uid, &format!("seed-{p}-{s}")).await?;
            let mut script = Script::new("numeric");
            let start = rand::random::<f64>() * (args.duration as f64 - 10.0).max(0.0);
            for k in 0..7 {
                let (route, data) = script.next(k == 6);
                api::post_event(&mut conn, &session, route, start + k as f64, &data).await?;
            }
            jwt = session.prompt_jwt;
        }
        prompts.push((uid, jwt));
    }
    let prompts = Arc::new(prompts);
    let ceiling = match targs.no_ceiling {
        true => None,
        false => Some(super::ceiling::http(&target, args.connections, targs.ceiling_seconds).await),
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let done = Arc::new(AtomicU64::new(0));
    let bar = report::progress("stats", args.seconds);
    let (nbins, duration) = (bins(args.duration), args.duration as f64);
    let mut tasks = Vec::new();
    let connections = args.connections.max(1);
    for w in 0..connections {
        let clients: Vec<(usize, f64)> = (w..args.clients.max(connections))
            .step_by(connections)
            .map(|c| (c % prompts.len(), rand::random::<f64>() * duration * 0.5))
            .collect();
        let (prompts, done) = (prompts.clone(), done.clone());
        let mut conn = Conn::new(target.addr_for(w));
        tasks.push(tokio::spawn(async move {
            let (mut latency, mut errors, mut ok) = (Latency::default(), Errors::default(), 0u64);
            let mut i = 0;
            while Instant::now() < deadline {
                let (p, offset) = clients[i % clients.len()];
                i += 1;
                let t = (offset + started.elapsed().as_secs_f64()) % duration;
                let bin = ((t * nbins as f64 / duration) as u32).min(nbins - 1);
                let sent = Instant::now();
                match api::stats(&mut conn, &prompts[p].0, &prompts[p].1, bin).await {
                    Ok(r) if r.status == 200 => {
                        ok += 1;
                        done.fetch_add(1, Ordering::Relaxed);
                        latency.record(sent.elapsed());
                    }
                    Ok(r) => errors.add(r.error_type()),
                    Err(e) => errors.add(e.kind()),
                }
            }
            (ok, latency, errors)
        }));
    }
    let ticker = {
        let (bar, done) = (bar.clone(), done.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let secs = started.elapsed().as_secs_f64();
                bar.set_position((secs * 10.0) as u64);
                bar.set_message(format!(
                    "{:.0} req/s",
                    done.load(Ordering::Relaxed) as f64 / secs
                ));
            }
        })
    };
    let (mut ok, mut latency, mut errors) = (0, Latency::default(), Errors::default());
    for t in tasks {
        let (n, l, e) = t.await?;
        ok += n;
        latency.merge(&l);
        errors.merge(&e);
    }
    let elapsed = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    let bin_width = duration / nbins as f64;
    let rate = report::per_second(ok, elapsed);
    let mut r = Report::new(format!(
        "stats: {} connections, {} clients over {} prompt(s) of {} bins",
        connections,
        args.clients,
        prompts.len(),
        nbins
    ));
    r.line("seconds", format!("{:.1}", elapsed.as_secs_f64()));
    r.line("answered requests", ok);
    r.ratio(
        "stats requests/s",
        rate,
        ceiling.as_ref().map(|c| c.rate),
        "/s",
    );
    r.line("stats latency", latency.summary());
    r.line(
        "real clients served",
        format!(
            "{:.0} (one request per bin width, {bin_width:.3} s)",
            rate * bin_width
        ),
    );
    if let Some(c) = &ceiling {
        r.line(
            "ceiling (GET /healthz)",
            format!("{:.0} req/s, {}", c.rate, c.latency.summary()),
        );
    }
    r.line("errors", errors.summary());
    r.line("unexpected errors", errors.total());
    Ok(r)
}
