//! Every configuration key, once: its file key, environment variable and
//! flag, and how a variable's text becomes its value. `docs/operations.md`
//! ("Configuration reference") lists the same keys with their defaults.

use std::str::FromStr;

use super::ConfigError;
use super::layer::{Layer, Secret};

/// One configuration key.
pub struct Key {
    /// Its name in the TOML file (`table.key` for a table's).
    pub file: &'static str,
    /// Its `CHORUS_*` environment variable.
    pub env: &'static str,
    /// Its flag of `chorus serve`.
    pub flag: &'static str,
    /// Sets the key in a layer from a variable's text.
    pub set: fn(&mut Layer, &str) -> Result<(), String>,
}

/// Puts a parsed value in its slot.
fn put<T>(slot: &mut Option<T>, value: Result<T, String>) -> Result<(), String> {
    *slot = Some(value?);
    Ok(())
}

fn number<T: FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {text:?}"))
}

fn positive<T: FromStr + PartialOrd + Default>(text: &str) -> Result<T, String> {
    number(text)
        .ok()
        .filter(|n| *n > T::default())
        .ok_or_else(|| format!("expected a whole number of at least 1, got {text:?}"))
}

fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("expected true or false, got {text:?}")),
    }
}

/// Every key, in the order of the documentation.
pub const KEYS: &[Key] = &[
    Key {
        file: "listen",
        env: "CHORUS_LISTEN",
        flag: "--listen",
        set: |l, v| put(&mut l.listen, Ok(v.into())),
    },
    Key {
        file: "database",
        env: "CHORUS_DATABASE",
        flag: "--database",
        set: |l, v| put(&mut l.database, Ok(v.into())),
    },
    Key {
        file: "redis",
        env: "CHORUS_REDIS",
        flag: "--redis",
        set: |l, v| put(&mut l.redis, Ok(v.into())),
    },
    Key {
        file: "dev",
        env: "CHORUS_DEV",
        flag: "--dev",
        set: |l, v| put(&mut l.dev, boolean(v)),
    },
    Key {
        file: "session_event_rate",
        env: "CHORUS_SESSION_EVENT_RATE",
        flag: "--session-event-rate",
        set: |l, v| put(&mut l.session_event_rate, number(v)),
    },
    Key {
        file: "user_event_rate",
        env: "CHORUS_USER_EVENT_RATE",
        flag: "--user-event-rate",
        set: |l, v| put(&mut l.user_event_rate, number(v)),
    },
    Key {
        file: "session_start_rate",
        env: "CHORUS_SESSION_START_RATE",
        flag: "--session-start-rate",
        set: |l, v| put(&mut l.session_start_rate, number(v)),
    },
    Key {
        file: "read_rate",
        env: "CHORUS_READ_RATE",
        flag: "--read-rate",
        set: |l, v| put(&mut l.read_rate, number(v)),
    },
    Key {
        file: "timeline_cache_mib",
        env: "CHORUS_TIMELINE_CACHE_MIB",
        flag: "--timeline-cache-mib",
        set: |l, v| put(&mut l.timeline_cache_mib, number(v)),
    },
    Key {
        file: "max_streams",
        env: "CHORUS_MAX_STREAMS",
        flag: "--max-streams",
        set: |l, v| put(&mut l.max_streams, number(v)),
    },
    Key {
        file: "max_pending_streams",
        env: "CHORUS_MAX_PENDING_STREAMS",
        flag: "--max-pending-streams",
        set: |l, v| put(&mut l.max_pending_streams, positive(v)),
    },
    Key {
        file: "max_streams_per_user",
        env: "CHORUS_MAX_STREAMS_PER_USER",
        flag: "--max-streams-per-user",
        set: |l, v| put(&mut l.max_streams_per_user, positive(v)),
    },
    Key {
        file: "stream_handshake_timeout_ms",
        env: "CHORUS_STREAM_HANDSHAKE_TIMEOUT_MS",
        flag: "--stream-handshake-timeout-ms",
        set: |l, v| put(&mut l.stream_handshake_timeout_ms, positive(v)),
    },
    Key {
        file: "embed_origins",
        env: "CHORUS_EMBED_ORIGINS",
        flag: "--embed-origin",
        set: |l, v| put(&mut l.embed_origins, super::origin::parse_list(v)),
    },
    Key {
        file: "auth.user_jwt_secret",
        env: "CHORUS_USER_JWT_SECRET",
        flag: "--user-jwt-secret",
        set: |l, v| put(&mut l.auth.user_jwt_secret, Ok(Secret::new(v))),
    },
    Key {
        file: "auth.user_jwt_public_key",
        env: "CHORUS_USER_JWT_PUBLIC_KEY",
        flag: "--user-jwt-public-key",
        set: |l, v| put(&mut l.auth.user_jwt_public_key, Ok(v.into())),
    },
    Key {
        file: "auth.user_jwks_url",
        env: "CHORUS_USER_JWKS_URL",
        flag: "--user-jwks-url",
        set: |l, v| put(&mut l.auth.user_jwks_url, Ok(v.into())),
    },
    Key {
        file: "auth.user_jwks_refresh_seconds",
        env: "CHORUS_USER_JWKS_REFRESH_SECONDS",
        flag: "--user-jwks-refresh-seconds",
        set: |l, v| put(&mut l.auth.user_jwks_refresh_seconds, positive(v)),
    },
    Key {
        file: "auth.user_jwks_min_interval_seconds",
        env: "CHORUS_USER_JWKS_MIN_INTERVAL_SECONDS",
        flag: "--user-jwks-min-interval-seconds",
        set: |l, v| put(&mut l.auth.user_jwks_min_interval_seconds, positive(v)),
    },
    Key {
        file: "auth.user_jwt_leeway_seconds",
        env: "CHORUS_USER_JWT_LEEWAY_SECONDS",
        flag: "--user-jwt-leeway-seconds",
        set: |l, v| put(&mut l.auth.user_jwt_leeway_seconds, number(v)),
    },
    Key {
        file: "auth.user_jwt_issuer",
        env: "CHORUS_USER_JWT_ISSUER",
        flag: "--user-jwt-issuer",
        set: |l, v| put(&mut l.auth.user_jwt_issuer, Ok(v.into())),
    },
    Key {
        file: "auth.user_jwt_audience",
        env: "CHORUS_USER_JWT_AUDIENCE",
        flag: "--user-jwt-audience",
        set: |l, v| put(&mut l.auth.user_jwt_audience, Ok(v.into())),
    },
    Key {
        file: "auth.prompt_jwt_secret",
        env: "CHORUS_PROMPT_JWT_SECRET",
        flag: "--prompt-jwt-secret",
        set: |l, v| put(&mut l.auth.prompt_jwt_secret, Ok(Secret::new(v))),
    },
    Key {
        file: "auth.prompt_token_seconds",
        env: "CHORUS_PROMPT_TOKEN_SECONDS",
        flag: "--prompt-token-seconds",
        set: |l, v| put(&mut l.auth.prompt_token_seconds, positive(v)),
    },
    Key {
        file: "auth.admin_token",
        env: "CHORUS_ADMIN_TOKEN",
        flag: "--admin-token",
        set: |l, v| put(&mut l.auth.admin_token, Ok(Secret::new(v))),
    },
    Key {
        file: "sqlite.wal_frames",
        env: "CHORUS_SQLITE_WAL_FRAMES",
        flag: "--sqlite-wal-frames",
        set: |l, v| put(&mut l.sqlite.wal_frames, positive(v)),
    },
    Key {
        file: "sqlite.max_page_count",
        env: "CHORUS_SQLITE_MAX_PAGE_COUNT",
        flag: "--sqlite-max-page-count",
        set: |l, v| put(&mut l.sqlite.max_page_count, positive(v)),
    },
    Key {
        file: "postgres.pool_size",
        env: "CHORUS_PG_POOL_SIZE",
        flag: "--pg-pool-size",
        set: |l, v| put(&mut l.postgres.pool_size, positive(v)),
    },
    Key {
        file: "postgres.pool_wait_ms",
        env: "CHORUS_PG_POOL_WAIT_MS",
        flag: "--pg-pool-wait-ms",
        set: |l, v| put(&mut l.postgres.pool_wait_ms, positive(v)),
    },
    Key {
        file: "postgres.connect_timeout_ms",
        env: "CHORUS_PG_CONNECT_TIMEOUT_MS",
        flag: "--pg-connect-timeout-ms",
        set: |l, v| put(&mut l.postgres.connect_timeout_ms, positive(v)),
    },
    Key {
        file: "postgres.statement_timeout_ms",
        env: "CHORUS_PG_STATEMENT_TIMEOUT_MS",
        flag: "--pg-statement-timeout-ms",
        set: |l, v| put(&mut l.postgres.statement_timeout_ms, positive(v)),
    },
    Key {
        file: "http.header_timeout_ms",
        env: "CHORUS_HTTP_HEADER_TIMEOUT_MS",
        flag: "--http-header-timeout-ms",
        set: |l, v| put(&mut l.http.header_timeout_ms, positive(v)),
    },
    Key {
        file: "http.idle_timeout_ms",
        env: "CHORUS_HTTP_IDLE_TIMEOUT_MS",
        flag: "--http-idle-timeout-ms",
        set: |l, v| put(&mut l.http.idle_timeout_ms, positive(v)),
    },
    Key {
        file: "http.request_timeout_ms",
        env: "CHORUS_HTTP_REQUEST_TIMEOUT_MS",
        flag: "--http-request-timeout-ms",
        set: |l, v| put(&mut l.http.request_timeout_ms, positive(v)),
    },
    Key {
        file: "http.max_connections",
        env: "CHORUS_HTTP_MAX_CONNECTIONS",
        flag: "--http-max-connections",
        set: |l, v| put(&mut l.http.max_connections, positive(v)),
    },
];

/// `CHORUS_*` variables read elsewhere than the configuration.
pub const OTHER_VARIABLES: &[&str] = &[
    // The log format, read by `telemetry` before the configuration.
    "CHORUS_LOG_FORMAT",
    // `chorus loadgen --url`'s default.
    "CHORUS_LOADGEN_URL",
];

/// The `CHORUS_*` names among `names` that are neither a key nor one of
/// [`OTHER_VARIABLES`], in order.
pub fn unknown_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    names
        .into_iter()
        .filter(|n| n.starts_with("CHORUS_"))
        .filter(|n| !KEYS.iter().any(|k| k.env == *n) && !OTHER_VARIABLES.contains(n))
        .collect()
}

impl Layer {
    /// The settings of the `CHORUS_*` variables among `vars`. An empty
    /// variable counts as unset; others are ignored here.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Layer, ConfigError> {
        let mut layer = Layer::default();
        for (name, value) in vars {
            let Some(key) = KEYS.iter().find(|k| k.env == name) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            (key.set)(&mut layer, &value).map_err(|message| ConfigError::BadVariable {
                name: name.clone(),
                message,
            })?;
        }
        Ok(layer)
    }
}
