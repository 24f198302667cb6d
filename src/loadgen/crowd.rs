//! Many stream viewers at once: connected with bounded concurrency, each
//! reading from the moment its handshake completes (so no server ever
//! sees a slow reader), measured over one shared window once all are in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use super::viewer::{self, Posted, ViewerConfig, ViewerStats};

/// Viewers connected and reading.
pub struct ViewerGroup {
    tasks: Vec<JoinHandle<ViewerStats>>,
    window: watch::Sender<Option<(Instant, Instant)>>,
    /// Viewers whose handshake completed.
    pub connected: usize,
    /// Viewers whose handshake failed.
    pub failed: usize,
    /// How long connecting them all took.
    pub connect_time: Duration,
}

/// A viewer's own prompt time at its handshake, from its index.
pub type StartOf = Arc<dyn Fn(usize) -> f64 + Send + Sync>;

impl ViewerGroup {
    /// Connects `n` viewers, at most `concurrency` handshakes at a time,
    /// and waits until every one is connected or failed (2 minutes at most).
    /// `cfg_of(i)` says where viewer `i` connects.
    pub async fn connect(
        cfg_of: impl Fn(usize) -> ViewerConfig,
        n: usize,
        concurrency: usize,
        start_of: StartOf,
        posted: Option<Arc<Posted>>,
        sample: u64,
    ) -> ViewerGroup {
        let started = Instant::now();
        let (window, window_rx) = watch::channel(None);
        let (tx, mut rx) = mpsc::channel(n.max(1));
        let gate = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            let (cfg, tx, win, posted, gate, start_of) = (
                cfg_of(i),
                tx.clone(),
                window_rx.clone(),
                posted.clone(),
                gate.clone(),
                start_of.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let permit = gate.acquire_owned().await.expect("gate open");
                let (ok_tx, mut ok_rx) = mpsc::channel(1);
                let run = viewer::run(cfg, start_of(i), ok_tx, win, posted, sample);
                tokio::pin!(run);
                // Hold the permit until the handshake is over.
                let stats = tokio::select! {
                    stats = &mut run => Some(stats),
                    ok = ok_rx.recv() => {
                        drop(permit);
                        let _ = tx.send(ok.unwrap_or(false)).await;
                        None
                    }
                };
                match stats {
                    Some(stats) => {
                        let _ = tx.send(false).await;
                        stats
                    }
                    None => run.await,
                }
            }));
        }
        drop(tx);
        let (mut connected, mut failed) = (0, 0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while connected + failed < n {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(true)) => connected += 1,
                Ok(Some(false)) => failed += 1,
                _ => break,
            }
        }
        ViewerGroup {
            tasks,
            window,
            connected,
            failed,
            connect_time: started.elapsed(),
        }
    }

    /// Announces the window `[start, start + length)` and collects every
    /// viewer's figures once it has ended.
    pub async fn run_for(self, start: Instant, length: Duration) -> Vec<ViewerStats> {
        let _ = self.window.send(Some((start, start + length)));
        let mut out = Vec::with_capacity(self.tasks.len());
        for t in self.tasks {
            if let Ok(s) = t.await {
                out.push(s);
            }
        }
        out
    }
}
