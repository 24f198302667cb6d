//! The ceiling of the stream scenarios: the same viewers, on a server
//! that does nothing but push pre-serialized `event_batch` frames of the
//! same size and rate (every 100 ms, `bandwidth / 10` items). It runs as
//! a child process (`chorus loadgen frame-server`), like the real server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::cli::loadgen::{FrameServerArgs, TargetArgs};

/// Serves frames to every WebSocket that connects, until killed.
pub async fn serve(args: &FrameServerArgs) -> anyhow::Result<()> {
    let listener = crate::app::bind("127.0.0.1:0").await?;
    println!("frame server listening on ws://{}", listener.local_addr()?);
    let per_tick = (args.bandwidth as usize).div_ceil(10).max(1);
    let item = format!(
        r#"{{"uid":"ipe_{}","user_sub":"frame","session_uid":"ips_frame","evtype":"like","icon":null,"data":{{}},"prompt_time":1.0}}"#,
        "x".repeat(args.item_bytes.saturating_sub(110).max(22))
    );
    let items = vec![item.as_str(); per_tick];
    let frame: Arc<str> = crate::stream::packets::event_batch(items.into_iter()).into();
    loop {
        let (tcp, _) = listener.accept().await?;
        let frame = frame.clone();
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            // The same handshake shape as the real stream.
            if ws.next().await.is_none() {
                return;
            }
            let sync = r#"{"success":true,"type":"sync_request","uid":"pkt","data":{}}"#;
            if ws.send(Message::Text(sync.into())).await.is_err() || ws.next().await.is_none() {
                return;
            }
            let auth = r#"{"success":true,"type":"auth_response","uid":"pkt","data":{}}"#;
            if ws.send(Message::Text(auth.into())).await.is_err() {
                return;
            }
            let (mut sink, mut incoming) = ws.split();
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if sink.send(Message::Text(frame.as_ref().into())).await.is_err() {
                            return;
                        }
                    }
                    m = incoming.next() => if !matches!(m, Some(Ok(_))) { return },
                }
            }
        });
    }
}

/// A running frame server child, killed on drop.
pub struct FrameServer {
    /// Its address.
    pub addr: std::net::SocketAddr,
    child: Child,
}

impl FrameServer {
    /// Starts `chorus loadgen frame-server`.
    pub fn start(bandwidth: u32) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args([
                "loadgen",
                "frame-server",
                "--bandwidth",
                &bandwidth.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the frame server")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .context("reading the frame server's address")?;
        let url = line.trim().rsplit(' ').next().unwrap_or_default();
        let addr = super::target::loopback_addr(url)?;
        Ok(FrameServer { addr, child })
    }

    /// Its resident memory, in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        super::target::rss_of(self.child.id())
    }
}

impl Drop for FrameServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Result of the stream ceiling run.
pub struct StreamCeiling {
    /// Events delivered per second over all viewers.
    pub deliveries: f64,
    /// Frame server memory per viewer, bytes.
    pub memory_per_viewer: Option<f64>,
}

/// A stream scenario's same-run ceiling (none with `--no-ceiling`): see
/// [`measure`].
pub async fn ceiling(
    targs: &TargetArgs,
    viewers: usize,
    bandwidth: u32,
    connect_concurrency: usize,
) -> anyhow::Result<Option<StreamCeiling>> {
    if targs.no_ceiling {
        return Ok(None);
    }
    let seconds = targs.ceiling_seconds;
    measure(viewers, bandwidth, seconds, connect_concurrency)
        .await
        .map(Some)
}

/// Connects `viewers` viewers to a frame server pushing `bandwidth` events
/// per second each, and measures deliveries per second for `seconds`.
async fn measure(
    viewers: usize,
    bandwidth: u32,
    seconds: f64,
    connect_concurrency: usize,
) -> anyhow::Result<StreamCeiling> {
    let server = FrameServer::start(bandwidth)?;
    let before = server.rss_bytes();
    let cfg = super::viewer::ViewerConfig {
        addr: server.addr,
        prompt_uid: "ip_frames".into(),
        jwt: "none".into(),
        bandwidth,
        window: 1.0,
        note_receipts: false,
    };
    let group = super::crowd::ViewerGroup::connect(
        |_| cfg.clone(),
        viewers,
        connect_concurrency,
        Arc::new(|_| 0.0),
        None,
        1,
    )
    .await;
    let after = server.rss_bytes();
    let window_start = Instant::now();
    let stats = group
        .run_for(window_start, Duration::from_secs_f64(seconds))
        .await;
    let events: u64 = stats.iter().map(|s| s.events).sum();
    Ok(StreamCeiling {
        deliveries: events as f64 / seconds,
        memory_per_viewer: before
            .zip(after)
            .map(|(b, a)| a.saturating_sub(b) as f64 / viewers.max(1) as f64),
    })
}
