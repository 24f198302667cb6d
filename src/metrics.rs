//! Prometheus metrics (docs/operations.md, "Metrics reference"), served at
//! `GET /metrics`.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `chorus_events_accepted_total` | counter | `evtype` |
//! | `chorus_events_rejected_total` | counter | `type` (the error type) |
//! | `chorus_http_requests_total` | counter | `method`, `route`, `status` |
//! | `chorus_http_request_duration_seconds` | histogram | `method`, `route` |
//! | `chorus_commit_duration_seconds` | histogram | `engine` |
//! | `chorus_commit_batch_size` | histogram | — (SQLite group commit) |
//! | `chorus_transaction_retries_total` | counter | `operation` (PostgreSQL 40001/40P01) |
//! | `chorus_http_connections` | gauge | — (HTTP connections open) |
//! | `chorus_http_connections_dropped_total` | counter | `reason` (`header_timeout`, `idle_timeout`, `request_timeout`) |
//! | `chorus_aggregate_reads_total` | counter | — (reads of a prompt's Fenwick rows for stats and timelines) |
//! | `chorus_timeline_cache_total` | counter | `result` (`hit`, `miss`, `unversioned`) |
//! | `chorus_timeline_cache_bytes` | gauge | — (timeline bodies kept) |
//! | `chorus_open_streams` | gauge | — |
//! | `chorus_stream_events_delivered_total` | counter | `kind` (`near_live`, `replay`) |
//! | `chorus_stream_events_thinned_total` | counter | `reason` (`replay_sample`, `late`, `overflow`, `lagged`) |
//! | `chorus_stream_ticks_total` | counter | — (ticks of the viewers' connections, ten a second each when on time) |
//! | `chorus_stream_batches_sent_total` | counter | — (`event_batch` frames sent) |
//! | `chorus_jwks_fetches_total` | counter | `cause` (`start`, `scheduled`, `retry`, `unknown_kid`), `result` (`ok`, `unreachable`, `malformed`) |
//! | `chorus_jwks_keys` | gauge | — (usable JWKS keys in force) |
//! | `chorus_jwks_keys_refused` | gauge | — (keys of the last good JWKS that were refused) |
//! | `chorus_pubsub_gaps_total` | counter | — (Redis subscription lost and recovered) |
//! | `chorus_pubsub_recovered_events_total` | counter | — (read back from storage after a gap) |
//! | `chorus_pubsub_publish_failures_total` | counter | `outcome` (`retried`, `dropped`) |

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Events accepted, by `evtype`.
pub const EVENTS_ACCEPTED: &str = "chorus_events_accepted_total";
/// Requests refused, by error `type`.
pub const EVENTS_REJECTED: &str = "chorus_events_rejected_total";
/// HTTP requests, by method, route and status.
pub const HTTP_REQUESTS: &str = "chorus_http_requests_total";
/// HTTP request latency.
pub const HTTP_DURATION: &str = "chorus_http_request_duration_seconds";
/// HTTP connections open now (streams leave it once upgraded).
pub const HTTP_CONNECTIONS: &str = "chorus_http_connections";
/// Connections closed for being slow or idle, by reason.
pub const HTTP_CONNECTIONS_DROPPED: &str = "chorus_http_connections_dropped_total";
/// Reads of a prompt's Fenwick rows from the database for stats and
/// timelines (the in-memory copies answer the rest).
pub const AGGREGATE_READS: &str = "chorus_aggregate_reads_total";
/// Timeline requests, by whether a kept body answered them.
pub const TIMELINE_CACHE: &str = "chorus_timeline_cache_total";
/// Bytes of timeline bodies kept.
pub const TIMELINE_CACHE_BYTES: &str = "chorus_timeline_cache_bytes";
/// Latency of committing a transaction (a group, on SQLite).
pub const COMMIT_DURATION: &str = "chorus_commit_duration_seconds";
/// Requests per SQLite group commit.
pub const COMMIT_BATCH: &str = "chorus_commit_batch_size";
/// PostgreSQL transactions run again after a serialization failure or deadlock.
pub const TRANSACTION_RETRIES: &str = "chorus_transaction_retries_total";
/// Streams open now.
pub const OPEN_STREAMS: &str = "chorus_open_streams";
/// Events delivered to viewers.
pub const DELIVERED: &str = "chorus_stream_events_delivered_total";
/// Events not delivered because of the bandwidth.
pub const THINNED: &str = "chorus_stream_events_thinned_total";
/// Ticks of the viewers' connections (what a viewer costs whether or not
/// events come; the capacity model's unit).
pub const STREAM_TICKS: &str = "chorus_stream_ticks_total";
/// `event_batch` frames sent to viewers (a tick with events to send).
pub const STREAM_BATCHES: &str = "chorus_stream_batches_sent_total";
/// Redis subscriptions lost and established again.
pub const PUBSUB_GAPS: &str = "chorus_pubsub_gaps_total";
/// Events read back from storage after a gap in the subscription.
pub const PUBSUB_RECOVERED: &str = "chorus_pubsub_recovered_events_total";
/// Publishes that failed: sent again later, or dropped.
pub const PUBSUB_PUBLISH_FAILURES: &str = "chorus_pubsub_publish_failures_total";

/// Fetches of the identity provider's JWKS, by cause and result.
pub const JWKS_FETCHES: &str = "chorus_jwks_fetches_total";
/// Usable JWKS keys in force.
pub const JWKS_KEYS: &str = "chorus_jwks_keys";
/// Keys of the last good JWKS that Chorus refused (unsupported or invalid).
pub const JWKS_KEYS_REFUSED: &str = "chorus_jwks_keys_refused";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often buffered histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process-wide recorder (once) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let latency = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ];
            let batch = [
                1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2048.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(COMMIT_BATCH.into()), &batch))
                .expect("valid buckets");
            let handle = builder
                .install_recorder()
                .expect("one metrics recorder per process");
            describe();
            let upkeep = handle.clone();
            // Histogram samples wait in per-metric buffers until upkeep (or
            // a scrape) folds them in; without it memory grows with every
            // request while nobody scrapes.
            std::thread::Builder::new()
                .name("chorus-metrics".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .expect("spawn the metrics upkeep thread");
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(EVENTS_ACCEPTED, "Events accepted and committed, by evtype.");
    describe_counter!(EVENTS_REJECTED, "Requests refused, by error type.");
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency."
    );
    describe_counter!(
        AGGREGATE_READS,
        "Reads of a prompt's Fenwick rows from the database for stats and timelines."
    );
    describe_counter!(
        TIMELINE_CACHE,
        "Timeline requests: answered by a kept body (hit), built and kept (miss), or built from the database (unversioned)."
    );
    describe_gauge!(TIMELINE_CACHE_BYTES, "Bytes of timeline bodies kept.");
    describe_gauge!(HTTP_CONNECTIONS, "HTTP connections open on this process.");
    describe_counter!(
        HTTP_CONNECTIONS_DROPPED,
        "HTTP connections closed for a slow head (header_timeout), idleness (idle_timeout) or a slow body (request_timeout)."
    );
    describe_counter!(
        TRANSACTION_RETRIES,
        "PostgreSQL transactions retried after a serialization failure or deadlock, by operation."
    );
    describe_histogram!(
        COMMIT_DURATION,
        metrics::Unit::Seconds,
        "Time to commit one transaction (one group on SQLite)."
    );
    describe_histogram!(
        COMMIT_BATCH,
        "Requests committed together by the SQLite writer."
    );
    describe_gauge!(OPEN_STREAMS, "Live streams open on this process.");
    describe_counter!(DELIVERED, "Events delivered to stream viewers, by kind.");
    describe_counter!(THINNED, "Events not delivered to a viewer, by reason.");
    describe_counter!(
        STREAM_TICKS,
        "Ticks of the viewers' stream connections (ten a second each when on time)."
    );
    describe_counter!(STREAM_BATCHES, "event_batch frames sent to viewers.");
    describe_counter!(
        JWKS_FETCHES,
        "Fetches of the identity provider's JWKS, by cause and result."
    );
    describe_gauge!(JWKS_KEYS, "Usable JWKS keys in force.");
    describe_gauge!(
        JWKS_KEYS_REFUSED,
        "Keys of the last good JWKS refused as unsupported or invalid."
    );
    describe_counter!(
        PUBSUB_GAPS,
        "Redis subscriptions lost (outage, reset, failed health check) and established again."
    );
    describe_counter!(
        PUBSUB_RECOVERED,
        "Events read back from storage for this process's viewers after a subscription gap."
    );
    describe_counter!(
        PUBSUB_PUBLISH_FAILURES,
        "Publishes to Redis that failed, by outcome (retried later, or dropped)."
    );
}
