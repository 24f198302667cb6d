//! The wall clock, as every layer reads it.

/// Current unix time in seconds, rounded to whole microseconds: fewer than
/// 2^53 microseconds over 10^6 is parsed back exactly even by serde_json's
/// default (not correctly rounded) float parser, so a `created_at` copied
/// from a response into a search filter still matches its event.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as f64 / 1e6)
        .unwrap_or(0.0)
}
