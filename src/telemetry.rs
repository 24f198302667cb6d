//! Structured logs: `RUST_LOG` sets the filter (default `info`),
//! `CHORUS_LOG_FORMAT=json` switches to JSON lines. Logs go to stderr so
//! stdout carries only what the commands print for people and scripts.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls do nothing).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("CHORUS_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
