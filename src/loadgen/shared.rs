//! What the stream scenarios (premiere, replay) share: sessions started
//! over a few connections, the server's metrics scraped before and after,
//! and the viewers' figures summed.

use std::collections::BTreeMap;

use super::api::{self, Credentials, Session};
use super::client::Conn;
use super::histogram::Latency;
use super::report::{Errors, Report};
use super::target::Target;
use super::viewer::ViewerStats;

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

/// Adds one line per label set of a counter: how much it grew from `before` to `after`.
pub fn growth_lines(
    r: &mut Report,
    what: &str,
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) {
    for (labels, after) in after {
        let n = after - before.get(labels).copied().unwrap_or(0.0);
        r.line(&format!("{what} {labels}"), format!("{n:.0}"));
    }
}
