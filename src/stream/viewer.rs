//! One authorized viewer's state machine: published events are routed
//! as they are read (near-live now, replay later, or not at all), and each
//! tick gathers the events due within the bandwidth, once each
//! (docs/stream-protocol.md, "What you receive").

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::clock::PromptClock;
use super::pacing::{RateMeter, TokenBucket};
use super::packets::Authorize;
use super::replay::{Delivered, Replay};
use crate::metrics as m;
use crate::pubsub::{LiveEvent, Published};

/// How far past its prompt time a replayed event may still be sent: the
/// scheduling slack of a couple of ticks, whatever the lookback. Replay is
/// sent ahead of the viewer's clock; a replayed event already behind it
/// would take the token of one still on time, and with a share equal to
/// the bandwidth a viewer sending late events never gets ahead again.
pub const REPLAY_GRACE_SECONDS: f64 = 0.25;

/// Counts `n` events not delivered for `reason` in `chorus_stream_events_thinned_total`.
pub fn thinned(reason: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!(m::THINNED, "reason" => reason).increment(n as u64);
    }
}

/// The state of an authorized viewer.
pub struct Viewer {
    /// Its `authorize` options.
    pub opts: Authorize,
    /// Its prompt clock.
    pub clock: PromptClock,
    bucket: TokenBucket,
    /// Near-live deliveries per second (replay gets what is left).
    pub near_live_rate: RateMeter,
    near_live: VecDeque<Arc<LiveEvent>>,
    /// Scratch space of [`Self::on_published`] (newest first).
    fresh: Vec<Arc<LiveEvent>>,
    /// Its replay cursor, unless it asked for none.
    pub replay: Option<Replay>,
    /// Events delivered, so none is sent twice.
    pub delivered: Delivered,
    /// Near-live events pushed out of a full queue since the last tick.
    pub overflowed: usize,
}

impl Viewer {
    /// A viewer connected at `now` to a prompt of `duration_seconds`. Its
    /// replay starts at its own prompt time: the moments it has already
    /// passed are not replayed (near-live events still reach `lookback`
    /// back).
    pub fn new(opts: Authorize, clock: PromptClock, duration_seconds: i64, now: Instant) -> Self {
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
    pub fn on_published<'a>(&mut self, events: impl DoubleEndedIterator<Item = &'a Published>) {
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
    pub fn due_batch(&mut self, now: Instant) -> Vec<Arc<LiveEvent>> {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stream::connection::TICK;
    use crate::stream::packets::SyncResponse;

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
