//! Opaque identifiers: `<prefix>_<22 URL-safe base64 chars of 16 bytes>`
//! (docs/api.md, "Uids").
//!
//! Prompt and session uids are 16 random bytes. Event uids are
//! time-ordered ([`event`]): a 48-bit big-endian Unix time in milliseconds,
//! then 80 random bits (UUIDv7's layout, without its version bits), so
//! each new event lands next to the last one in the `uid` index instead of
//! at a random page of it. Nothing relies on a uid's text following
//! creation order (base64's alphabet is not in ASCII order); older,
//! fully random event uids keep working beside them.

use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Uid prefix of interactive prompts.
pub const PROMPT: &str = "ip";
/// Uid prefix of interactive prompt sessions.
pub const SESSION: &str = "ips";
/// Uid prefix of interactive prompt events.
pub const EVENT: &str = "ipe";

/// Generates a fresh random uid with the given prefix.
pub fn generate(prefix: &str) -> String {
    encode(prefix, rand::random())
}

/// Generates a fresh time-ordered event uid: within this process, each one
/// is greater (as bytes) than the one before, even if the wall clock steps
/// back.
pub fn event() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let bytes = LAST_EVENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .next(ms, rand::random());
    encode(EVENT, bytes)
}

/// The millisecond Unix time at the start of a time-ordered uid's bytes,
/// or `None` when `uid` is not `<prefix>_<22 base64 chars>`. (On a random
/// uid it decodes to a meaningless time.)
pub fn timestamp_ms(uid: &str) -> Option<u64> {
    let (_, text) = uid.split_once('_')?;
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some((u128::from_be_bytes(bytes) >> RANDOM_BITS) as u64)
}

/// Bits after the time in a time-ordered uid.
const RANDOM_BITS: u32 = 80;

/// The last event uid made in this process, as one 128-bit number.
static LAST_EVENT: Mutex<TimeOrdered> = Mutex::new(TimeOrdered { last: 0 });

/// A sequence of time-ordered 128-bit values, each greater than the last.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeOrdered {
    last: u128,
}

impl TimeOrdered {
    /// The next value at wall-clock time `ms` with fresh randomness
    /// `random` (its low 80 bits are used), as big-endian bytes.
    ///
    /// Normally `ms` followed by the random bits. When that would not be
    /// greater than the last value (the clock stood still within a
    /// millisecond and the draw was lower, or the clock stepped back), the
    /// last value plus a random step of up to 2^32 instead: still ordered,
    /// still unguessable in its low bits, and its time part stays at the
    /// latest millisecond seen until the clock catches up.
    pub fn next(&mut self, ms: u64, random: u128) -> [u8; 16] {
        let time = u128::from(ms & ((1 << 48) - 1)) << RANDOM_BITS;
        let fresh = time | (random & ((1 << RANDOM_BITS) - 1));
        let value = if fresh > self.last {
            fresh
        } else {
            // 2^80 steps of at most 2^32 in one millisecond: never wraps
            // in practice; saturate rather than go backwards if it did.
            self.last.saturating_add(1 + (random >> 96))
        };
        self.last = value;
        value.to_be_bytes()
    }
}

fn encode(prefix: &str, bytes: [u8; 16]) -> String {
    let mut out = String::with_capacity(prefix.len() + 23);
    out.push_str(prefix);
    out.push('_');
    URL_SAFE_NO_PAD.encode_string(bytes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(uid: &str) -> [u8; 16] {
        let text = uid.split_once('_').unwrap().1;
        URL_SAFE_NO_PAD.decode(text).unwrap().try_into().unwrap()
    }

    #[test]
    fn uids_have_prefix_and_22_url_safe_chars() {
        for uid in [generate(EVENT), event()] {
            let (prefix, rest) = uid.split_once('_').unwrap();
            assert_eq!(prefix, "ipe");
            assert_eq!(rest.len(), 22);
            assert!(
                rest.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
        }
        assert_ne!(generate(EVENT), generate(EVENT));
    }

    #[test]
    fn event_uids_start_with_the_time_and_increase() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let uids: Vec<String> = (0..10_000).map(|_| event()).collect();
        let ms = timestamp_ms(&uids[0]).unwrap();
        assert!(ms >= before && ms < before + 1000, "{ms} vs {before}");
        for pair in uids.windows(2) {
            assert!(bytes_of(&pair[0]) < bytes_of(&pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn a_clock_stepping_back_keeps_the_order() {
        let mut seq = TimeOrdered::default();
        let a = seq.next(5_000, u128::MAX);
        let b = seq.next(5_000, 0);
        let c = seq.next(4_000, 7);
        let d = seq.next(6_000, 0);
        assert!(a < b && b < c && c < d);
        let time = |x: [u8; 16]| (u128::from_be_bytes(x) >> RANDOM_BITS) as u64;
        // Still in the latest millisecond seen; the clock's return is used.
        assert!(time(b) >= 5_000 && time(c) >= 5_000);
        assert_eq!(time(d), 6_000);
    }

    #[test]
    fn random_bits_fill_the_rest() {
        let mut seq = TimeOrdered::default();
        let x = u128::from_be_bytes(seq.next(1, 0xABCD));
        assert_eq!(x, (1u128 << 80) | 0xABCD);
    }
}
