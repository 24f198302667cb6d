//! One layer of configuration: the settings a file, the environment or the
//! command line gives, each optional.

use std::path::Path;

use serde::Deserialize;

use super::{AuthConfig, ConfigError};
use crate::http::serve::HttpSettings;

/// A secret: compared and used as text, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself (to build keys with).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Settings given by one source; `None` leaves the layer below in force.
/// Its TOML form is the configuration file: top-level keys, and the
/// tables `[auth]`, `[sqlite]`, `[postgres]` and `[http]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// See [`super::Config::listen`].
    pub listen: Option<String>,
    /// See [`super::Config::database`].
    pub database: Option<String>,
    /// See [`super::Config::redis`].
    pub redis: Option<String>,
    /// See [`super::Config::dev`].
    pub dev: Option<bool>,
    /// See [`super::Config::session_event_rate`].
    pub session_event_rate: Option<u32>,
    /// See [`super::Config::user_event_rate`].
    pub user_event_rate: Option<u32>,
    /// See [`super::Config::session_start_rate`].
    pub session_start_rate: Option<u32>,
    /// See [`super::Config::read_rate`].
    pub read_rate: Option<u32>,
    /// See [`super::Config::timeline_cache_mib`].
    pub timeline_cache_mib: Option<u64>,
    /// See [`super::Config::max_streams`].
    pub max_streams: Option<usize>,
    /// See [`super::Config::max_pending_streams`].
    #[serde(default, deserialize_with = "positive")]
    pub max_pending_streams: Option<usize>,
    /// See [`super::Config::max_streams_per_user`].
    #[serde(default, deserialize_with = "positive")]
    pub max_streams_per_user: Option<usize>,
    /// See [`super::Config::stream_handshake_timeout_ms`].
    #[serde(default, deserialize_with = "positive")]
    pub stream_handshake_timeout_ms: Option<u64>,
    /// See [`super::Config::embed_origins`]; a layer's list replaces the
    /// one below.
    #[serde(default, deserialize_with = "super::origin::deserialize")]
    pub embed_origins: Option<Vec<String>>,
    /// Token keys and secrets (the `[auth]` table).
    #[serde(default)]
    pub auth: AuthConfig,
    /// The SQLite engine's tuning.
    #[serde(default)]
    pub sqlite: SqliteLayer,
    /// The PostgreSQL engine's tuning.
    #[serde(default)]
    pub postgres: PostgresLayer,
    /// Limits on HTTP connections.
    #[serde(default)]
    pub http: HttpLayer,
}

/// The `[sqlite]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteLayer {
    /// See [`crate::storage::sqlite::SqliteSettings::wal_restart_frames`].
    #[serde(default, deserialize_with = "positive")]
    pub wal_frames: Option<i64>,
    /// See [`crate::storage::sqlite::SqliteSettings::max_page_count`].
    #[serde(default, deserialize_with = "positive")]
    pub max_page_count: Option<u64>,
}

/// The `[postgres]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresLayer {
    /// See [`crate::storage::postgres::PostgresSettings::pool_size`].
    #[serde(default, deserialize_with = "positive")]
    pub pool_size: Option<usize>,
    /// See [`crate::storage::postgres::PostgresSettings::pool_wait`], in ms.
    #[serde(default, deserialize_with = "positive")]
    pub pool_wait_ms: Option<u64>,
    /// See [`crate::storage::postgres::PostgresSettings::connect_timeout`], in ms.
    #[serde(default, deserialize_with = "positive")]
    pub connect_timeout_ms: Option<u64>,
    /// See [`crate::storage::postgres::PostgresSettings::statement_timeout`], in ms.
    #[serde(default, deserialize_with = "positive")]
    pub statement_timeout_ms: Option<u64>,
}

/// The `[http]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpLayer {
    /// See [`HttpSettings::header_timeout`], in ms.
    #[serde(default, deserialize_with = "positive")]
    pub header_timeout_ms: Option<u64>,
    /// See [`HttpSettings::idle_timeout`], in ms.
    #[serde(default, deserialize_with = "positive")]
    pub idle_timeout_ms: Option<u64>,
    /// See [`HttpSettings::request_timeout`], in ms.
    #[serde(default, deserialize_with = "positive")]
    pub request_timeout_ms: Option<u64>,
    /// See [`HttpSettings::max_connections`].
    #[serde(default, deserialize_with = "positive")]
    pub max_connections: Option<usize>,
}

impl HttpSettings {
    /// Overrides every setting `layer` holds.
    pub(super) fn apply(&mut self, layer: HttpLayer) {
        let ms = std::time::Duration::from_millis;
        if let Some(t) = layer.header_timeout_ms {
            self.header_timeout = ms(t);
        }
        if let Some(t) = layer.idle_timeout_ms {
            self.idle_timeout = ms(t);
        }
        if let Some(t) = layer.request_timeout_ms {
            self.request_timeout = ms(t);
        }
        if let Some(n) = layer.max_connections {
            self.max_connections = n;
        }
    }
}

/// A whole number of at least 1.
fn positive<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + PartialOrd + Default + std::fmt::Display,
{
    let n = T::deserialize(d)?;
    if n > T::default() {
        Ok(Some(n))
    } else {
        Err(serde::de::Error::custom(format!(
            "must be at least 1, got {n}"
        )))
    }
}

impl Layer {
    /// The settings of a TOML file.
    pub fn from_file(path: &Path) -> Result<Layer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Unreadable {
            path: path.display().to_string(),
            error,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::BadFile {
            path: path.display().to_string(),
            message: e.to_string().trim_end().to_owned(),
        })
    }
}
