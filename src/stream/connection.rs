//! One viewer's connection: the handshake, then a loop merging near-live
//! events from pub/sub with replayed buckets, paced by a token bucket.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::json;

use super::clock::PromptClock;
use super::pacing::{RateMeter, TokenBucket};
use super::packets::{self, Authorize, ClientPacket, SyncResponse};
use super::replay::{Delivered, Replay};
use crate::domain::prompt::PromptRecord;
use crate::http::AppState;
use crate::metrics as m;
use crate::pubsub::buckets::LoadedBucket;
use crate::pubsub::{LiveEvent, Published, Subscription};

/// How long each handshake packet may take to arrive.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one send may block before the viewer counts as a slow reader.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(1);
/// How often due events are gathered into a batch.
pub const TICK: Duration = Duration::from_millis(100);
/// How often `latency_detection` is sent.
pub const LATENCY_EVERY: Duration = Duration::from_secs(2);
/// Seconds after `duration + lookback` at which the stream closes.
pub const END_GRACE_SECONDS: f64 = 10.0;
/// How far past its prompt time a replayed event may still be sent: the
/// scheduling slack of a couple of ticks, whatever the lookback. Replay is
/// sent ahead of the viewer's clock; a replayed event already behind it
/// would take the token of one still on time, and with a share equal to
/// the bandwidth a viewer sending late events never gets ahead again.
pub const REPLAY_GRACE_SECONDS: f64 = 0.25;

type Sink = SplitSink<WebSocket, Message>;
type Incoming = SplitStream<WebSocket>;

/// Counts an open stream in `chorus_open_streams` while alive.
struct OpenStream;

impl OpenStream {
    fn new() -> Self {
        metrics::gauge!(m::OPEN_STREAMS).increment(1.0);
        OpenStream
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!(m::OPEN_STREAMS).decrement(1.0);
    }
}

fn thinned(reason: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!(m::THINNED, "reason" => reason).increment(n as u64);
    }
}

/// Why a handshake failed.
enum Refusal {
    /// Send an error packet, then close.
    Error(u16, &'static str, String),
    /// The client went away or was too slow; just close.
    Gone,
}

fn unprocessable(message: impl Into<String>) -> Refusal {
    Refusal::Error(422, "unprocessable_entity", message.into())
}

struct Ready {
    prompt: PromptRecord,
    opts: Authorize,
    clock: PromptClock,
    subscription: Subscription,
}

/// Serves one WebSocket until it ends.
pub async fn serve(socket: WebSocket, state: AppState) {
    let (mut sink, mut incoming) = socket.split();
    let Ok(_permit) = state.streams.clone().try_acquire_owned() else {
        let message = "this server is at its stream limit; try again shortly";
        let _ = send(
            &mut sink,
            packets::error_packet(503, "too_many_streams", message),
        )
        .await;
        return close(&mut sink, 1013, "too many streams").await;
    };
    let _open = OpenStream::new();
    match handshake(&mut sink, &mut incoming, &state).await {
        Ok(ready) => run(sink, incoming, state, ready).await,
        Err(Refusal::Error(code, kind, message)) => {
            let _ = send(&mut sink, packets::error_packet(code, kind, &message)).await;
            close(&mut sink, 1008, "handshake refused").await;
        }
        Err(Refusal::Gone) => close(&mut sink, 1008, "handshake not completed").await,
    }
}

async fn next_packet(incoming: &mut Incoming) -> Result<ClientPacket, Refusal> {
    let read = async {
        loop {
            match incoming.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text),
                Some(Ok(Message::Binary(bytes))) => {
                    return String::from_utf8(bytes.to_vec())
                        .map(Utf8Bytes::from)
                        .map_err(|_| unprocessable("packets are UTF-8 JSON"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return Err(Refusal::Gone),
            }
        }
    };
    let text = tokio::time::timeout(HANDSHAKE_TIMEOUT, read)
        .await
        .map_err(|_| Refusal::Gone)??;
    serde_json::from_str(&text).map_err(|e| unprocessable(format!("malformed packet: {e}")))
}

fn data_of<T: serde::de::DeserializeOwned>(
    packet: ClientPacket,
    expected: &str,
) -> Result<T, Refusal> {
    if packet.kind != expected {
        return Err(unprocessable(format!(
            "expected a {expected} packet, got {:?}",
            packet.kind
        )));
    }
    serde_json::from_value(packet.data)
        .map_err(|e| unprocessable(format!("malformed {expected} data: {e}")))
}

async fn handshake(
    sink: &mut Sink,
    incoming: &mut Incoming,
    state: &AppState,
) -> Result<Ready, Refusal> {
    let opts: Authorize = data_of(next_packet(incoming).await?, "authorize")?;
    opts.validate().map_err(unprocessable)?;
    state
        .auth
        .verify_prompt_for(&opts.jwt, &opts.interactive_prompt_uid)
        .map_err(|_| {
            Refusal::Error(
                403,
                "forbidden",
                "the token is invalid, expired or for another prompt".into(),
            )
        })?;
    let prompt = match state.store.prompt(&opts.interactive_prompt_uid).await {
        Ok(Some(p)) if p.deleted_at.is_none() => p,
        Ok(_) => {
            return Err(Refusal::Error(
                404,
                "not_found",
                "interactive prompt not found".into(),
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "stream: loading the prompt failed");
            return Err(Refusal::Error(
                503,
                "service_unavailable",
                "try again later".into(),
            ));
        }
    };
    // Subscribe before the clock starts so nothing published from here on is missed.
    let subscription = state.pubsub.hub().subscribe(&prompt.uid);
    send(sink, packets::server_packet("sync_request", json!({})))
        .await
        .map_err(|_| Refusal::Gone)?;
    let sync_sent = Instant::now();
    let sync: SyncResponse = data_of(next_packet(incoming).await?, "sync_response")?;
    let arrived = Instant::now();
    sync.validate().map_err(unprocessable)?;
    send(sink, packets::server_packet("auth_response", json!({})))
        .await
        .map_err(|_| Refusal::Gone)?;
    Ok(Ready {
        prompt,
        opts,
        clock: PromptClock::new(sync_sent, arrived, sync),
        subscription,
    })
}

/// The state of an authorized viewer.
struct Viewer {
    opts: Authorize,
    clock: PromptClock,
    bucket: TokenBucket,
    near_live_rate: RateMeter,
    near_live: VecDeque<Arc<LiveEvent>>,
    /// Scratch space of [`Self::on_published`] (newest first).
    fresh: Vec<Arc<LiveEvent>>,
    replay: Option<Replay>,
    delivered: Delivered,
    /// Near-live events pushed out of a full queue since the last tick.
    overflowed: usize,
}

impl Viewer {
    /// A viewer connected at `now` to a prompt of `duration_seconds`. Its
    /// replay starts at its own prompt time: the moments it has already
    /// passed are not replayed (near-live events still reach `lookback`
    /// back).
    fn new(opts: Authorize, clock: PromptClock, duration_seconds: i64, now: Instant) -> Self {
        let mut replay = opts.replay.then(|| Replay::new(duration_seconds));
        if let Some(r) = &mut replay {
            r.skip_before(clock.at(now) - REPLAY_GRACE_SECONDS);
        }
        Viewer {
            bucket: TokenBucket::new(opts.bandwidth, now),
            near_live_rate: RateMeter::new(now),
            near_live: VecDeque::new(),
            fresh: Vec::new(),
            replay,
            delivered: Delivered::default(),
            overflowed: 0,
            clock,
            opts,
        }
    }

    /// Routes the events published since the last tick (oldest first),
    /// each judged at the instant it was published: near-live now, replay
    /// later, or not at all. (Already delivered events are skipped when
    /// the batch is gathered.) The near-live queue keeps the newest
    /// `bandwidth` events; the rest count as overflow. Events are looked
    /// at newest first, so those the queue could not keep are never
    /// cloned.
    fn on_published<'a>(&mut self, events: impl DoubleEndedIterator<Item = &'a Published>) {
        let capacity = self.opts.bandwidth as usize;
        let mut fresh = std::mem::take(&mut self.fresh);
        for Published { at, event } in events.rev() {
            let p = self.clock.at(*at);
            let t = event.prompt_time;
            if t >= p - self.opts.lookback && t <= p + self.opts.lookahead {
                if fresh.len() < capacity {
                    fresh.push(event.clone());
                } else {
                    self.overflowed += 1;
                }
            } else if let Some(replay) = &mut self.replay
                && t > p
                && replay.missed_by_load(t, event.created_at)
            {
                replay.insert(event.clone());
            }
        }
        // Older queued events make room for the fresh ones.
        let keep = capacity - fresh.len();
        while self.near_live.len() > keep {
            self.near_live.pop_front();
            self.overflowed += 1;
        }
        self.near_live.extend(fresh.drain(..).rev());
        self.fresh = fresh;
    }

    /// Gathers the events due now within the bandwidth, in order.
    fn due_batch(&mut self, now: Instant) -> Vec<Arc<LiveEvent>> {
        let p = self.clock.at(now);
        let mut tokens = self.bucket.available(now);
        let mut batch = Vec::new();
        while tokens > 0 {
            let Some(e) = self.near_live.pop_front() else {
                break;
            };
            if !self.delivered.contains(&e.uid) {
                self.delivered.insert(&e.uid, e.prompt_time);
                batch.push(e);
                tokens -= 1;
            }
        }
        self.near_live_rate.record(batch.len(), now);
        let near_live = batch.len();
        let mut late_dropped = 0;
        if let Some(replay) = &mut self.replay {
            while let Some(e) = replay.peek_due(p, self.opts.lookahead) {
                let late = e.prompt_time < p - REPLAY_GRACE_SECONDS;
                if tokens == 0 && !late {
                    break;
                }
                let e = replay.pop().expect("peeked");
                if tokens > 0 && !late && !self.delivered.contains(&e.uid) {
                    self.delivered.insert(&e.uid, e.prompt_time);
                    batch.push(e);
                    tokens -= 1;
                } else if late {
                    late_dropped += 1;
                }
            }
        }
        self.bucket.spend(batch.len());
        thinned("late", late_dropped);
        if !batch.is_empty() {
            metrics::counter!(m::DELIVERED, "kind" => "near_live").increment(near_live as u64);
            metrics::counter!(m::DELIVERED, "kind" => "replay")
                .increment((batch.len() - near_live) as u64);
        }
        batch.sort_by(|a, b| {
            (a.prompt_time, &*a.uid)
                .partial_cmp(&(b.prompt_time, &*b.uid))
                .expect("finite times")
        });
        batch
    }
}

async fn run(mut sink: Sink, mut incoming: Incoming, state: AppState, ready: Ready) {
    let Ready {
        prompt,
        opts,
        clock,
        mut subscription,
    } = ready;
    let mut viewer = Viewer::new(opts, clock, prompt.duration_seconds, Instant::now());
    let end = prompt.duration_seconds as f64 + viewer.opts.lookback + END_GRACE_SECONDS;
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_latency = Instant::now() + LATENCY_EVERY;
    loop {
        // Published events are read at each tick rather than as they come:
        // batches only leave at ticks anyway, and a premiere's thousands of
        // viewers are then woken ten times a second instead of once per event.
        tokio::select! {
            message = incoming.next() => match message {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => return close(&mut sink, 1008, "no packets are expected after the handshake").await,
            },
            _ = shutdown.changed() => return close(&mut sink, 1001, "server shutting down").await,
            _ = tick.tick() => {
                let now = Instant::now();
                let p = viewer.clock.at(now);
                if p > end {
                    return close(&mut sink, 1000, "prompt finished").await;
                }
                let ((), missed) = subscription.feed.read(|events| viewer.on_published(events));
                thinned("lagged", missed as usize);
                thinned("overflow", std::mem::take(&mut viewer.overflowed));
                if load_due_buckets(&mut viewer, &state, &prompt, &subscription, p).await.is_err() {
                    return close(&mut sink, 1011, "storage unavailable").await;
                }
                let batch = viewer.due_batch(now);
                if !batch.is_empty() && send(&mut sink, packets::event_batch(batch.iter().map(|e| &*e.json))).await.is_err() {
                    return;
                }
                if now >= next_latency {
                    next_latency = now + LATENCY_EVERY;
                    let packet = packets::server_packet("latency_detection", json!({"expected_receive_prompt_time": p}));
                    if send(&mut sink, packet).await.is_err() {
                        return;
                    }
                    let horizon = p - viewer.opts.lookback - 1.0;
                    viewer.delivered.forget_before(horizon);
                    if let Some(r) = &mut viewer.replay {
                        r.forget_before(horizon);
                    }
                }
            }
        }
    }
}

async fn load_due_buckets(
    viewer: &mut Viewer,
    state: &AppState,
    prompt: &PromptRecord,
    subscription: &Subscription,
    p: f64,
) -> Result<(), ()> {
    let horizon = p + viewer.opts.lookahead;
    loop {
        let Some(bucket) = viewer
            .replay
            .as_ref()
            .and_then(|r| r.bucket_to_load(horizon))
        else {
            return Ok(());
        };
        let loaded = shared_bucket(state, prompt, subscription, bucket)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "stream: loading a replay bucket failed");
            })?;
        let share =
            (viewer.opts.bandwidth as f64 - viewer.near_live_rate.rate(Instant::now())).max(1.0);
        if let Some(r) = &mut viewer.replay {
            thinned(
                "replay_sample",
                r.add_bucket(bucket, &loaded.events, share, loaded.read_at),
            );
        }
    }
}

/// A replay bucket, loaded once and shared with the prompt's other
/// viewers in this process (see [`crate::pubsub::buckets`]).
async fn shared_bucket(
    state: &AppState,
    prompt: &PromptRecord,
    subscription: &Subscription,
    bucket: i64,
) -> Result<Arc<LoadedBucket>, crate::storage::StorageError> {
    let slot = subscription
        .buckets
        .slot(bucket, subscription.subscribed_at);
    let loaded = slot
        .get_or_try_init(|| async {
            let read_at = crate::storage::now();
            let events = state.store.bucket_events(prompt, bucket).await?;
            let events = events
                .iter()
                .map(|e| Arc::new(LiveEvent::from_stored(e)))
                .collect();
            Ok::<_, crate::storage::StorageError>(Arc::new(LoadedBucket { read_at, events }))
        })
        .await?;
    Ok(loaded.clone())
}

async fn send(sink: &mut Sink, text: String) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A viewer at prompt time `start` at `now`.
    fn viewer_at(opts: Authorize, start: f64, duration: i64, now: Instant) -> Viewer {
        let sync = SyncResponse {
            receive_timestamp: start,
            transmit_timestamp: start,
        };
        Viewer::new(opts, PromptClock::new(now, now, sync), duration, now)
    }

    fn opts(bandwidth: u32, window: f64, replay: bool) -> Authorize {
        Authorize {
            interactive_prompt_uid: "ip_x".into(),
            jwt: String::new(),
            bandwidth,
            lookback: window,
            lookahead: window,
            replay,
        }
    }

    fn viewer(bandwidth: u32, now: Instant) -> Viewer {
        viewer_at(opts(bandwidth, 5.0, false), 0.0, 60, now)
    }

    fn published(at: Instant, uid: &str) -> Published {
        let event = LiveEvent {
            uid: uid.into(),
            prompt_time: 0.0,
            created_at: 0.0,
            json: "{}".into(),
        };
        Published {
            at,
            event: Arc::new(event),
        }
    }

    fn uids(batch: &[Arc<LiveEvent>]) -> Vec<&str> {
        batch.iter().map(|e| &*e.uid).collect()
    }

    fn publish(v: &mut Viewer, at: Instant, names: std::ops::Range<usize>) {
        let events: Vec<_> = names.map(|i| published(at, &format!("e{i:02}"))).collect();
        v.on_published(events.iter());
    }

    #[test]
    fn a_full_queue_drops_its_oldest() {
        let t0 = Instant::now();
        let mut v = viewer(3, t0);
        publish(&mut v, t0, 0..5);
        assert_eq!(v.overflowed, 2);
        assert_eq!(
            uids(&v.due_batch(t0 + Duration::from_millis(100))),
            ["e02", "e03", "e04"]
        );
    }

    #[test]
    fn fresh_events_push_out_the_oldest_queued_ones() {
        let t0 = Instant::now();
        let mut v = viewer(4, t0);
        publish(&mut v, t0, 0..3);
        assert_eq!(v.overflowed, 0);
        // Two more: one queued event makes room; then six, more than fit.
        publish(&mut v, t0, 3..5);
        let queued = uids(v.near_live.make_contiguous());
        assert_eq!(
            (v.overflowed, queued),
            (1, vec!["e01", "e02", "e03", "e04"])
        );
        publish(&mut v, t0, 5..11);
        assert_eq!(v.overflowed, 1 + 4 + 2);
        assert_eq!(
            uids(&v.due_batch(t0 + Duration::from_millis(100))),
            ["e07", "e08", "e09", "e10"]
        );
    }

    /// A stored bucket of `n` events spread evenly over second `k`.
    fn stored_bucket(k: i64, n: usize) -> Vec<Arc<LiveEvent>> {
        (0..n)
            .map(|i| {
                Arc::new(LiveEvent {
                    uid: format!("ipe_{k:03}_{i:04}").into(),
                    prompt_time: k as f64 + i as f64 / n as f64,
                    created_at: 0.0,
                    json: "{}".into(),
                })
            })
            .collect()
    }

    #[test]
    fn replay_stays_ahead_of_a_viewer_whose_share_is_its_whole_bandwidth() {
        // The loadgen's replay: bandwidth 50, lookback = lookahead = 1.5 s,
        // 400 stored events a second, so every bucket is thinned to 50.
        let t0 = Instant::now();
        let mut v = viewer_at(opts(50, 1.5, true), 3.4, 60, t0);
        let mut delivered = 0;
        for tick in 1..=200 {
            let now = t0 + TICK * tick;
            let p = v.clock.at(now);
            let horizon = p + v.opts.lookahead;
            while let Some(k) = v.replay.as_ref().and_then(|r| r.bucket_to_load(horizon)) {
                let bucket = stored_bucket(k, 400);
                v.replay.as_mut().unwrap().add_bucket(k, &bucket, 50.0, 0.0);
            }
            for e in v.due_batch(now) {
                assert!(
                    e.prompt_time >= p - REPLAY_GRACE_SECONDS,
                    "tick {tick}: event at {} sent at prompt time {p:.2}",
                    e.prompt_time
                );
                delivered += 1;
            }
        }
        // 20 s at 50 a second, plus the one-second burst.
        assert!((950..=1050).contains(&delivered), "{delivered} delivered");
    }
}
