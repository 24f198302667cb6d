//! A stream viewer as a real client runs it: authorize, answer the clock
//! sync with its own prompt time, then read `event_batch` packets until
//! told to stop. Batches are scanned, not parsed into a tree, so thousands
//! of viewers fit beside the server on one machine.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use memchr::memmem;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::histogram::Latency;

/// When each posted event was sent, keyed by (session uid, prompt time),
/// so viewers can measure post → receive latency.
#[derive(Default)]
pub struct Posted {
    shards: [Mutex<HashMap<u64, Instant>>; 16],
}

/// The key of the event of `session_uid` at `prompt_time` (a hash).
pub fn key(session_uid: &[u8], prompt_time: f64) -> u64 {
    let mut h = DefaultHasher::new();
    session_uid.hash(&mut h);
    prompt_time.to_bits().hash(&mut h);
    h.finish()
}

impl Posted {
    /// Notes that the event of `session_uid` at `prompt_time` is being sent now.
    pub fn insert(&self, session_uid: &str, prompt_time: f64, at: Instant) {
        let k = key(session_uid.as_bytes(), prompt_time);
        self.shards[(k % 16) as usize]
            .lock()
            .expect("posted")
            .insert(k, at);
    }

    fn get(&self, session_uid: &[u8], prompt_time: f64) -> Option<Instant> {
        let k = key(session_uid, prompt_time);
        self.shards[(k % 16) as usize]
            .lock()
            .expect("posted")
            .get(&k)
            .copied()
    }
}

/// How a viewer connects.
#[derive(Clone)]
pub struct ViewerConfig {
    /// Server address.
    pub addr: SocketAddr,
    /// The prompt.
    pub prompt_uid: String,
    /// A prompt token for it.
    pub jwt: String,
    /// Events per second asked for.
    pub bandwidth: u32,
    /// Lookback and lookahead, seconds.
    pub window: f64,
    /// Whether to note when each checked event arrived (see
    /// [`ViewerStats::received`]).
    pub note_receipts: bool,
}

/// What one viewer saw.
#[derive(Default)]
pub struct ViewerStats {
    /// Events received in the measurement window.
    pub events: u64,
    /// `event_batch` packets received in the window.
    pub batches: u64,
    /// Events received before the window.
    pub events_before: u64,
    /// Post → receive latency of events whose post was seen (sampled).
    pub latency: Latency,
    /// `(event key, Unix time received)` of the events of checked
    /// batches, if the viewer notes receipts: matched after the run with
    /// each event's `created_at` for commit → receive latency.
    pub received: Vec<(u64, f64)>,
    /// Events received more than one second after their prompt time.
    pub late: u64,
    /// Largest lateness (own clock − event prompt time), seconds.
    pub max_late: f64,
    /// Largest |server's idea of our clock − our clock| from `latency_detection`.
    pub max_drift: f64,
    /// Largest amount by which the server's idea of our clock was behind
    /// ours (the direction that makes events late; the other way, a slow
    /// handshake's half round trip, only sends them earlier).
    pub max_lag: f64,
    /// Why the viewer ended early, if it did.
    pub error: Option<String>,
}

/// Unix seconds now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The measurement window, announced to every viewer once all are
/// connected: `(start, end)`.
pub type Window = tokio::sync::watch::Receiver<Option<(Instant, Instant)>>;

/// Connects and completes the handshake with own prompt time `start`
/// (telling `connected` either way), then reads until the window ends,
/// counting what arrives within it. Every `sample`-th batch is checked
/// against `posted` for latency.
pub async fn run(
    cfg: ViewerConfig,
    start: f64,
    connected: tokio::sync::mpsc::Sender<bool>,
    window: Window,
    posted: Option<Arc<Posted>>,
    sample: u64,
) -> ViewerStats {
    let mut stats = ViewerStats::default();
    let socket = connect(&cfg, start).await;
    let _ = connected.send(socket.is_ok()).await;
    drop(connected);
    let result = match socket {
        Ok((ws, zero)) => {
            let check = Check {
                posted,
                sample: sample.max(1),
                note_receipts: cfg.note_receipts,
            };
            watch(ws, zero, start, window, check, &mut stats).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        stats.error = Some(e);
    }
    stats
}

/// Opens the socket and completes the handshake; returns the socket and
/// the instant at which our prompt time was `start`.
pub async fn connect(cfg: &ViewerConfig, start: f64) -> Result<(Socket, Instant), String> {
    let url = format!("ws://{}/api/2/interactive_prompts/live", cfg.addr);
    // tungstenite zeroes its whole read buffer before every read: the
    // 128 KiB default would cost more than the frames themselves.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let authorize = json!({"type": "authorize", "data": {
        "interactive_prompt_uid": cfg.prompt_uid, "jwt": cfg.jwt, "bandwidth": cfg.bandwidth,
        "lookback": cfg.window, "lookahead": cfg.window, "replay": true}});
    ws.send(Message::Text(authorize.to_string().into()))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut zero = None;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
        let text = match msg {
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(_))) => continue,
            Ok(other) => return Err(format!("handshake: {other:?}")),
            Err(_) => return Err("handshake timed out".into()),
        };
        if text.contains(r#""type":"sync_request""#) {
            zero = Some(Instant::now());
            let sync = json!({"type": "sync_response", "data": {"receive_timestamp": start, "transmit_timestamp": start}});
            ws.send(Message::Text(sync.to_string().into()))
                .await
                .map_err(|e| format!("send: {e}"))?;
        } else if text.contains(r#""type":"auth_response""#) {
            return Ok((ws, zero.ok_or("auth_response before sync_request")?));
        } else {
            return Err(format!("handshake: {text}"));
        }
    }
}

/// The client socket type.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Which events a viewer checks for latency.
struct Check {
    /// When each event was posted (none: no latency is measured).
    posted: Option<Arc<Posted>>,
    /// Every this many batches are checked.
    sample: u64,
    /// Whether checked events' receipts are noted too.
    note_receipts: bool,
}

async fn watch(
    mut ws: Socket,
    zero: Instant,
    start: f64,
    mut window: Window,
    Check {
        posted,
        sample,
        note_receipts,
    }: Check,
    stats: &mut ViewerStats,
) -> Result<(), String> {
    loop {
        let bounds = *window.borrow();
        let msg = match bounds {
            Some((_, end)) => match tokio::time::timeout_at(end.into(), ws.next()).await {
                Err(_) => break,
                Ok(m) => m,
            },
            None => tokio::select! {
                m = ws.next() => m,
                changed = window.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    continue;
                }
            },
        };
        let now = Instant::now();
        let clock = start + now.duration_since(zero).as_secs_f64();
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed by the server: {frame:?}"));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("connection ended".into()),
        };
        let bytes = text.as_bytes();
        if !bytes.starts_with(br#"{"success":true,"type":"event_batch""#) {
            const EXPECTED: &[u8] = br#""expected_receive_prompt_time":"#;
            if let Some(at) = memmem::find(bytes, EXPECTED) {
                let expected = number_at(&bytes[at + EXPECTED.len()..]);
                stats.max_drift = stats.max_drift.max((expected - clock).abs());
                stats.max_lag = stats.max_lag.max(clock - expected);
            }
            continue;
        }
        if bounds.is_none_or(|(window_start, _)| now < window_start) {
            stats.events_before += EVENT.find_iter(bytes).count() as u64;
            continue;
        }
        stats.batches += 1;
        let check = posted
            .as_ref()
            .filter(|_| stats.batches.is_multiple_of(sample));
        record_batch(bytes, now, clock, check.map(|p| &**p), note_receipts, stats);
    }
    let _ = ws.close(None).await;
    Ok(())
}

/// The start of each event in a batch, and two of its keys.
static EVENT: LazyLock<memmem::Finder> = LazyLock::new(|| memmem::Finder::new(br#"{"uid":"ipe_"#));
static SESSION_UID: LazyLock<memmem::Finder> =
    LazyLock::new(|| memmem::Finder::new(br#""session_uid":""#));
static PROMPT_TIME: LazyLock<memmem::Finder> =
    LazyLock::new(|| memmem::Finder::new(br#""prompt_time":"#));

/// Counts one `event_batch` packet's events into `stats`: their lateness
/// against the viewer's clock, and, when the batch is `checked` against the
/// posted events, their post → receive latency (and receipts).
fn record_batch(
    bytes: &[u8],
    now: Instant,
    clock: f64,
    checked: Option<&Posted>,
    note_receipts: bool,
    stats: &mut ViewerStats,
) {
    let received_unix = if note_receipts { unix_now() } else { 0.0 };
    for at in EVENT.find_iter(bytes) {
        stats.events += 1;
        let rest = &bytes[at..];
        let Some(t_at) = PROMPT_TIME.find(rest) else {
            continue;
        };
        let t = number_at(&rest[t_at + 14..]);
        let late = clock - t;
        if late > 1.0 {
            stats.late += 1;
        }
        stats.max_late = stats.max_late.max(late);
        if let (Some(posted), Some(s_at)) = (checked, SESSION_UID.find(rest)) {
            let s = &rest[s_at + 15..];
            let uid = &s[..memchr::memchr(b'"', s).unwrap_or(0)];
            if let Some(sent) = posted.get(uid, t) {
                stats.latency.record(now.saturating_duration_since(sent));
                if note_receipts {
                    stats.received.push((key(uid, t), received_unix));
                }
            }
        }
    }
}

/// Parses the JSON number at the start of `s`.
fn number_at(s: &[u8]) -> f64 {
    let end = s
        .iter()
        .position(|b| !(b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'e' | b'E' | b'+')))
        .unwrap_or(s.len());
    std::str::from_utf8(&s[..end])
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_up_to_the_delimiter() {
        assert_eq!(number_at(b"12.5}"), 12.5);
        assert_eq!(number_at(b"-1e-3,"), -0.001);
        assert!(number_at(b"x").is_nan());
    }
}
