//! The packets of the live stream (docs/stream-protocol.md, "Handshake" and
//! "What you receive"), as JSON text frames.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::uid;

/// Most events per second a viewer may ask for.
pub const MAX_BANDWIDTH: u32 = 5000;
/// Most seconds of lookback or lookahead.
pub const MAX_WINDOW_SECONDS: f64 = 10.0;
/// The earliest prompt time a client may report in its clock sync: a
/// client buffers media before it starts, but not for a minute.
pub const EARLIEST_PROMPT_TIME: f64 = -60.0;

/// A client packet: `{"type", "data"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientPacket {
    /// `authorize` or `sync_response`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The packet's data.
    pub data: Value,
}

/// Data of the `authorize` packet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorize {
    /// The prompt to watch.
    pub interactive_prompt_uid: String,
    /// The prompt token from `start_session`.
    pub jwt: String,
    /// Most events per second to deliver, 1 … 5000.
    pub bandwidth: u32,
    /// Seconds behind the viewer's prompt time that still count as near-live, 0 … 10.
    pub lookback: f64,
    /// Seconds ahead of the viewer's prompt time that events may arrive early, 0 … 10.
    pub lookahead: f64,
    /// Whether to replay stored events (default true).
    #[serde(default = "default_true")]
    pub replay: bool,
}

fn default_true() -> bool {
    true
}

impl Authorize {
    /// Checks the ranges of docs/stream-protocol.md, "Handshake".
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_BANDWIDTH).contains(&self.bandwidth) {
            return Err(format!("bandwidth must be between 1 and {MAX_BANDWIDTH}"));
        }
        for (name, v) in [("lookback", self.lookback), ("lookahead", self.lookahead)] {
            if !(v.is_finite() && (0.0..=MAX_WINDOW_SECONDS).contains(&v)) {
                return Err(format!("{name} must be between 0 and {MAX_WINDOW_SECONDS}"));
            }
        }
        Ok(())
    }
}

/// Data of the `sync_response` packet: the client's prompt times.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncResponse {
    /// Client prompt time when the `sync_request` arrived.
    pub receive_timestamp: f64,
    /// Client prompt time when this packet was sent.
    pub transmit_timestamp: f64,
}

impl SyncResponse {
    /// Checks the timestamps are finite, ordered, and times a real client
    /// of this prompt can report: from [`EARLIEST_PROMPT_TIME`] to `latest`
    /// (the prompt's `duration + lookback`).
    pub fn validate(&self, latest: f64) -> Result<(), String> {
        if !self.receive_timestamp.is_finite() || !self.transmit_timestamp.is_finite() {
            return Err("timestamps must be finite numbers".into());
        }
        if self.transmit_timestamp < self.receive_timestamp {
            return Err("transmit_timestamp must not be before receive_timestamp".into());
        }
        if self.receive_timestamp < EARLIEST_PROMPT_TIME || self.transmit_timestamp > latest {
            return Err(format!(
                "timestamps must be prompt times from {EARLIEST_PROMPT_TIME} to {latest} \
                 (the prompt's duration plus lookback)"
            ));
        }
        Ok(())
    }
}

fn packet_uid() -> String {
    uid::generate("pkt")
}

/// A server packet with `success: true`.
pub fn server_packet(kind: &str, data: Value) -> String {
    json!({"success": true, "type": kind, "uid": packet_uid(), "data": data}).to_string()
}

/// An error packet (sent just before closing).
pub fn error_packet(code: u16, kind: &str, message: &str) -> String {
    json!({"success": false, "type": "error", "uid": packet_uid(),
           "data": {"code": code, "type": kind, "message": message}})
    .to_string()
}

/// An `event_batch` packet from pre-serialized event items.
pub fn event_batch<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"success":true,"type":"event_batch","uid":""#);
    out.push_str(&packet_uid());
    out.push_str(r#"","data":{"events":["#);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push_str("]}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_batches_are_valid_json() {
        let batch = event_batch([r#"{"uid":"a"}"#, r#"{"uid":"b"}"#].into_iter());
        let v: Value = serde_json::from_str(&batch).unwrap();
        assert_eq!(v["type"], "event_batch");
        assert_eq!(v["data"]["events"][1]["uid"], "b");
        let empty: Value = serde_json::from_str(&event_batch(std::iter::empty())).unwrap();
        assert_eq!(empty["data"]["events"], json!([]));
    }

    #[test]
    fn authorize_ranges_are_checked() {
        let a: Authorize = serde_json::from_value(json!({"interactive_prompt_uid": "ip", "jwt": "j", "bandwidth": 10, "lookback": 1, "lookahead": 2})).unwrap();
        assert!(a.replay && a.validate().is_ok());
        let mut bad = a.clone();
        bad.bandwidth = 0;
        assert!(bad.validate().is_err());
        let mut bad = a;
        bad.lookahead = 10.5;
        assert!(bad.validate().is_err());
    }

    #[test]
    fn sync_times_must_be_ones_a_client_of_the_prompt_can_report() {
        let sync = |receive_timestamp, transmit_timestamp| SyncResponse {
            receive_timestamp,
            transmit_timestamp,
        };
        for ok in [sync(-60.0, -59.0), sync(0.0, 0.0), sync(29.0, 31.5)] {
            assert!(ok.validate(31.5).is_ok(), "{ok:?}");
        }
        for bad in [
            sync(-1e15, -1e15),
            sync(-60.5, 0.0),
            sync(31.0, 32.0),
            sync(1e15, 1e15),
            sync(f64::NAN, 0.0),
            sync(2.0, 1.0),
        ] {
            assert!(bad.validate(31.5).is_err(), "{bad:?}");
        }
    }
}
