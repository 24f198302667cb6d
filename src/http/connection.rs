//! What one HTTP connection is doing, for its watchdog (docs/operations.md,
//! "Limits"): its socket wrapped so every byte read or written is noted,
//! and the requests in flight counted, so that a connection can be judged
//! *waiting for a request head* (bounded by the header timeout, from its
//! accept or from the first byte of the head), *idle between requests*
//! (bounded by the idle timeout) or *busy* (a handler runs: bounded by the
//! request timeout on its body and by the storage timeouts on its work).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `head_since` when no request head is being waited for.
const NO_HEAD: u64 = u64::MAX;

/// A connection's activity, shared by its socket, its requests and its
/// watchdog. Times are milliseconds since the accept.
#[derive(Debug)]
pub struct Activity {
    accepted: Instant,
    /// When a byte last moved, either way.
    last_io: AtomicU64,
    /// When the head being received began (its first byte, or the accept),
    /// or [`NO_HEAD`].
    head_since: AtomicU64,
    /// Requests whose handler has not finished.
    in_flight: AtomicUsize,
}

/// Why a watchdog closes a connection: the `reason` label of
/// `chorus_http_connections_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// A request head did not arrive in full within the header timeout.
    Header,
    /// No request came within the idle timeout of the last response.
    Idle,
}

impl Expired {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Expired::Header => "header_timeout",
            Expired::Idle => "idle_timeout",
        }
    }
}

/// What the watchdog concludes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Close the connection.
    Close(Expired),
    /// Look again after this long.
    CheckIn(Duration),
}

impl Activity {
    /// A connection accepted now: it is waiting for its first head.
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            accepted: Instant::now(),
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        self.accepted.elapsed().as_millis() as u64
    }

    fn read(&self) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            // The first byte of a head starts its clock; later ones do not
            // (a head sent a byte at a time is still one head).
            let _ = self.head_since.compare_exchange(
                NO_HEAD,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now_ms(), Ordering::Relaxed);
    }

    /// A request's head arrived and its handler starts; the handler is
    /// counted until the guard drops.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(NO_HEAD, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Whether the connection has outlived its timeouts, else when to
    /// look again.
    pub fn verdict(&self, header: Duration, idle: Duration) -> Verdict {
        let now = self.now_ms();
        let ms = |d: Duration| d.as_millis() as u64;
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Verdict::CheckIn(idle.min(header));
        }
        let head_since = self.head_since.load(Ordering::Relaxed);
        let (since, limit, why) = if head_since != NO_HEAD {
            (head_since, ms(header), Expired::Header)
        } else {
            (
                self.last_io.load(Ordering::Relaxed),
                ms(idle),
                Expired::Idle,
            )
        };
        let age = now.saturating_sub(since);
        if age >= limit {
            Verdict::Close(why)
        } else {
            Verdict::CheckIn(Duration::from_millis(limit - age))
        }
    }
}

/// A request in flight on its connection (see [`Activity::request_started`]).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        // The idle clock starts when the last response is done.
        self.0.wrote();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that reports every byte it moves to its [`Activity`].
pub struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Watched { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_millis(40);
    const IDLE: Duration = Duration::from_millis(300);

    #[test]
    fn a_silent_new_connection_is_held_to_the_header_timeout() {
        let a = Activity::new();
        assert!(matches!(a.verdict(HEADER, IDLE), Verdict::CheckIn(d) if d <= HEADER));
        std::thread::sleep(HEADER);
        assert_eq!(a.verdict(HEADER, IDLE), Verdict::Close(Expired::Header));
    }

    #[test]
    fn a_head_trickling_in_is_timed_from_its_first_byte() {
        let a = Activity::new();
        let guard = a.request_started();
        drop(guard);
        // Idle now; a byte starts a head, more bytes do not restart it.
        a.read();
        std::thread::sleep(HEADER / 2);
        a.read();
        std::thread::sleep(HEADER / 2 + Duration::from_millis(5));
        a.read();
        assert_eq!(a.verdict(HEADER, IDLE), Verdict::Close(Expired::Header));
    }

    #[test]
    fn busy_connections_are_never_closed_and_idle_ones_are_after_the_idle_timeout() {
        let a = Activity::new();
        let guard = a.request_started();
        std::thread::sleep(IDLE + HEADER);
        assert!(matches!(a.verdict(HEADER, IDLE), Verdict::CheckIn(_)));
        drop(guard);
        assert!(matches!(a.verdict(HEADER, IDLE), Verdict::CheckIn(d) if d > HEADER));
        std::thread::sleep(IDLE);
        assert_eq!(a.verdict(HEADER, IDLE), Verdict::Close(Expired::Idle));
    }
}
