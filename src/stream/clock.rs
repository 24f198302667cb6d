//! Tracking a viewer's prompt time from the handshake's clock sync.

use std::time::Instant;

use super::packets::SyncResponse;

/// The viewer's prompt time as docs/stream-protocol.md ("Handshake") defines it:
/// `receive_timestamp + (now − sync_request_sent) + rtt/2`, with
/// `rtt = (response_arrived − sync_request_sent) − (transmit − receive)`.
#[derive(Debug, Clone, Copy)]
pub struct PromptClock {
    sync_sent: Instant,
    receive_timestamp: f64,
    half_rtt: f64,
}

impl PromptClock {
    /// A clock from the instant the `sync_request` was sent, the instant
    /// the `sync_response` arrived, and its timestamps.
    pub fn new(sync_sent: Instant, response_arrived: Instant, sync: SyncResponse) -> Self {
        let round_trip = response_arrived.duration_since(sync_sent).as_secs_f64();
        let client_hold = sync.transmit_timestamp - sync.receive_timestamp;
        let rtt = (round_trip - client_hold).max(0.0);
        PromptClock {
            sync_sent,
            receive_timestamp: sync.receive_timestamp,
            half_rtt: rtt / 2.0,
        }
    }

    /// The viewer's prompt time at `now`.
    pub fn at(&self, now: Instant) -> f64 {
        self.receive_timestamp
            + now.saturating_duration_since(self.sync_sent).as_secs_f64()
            + self.half_rtt
    }

    /// The wall-clock instant at which the viewer reaches prompt time `t`.
    pub fn instant_of(&self, t: f64) -> Instant {
        let offset = t - self.receive_timestamp - self.half_rtt;
        if offset <= 0.0 {
            self.sync_sent
        } else {
            self.sync_sent + std::time::Duration::from_secs_f64(offset)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn prompt_time_follows_the_spec_formula() {
        let sent = Instant::now();
        let arrived = sent + Duration::from_millis(300);
        // The client held the request for 100 ms: rtt = 200 ms.
        let clock = PromptClock::new(
            sent,
            arrived,
            SyncResponse {
                receive_timestamp: 5.0,
                transmit_timestamp: 5.1,
            },
        );
        let p = clock.at(sent + Duration::from_secs(2));
        assert!((p - (5.0 + 2.0 + 0.1)).abs() < 1e-9, "{p}");
        let back = clock.instant_of(p);
        assert!(back.duration_since(sent).as_secs_f64() - 2.0 < 1e-6);
    }
}
