//! The machine's ceiling for HTTP work, measured in the same run as the
//! scenario: closed-loop `GET /healthz` over the same number of
//! connections with the same client. Scenario figures are reported as a
//! ratio of it, which drifts far less than absolute numbers on a shared
//! machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::client::Conn;
use super::histogram::Latency;
use super::target::Target;

/// Requests per second and latency of the trivial endpoint.
pub struct HttpCeiling {
    /// Responses per second.
    pub rate: f64,
    /// Their latency.
    pub latency: Latency,
}

/// Runs closed-loop `GET /healthz` on `connections` connections for `seconds`.
pub async fn http(target: &Target, connections: usize, seconds: f64) -> HttpCeiling {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..connections {
        let mut conn = Conn::new(target.addr_for(i));
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut latency = Latency::default();
            let mut ok = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if let Ok(r) = conn.get("/healthz", None).await
                    && r.status == 200
                {
                    ok += 1;
                    latency.record(t.elapsed());
                }
            }
            (ok, latency)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut total = 0;
    let mut latency = Latency::default();
    for t in tasks {
        if let Ok((n, l)) = t.await {
            total += n;
            latency.merge(&l);
        }
    }
    HttpCeiling {
        rate: total as f64 / elapsed.as_secs_f64(),
        latency,
    }
}
