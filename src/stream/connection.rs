//! One viewer's connection: a pending slot, the [`handshake`] within its
//! deadline (which gives the stream its slot), then a loop that each tick reads what was published, loads the replay buckets
//! coming due, and sends the viewer's batch; until the prompt is over, the
//! client leaves, or the server drains (docs/stream-protocol.md, "Endings").

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Sink, Stream, StreamExt};
use serde_json::json;

use super::StreamContext;
use super::buckets::{BucketCache, LoadedBucket};
use super::handshake::{Ready, Refusal, handshake};
use super::packets::{self, EARLIEST_PROMPT_TIME};
use super::socket::{Incoming, Outgoing, close, send};
use super::viewer::{Viewer, thinned};
use crate::domain::prompt::PromptRecord;
use crate::pubsub::{LiveEvent, Subscription};
use crate::storage::StorageError;

/// How often due events are gathered into a batch.
pub const TICK: Duration = Duration::from_millis(100);
/// How often `latency_detection` is sent.
pub const LATENCY_EVERY: Duration = Duration::from_secs(2);
/// Seconds after `duration + lookback` at which the stream closes.
pub const END_GRACE_SECONDS: f64 = 10.0;
/// The close code of a stream whose prompt token expired
/// (docs/stream-protocol.md, "Endings"): the client needs a fresh token.
pub const TOKEN_EXPIRED: u16 = 4401;

/// The wall-clock instant by which a stream ends whatever its clock says:
/// the time a viewer starting at the earliest prompt time a sync may report
/// takes to reach `end`, plus a second. The clock's own end comes first
/// for every sync the handshake accepts; this bounds the stream even so.
pub fn wall_end(now: Instant, end: f64) -> Instant {
    now + Duration::from_secs_f64((end - EARLIEST_PROMPT_TIME).max(0.0) + 1.0)
}

/// The instant a prompt token valid through Unix second `valid_until`
/// expires.
pub fn token_end(now: Instant, valid_until: u64) -> Instant {
    let left = (valid_until + 1) as f64 - crate::domain::clock::now();
    now + Duration::from_secs_f64(left.clamp(0.0, 1e9))
}

/// Serves one connection until it ends: `sink` and `incoming` are the
/// two halves of its socket.
pub async fn serve<Si, St>(mut sink: Si, mut incoming: St, ctx: StreamContext)
where
    Si: Sink<Outgoing> + Unpin,
    St: Stream<Item = Incoming> + Unpin,
{
    let Some(pending) = ctx.admission.pending() else {
        return refuse_busy(&mut sink).await;
    };
    let timeout = ctx.admission.settings().handshake_timeout;
    let shaking = handshake(&mut sink, &mut incoming, &ctx, pending);
    let shaken = tokio::time::timeout(timeout, shaking)
        .await
        .unwrap_or(Err(Refusal::Gone));
    match shaken {
        Ok(ready) => run(sink, incoming, ctx, ready).await,
        Err(Refusal::Error(code, kind, message)) => {
            let _ = send(&mut sink, packets::error_packet(code, kind, &message)).await;
            close(&mut sink, 1008, "handshake refused").await;
        }
        Err(Refusal::Busy) => refuse_busy(&mut sink).await,
        Err(Refusal::Gone) => close(&mut sink, 1008, "handshake not completed").await,
    }
}

/// Refuses a socket because the process is at its stream limit.
async fn refuse_busy<Si: Sink<Outgoing> + Unpin>(sink: &mut Si) {
    let message = "this server is at its stream limit; try again shortly";
    let _ = send(
        sink,
        packets::error_packet(503, "too_many_streams", message),
    )
    .await;
    close(sink, 1013, "too many streams").await
}

/// What one tick asks of the connection.
enum Step {
    /// Carry on.
    Continue,
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The socket is gone: just stop.
    Stop,
}

async fn run<Si, St>(mut sink: Si, mut incoming: St, ctx: StreamContext, ready: Ready)
where
    Si: Sink<Outgoing> + Unpin,
    St: Stream<Item = Incoming> + Unpin,
{
    let Ready {
        prompt,
        opts,
        clock,
        mut subscription,
        grant,
        slot: _slot,
    } = ready;
    let mut viewer = Viewer::new(opts, clock, prompt.duration_seconds, Instant::now());
    let mut shutdown = ctx.shutdown.clone();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let now = Instant::now();
    let mut next_latency = now + LATENCY_EVERY;
    let end = prompt.duration_seconds as f64 + viewer.opts.lookback + END_GRACE_SECONDS;
    let mut connection = Connection {
        ctx: &ctx,
        prompt: &prompt,
        buckets: ctx.buckets.of(&prompt.uid),
        end,
        wall_end: wall_end(now, end),
        token_end: token_end(now, grant.valid_until),
        counted: Counted {
            ticks: metrics::counter!(crate::metrics::STREAM_TICKS),
            batches: metrics::counter!(crate::metrics::STREAM_BATCHES),
        },
    };
    loop {
        // Published events are read at each tick rather than as they come:
        // batches only leave at ticks anyway, and a premiere's thousands of
        // viewers are then woken ten times a second instead of once per event.
        let step = tokio::select! {
            message = incoming.next() => match message {
                Some(Incoming::Control) => Step::Continue,
                Some(Incoming::Closed) | None => Step::Stop,
                Some(_) => Step::Close(1008, "no packets are expected after the handshake"),
            },
            _ = shutdown.changed() => Step::Close(1001, "server shutting down"),
            _ = tick.tick() => {
                connection
                    .tick(&mut sink, &mut viewer, &mut subscription, &mut next_latency)
                    .await
            }
        };
        match step {
            Step::Continue => {}
            Step::Close(code, reason) => return close(&mut sink, code, reason).await,
            Step::Stop => return,
        }
    }
}

/// What a connection's ticks share.
struct Connection<'a> {
    ctx: &'a StreamContext,
    prompt: &'a PromptRecord,
    /// The prompt's replay buckets, held while the viewer is connected.
    buckets: Arc<BucketCache>,
    /// The viewer's prompt time at which the stream closes.
    end: f64,
    /// The instant at which it closes whatever the viewer's clock says.
    wall_end: Instant,
    /// The instant its prompt token expires.
    token_end: Instant,
    /// Counts this connection's ticks and the frames they send (held, so a
    /// tick costs an atomic add, not a registry lookup).
    counted: Counted,
}

/// The stream's counters of ticks and `event_batch` frames.
struct Counted {
    ticks: metrics::Counter,
    batches: metrics::Counter,
}

impl Connection<'_> {
    /// One tick: route what was published, load due buckets, send the
    /// batch, and now and then `latency_detection`.
    async fn tick<Si: Sink<Outgoing> + Unpin>(
        &mut self,
        sink: &mut Si,
        viewer: &mut Viewer,
        subscription: &mut Subscription,
        next_latency: &mut Instant,
    ) -> Step {
        let now = Instant::now();
        self.counted.ticks.increment(1);
        let p = viewer.clock.at(now);
        if p > self.end || now >= self.wall_end {
            return Step::Close(1000, "prompt finished");
        }
        if now >= self.token_end {
            return Step::Close(TOKEN_EXPIRED, "prompt token expired");
        }
        let ((), missed) = subscription.feed.read(|events| viewer.on_published(events));
        thinned("lagged", missed as usize);
        thinned("overflow", std::mem::take(&mut viewer.overflowed));
        if self
            .load_due_buckets(viewer, subscription, p)
            .await
            .is_err()
        {
            return Step::Close(1011, "storage unavailable");
        }
        let batch = viewer.due_batch(now);
        if !batch.is_empty() {
            let packet = packets::event_batch(batch.iter().map(|e| &*e.json));
            self.counted.batches.increment(1);
            if send(sink, packet).await.is_err() {
                return Step::Stop;
            }
        }
        if now >= *next_latency {
            *next_latency = now + LATENCY_EVERY;
            let data = json!({"expected_receive_prompt_time": p});
            let packet = packets::server_packet("latency_detection", data);
            if send(sink, packet).await.is_err() {
                return Step::Stop;
            }
            let horizon = p - viewer.opts.lookback - 1.0;
            viewer.delivered.forget_before(horizon);
            if let Some(r) = &mut viewer.replay {
                r.forget_before(horizon);
            }
        }
        Step::Continue
    }

    async fn load_due_buckets(
        &self,
        viewer: &mut Viewer,
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
            let loaded = self
                .shared_bucket(subscription, bucket)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "stream: loading a replay bucket failed");
                })?;
            let share = (viewer.opts.bandwidth as f64 - viewer.near_live_rate.rate(Instant::now()))
                .max(1.0);
            if let Some(r) = &mut viewer.replay {
                thinned(
                    "replay_sample",
                    r.add_bucket(bucket, &loaded.events, share, loaded.read_at),
                );
            }
        }
    }

    /// A replay bucket, loaded once and shared with the prompt's other
    /// viewers in this process (see [`super::buckets`]).
    async fn shared_bucket(
        &self,
        subscription: &Subscription,
        bucket: i64,
    ) -> Result<Arc<LoadedBucket>, StorageError> {
        let slot = self.buckets.slot(bucket, subscription.subscribed_at);
        let loaded = slot
            .get_or_try_init(|| async {
                let read_at = crate::domain::clock::now();
                let events = self.ctx.store.bucket_events(self.prompt, bucket).await?;
                let events = events
                    .iter()
                    .map(|e| Arc::new(LiveEvent::from_stored(e)))
                    .collect();
                Ok::<_, StorageError>(Arc::new(LoadedBucket { read_at, events }))
            })
            .await?;
        Ok(loaded.clone())
    }
}
