//! `chorus loadgen proxy`: a TCP proxy that holds every byte back for a
//! fixed delay in each direction, so that a server on this machine talks
//! to PostgreSQL or Redis across a round trip of twice that delay, as in
//! a data centre (this machine's kernel has no `netem`).
//!
//! Each connection is carried by two one-way pipes. A pipe's reader stamps
//! each chunk it reads with the time it may leave (read time + delay) and
//! queues it; its writer writes the chunks in order, each once its time has
//! come. The queue holds at most [`CHUNKS_QUEUED`] chunks of at most
//! [`CHUNK_BYTES`] each, so a connection holds at most 8 MiB however fast
//! one side sends: when the queue is full the reader stops reading and TCP
//! pushes back on the sender. An end of stream is passed on after the
//! bytes before it; an error on either side closes the whole connection.
//! SIGTERM or Ctrl-C stops the proxy: it stops accepting, closes every
//! connection it carries and exits 0.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::cli::loadgen::ProxyArgs;
use crate::loadgen::target::loopback_addr;

/// The most bytes one read takes from a socket.
pub const CHUNK_BYTES: usize = 16 * 1024;
/// The most chunks a pipe holds back at once.
pub const CHUNKS_QUEUED: usize = 256;

/// Runs the proxy until SIGTERM or Ctrl-C. Prints `proxy listening on
/// ADDR` first (with the port picked, for `--listen 127.0.0.1:0`).
pub async fn serve(args: &ProxyArgs) -> anyhow::Result<()> {
    if !(args.delay_ms.is_finite() && (0.0..=10_000.0).contains(&args.delay_ms)) {
        bail!("--delay-ms must be between 0 and 10000");
    }
    let delay = Duration::from_secs_f64(args.delay_ms / 1e3);
    let to = loopback_addr(&args.to)?;
    let listen = loopback_addr(&args.listen)?;
    let listener = crate::app::bind(&listen.to_string())
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "proxy listening on {}, to {to}, {} ms each way",
        listener.local_addr()?,
        args.delay_ms
    )?;
    stdout.flush()?;
    drop(stdout);
    let clock = Clock::start();
    let mut connections = JoinSet::new();
    let shutdown = crate::app::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(carry(client, to, delay, clock.clone()));
                }
                // Out of file descriptors, say: wait a little, go on.
                Err(e) => {
                    tracing::warn!("proxy accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    Ok(())
}

/// Carries one connection until both directions have ended, or either
/// fails.
async fn carry(client: TcpStream, to: SocketAddr, delay: Duration, clock: Clock) {
    let Ok(server) = TcpStream::connect(to).await else {
        return;
    };
    // Small writes go out at once: the delay is ours to add, not Nagle's.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let _ = tokio::try_join!(
        pipe(client_read, server_write, delay, &clock),
        pipe(server_read, client_write, delay, &clock),
    );
}

/// One direction: bytes read from `from` are written to `to` in order,
/// each chunk no sooner than `delay` after it was read.
async fn pipe(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    delay: Duration,
    clock: &Clock,
) -> std::io::Result<()> {
    let (queue, mut queued) = mpsc::channel::<(Instant, Vec<u8>)>(CHUNKS_QUEUED);
    let read = async move {
        let mut buf = vec![0; CHUNK_BYTES];
        loop {
            let n = from.read(&mut buf).await?;
            if n == 0 {
                return Ok(()); // the writer passes the end on after the rest
            }
            let due = Instant::now() + delay;
            if queue.send((due, buf[..n].to_vec())).await.is_err() {
                return Ok(()); // the writer stopped; its error says why
            }
        }
    };
    let write = async move {
        while let Some((due, bytes)) = queued.recv().await {
            clock.sleep_until(due).await;
            to.write_all(&bytes).await?;
        }
        to.shutdown().await
    };
    tokio::try_join!(read, write).map(|_| ())
}

/// Wakes tasks at sub-millisecond deadlines. Tokio's timer rounds every
/// deadline up to a whole millisecond, which would turn a 0.5 ms delay
/// into 1–1.5 ms; one thread of ours sleeps to the microsecond instead.
#[derive(Clone)]
struct Clock(Sender<Alarm>);

/// A task waiting for `due`.
struct Alarm {
    due: Instant,
    wake: oneshot::Sender<()>,
}

// Ordered so that `BinaryHeap` (a max-heap) pops the earliest first.
impl Ord for Alarm {
    fn cmp(&self, other: &Self) -> Ordering {
        other.due.cmp(&self.due)
    }
}
impl PartialOrd for Alarm {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Alarm {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due
    }
}
impl Eq for Alarm {}

impl Clock {
    /// Starts the clock's thread; it ends when every clone is dropped.
    fn start() -> Clock {
        let (alarms, received) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("chorus-proxy-clock".into())
            .spawn(move || ring(received))
            .expect("starting the proxy's clock thread");
        Clock(alarms)
    }

    /// Completes at `due` (at once if it has passed).
    async fn sleep_until(&self, due: Instant) {
        if due <= Instant::now() {
            return;
        }
        let (wake, woken) = oneshot::channel();
        if self.0.send(Alarm { due, wake }).is_ok() {
            let _ = woken.await;
        }
    }
}

/// The clock's thread: wakes each alarm when it is due.
fn ring(received: Receiver<Alarm>) {
    let mut alarms = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while alarms.peek().is_some_and(|a: &Alarm| a.due <= now) {
            let _ = alarms.pop().expect("peeked").wake.send(());
        }
        let next = match alarms.peek() {
            Some(first) => received.recv_timeout(first.due - now),
            None => received.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(alarm) => alarms.push(alarm),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
