//! The configuration of a server: one typed [`Config`], resolved from
//! layers, each overriding the one before it:
//!
//! 1. the defaults ([`Config::default`]);
//! 2. a TOML file (`--config FILE`);
//! 3. `CHORUS_*` environment variables;
//! 4. command-line flags.
//!
//! Every key, with its file key, variable, flag and default, is listed in
//! [`keys::KEYS`] and in `docs/operations.md` ("Configuration reference").
//! A `CHORUS_*` variable that names no key is reported (a typo would
//! otherwise be silently ignored). Secrets are [`Secret`]s, whose `Debug`
//! never shows them.

pub mod keys;
mod layer;
pub mod origin;
pub mod redact;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use layer::{Layer, Secret};

use crate::auth::{
    AuthSettings, DEFAULT_LEEWAY_SECONDS, JwksSettings, MAX_LEEWAY_SECONDS, PROMPT_TOKEN_SECONDS,
    UserKey, jwks,
};
use crate::http::rate_limit::RateSettings;
use crate::http::serve::HttpSettings;
use crate::storage::StorageSettings;
use crate::stream::StreamSettings;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A secret is missing outside dev mode.
    #[error("{0} is not set (set it, or run with --dev to generate one)")]
    Missing(&'static str),
    /// More than one way to verify user tokens was given.
    #[error(
        "set exactly one of CHORUS_USER_JWT_SECRET, CHORUS_USER_JWT_PUBLIC_KEY and CHORUS_USER_JWKS_URL"
    )]
    SeveralUserKeys,
    /// A setting is out of its range.
    #[error("{name}: {message}")]
    OutOfRange {
        /// The setting's variable.
        name: &'static str,
        /// Its range.
        message: String,
    },
    /// A file cannot be read.
    #[error("cannot read {path}: {error}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The configuration file is not valid.
    #[error("{path}: {message}")]
    BadFile {
        /// The file.
        path: String,
        /// What is wrong, with its line.
        message: String,
    },
    /// An environment variable has a value its key cannot take.
    #[error("{name}: {message}")]
    BadVariable {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The settings of `chorus serve`, resolved and typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    pub listen: String,
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://…`.
    pub database: String,
    /// Redis URL for pub/sub across server processes (None: in-process).
    pub redis: Option<String>,
    /// Dev mode: missing secrets generated, admin token printed, dev routes on.
    pub dev: bool,
    /// Most events per second one session may post (0 = unlimited).
    pub session_event_rate: u32,
    /// Most events per second one user may post (0 = unlimited).
    pub user_event_rate: u32,
    /// Most sessions one user may start per minute (0 = unlimited).
    pub session_start_rate: u32,
    /// Most reads (stats, timeline, search, who is here) per second per
    /// user, whatever prompt tokens they hold (0 = unlimited).
    pub read_rate: u32,
    /// MiB of timeline answers this process keeps (0 = none kept).
    pub timeline_cache_mib: u64,
    /// Most live streams this process serves at once (authorized ones).
    pub max_streams: usize,
    /// Most stream sockets still in their handshake at once.
    pub max_pending_streams: usize,
    /// Most live streams one user holds at once in this process.
    pub max_streams_per_user: usize,
    /// Milliseconds a stream's whole handshake may take.
    pub stream_handshake_timeout_ms: u64,
    /// Origins allowed to embed the participant page `/p/{uid}` and hand it
    /// user tokens, as browsers write them ([`origin::parse`]).
    pub embed_origins: Vec<String>,
    /// Token keys and secrets.
    pub auth: AuthConfig,
    /// Tuning of the storage engines.
    pub storage: StorageSettings,
    /// Limits on HTTP connections: timeouts and their number.
    pub http: HttpSettings,
}

/// Token keys and secrets, as configured (see [`Config::auth_settings`]);
/// the `[auth]` table of the file.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 secret of user tokens.
    pub user_jwt_secret: Option<Secret>,
    /// PEM public key file of RS256/ES256 user tokens (instead of a secret).
    pub user_jwt_public_key: Option<PathBuf>,
    /// The identity provider's JWKS URL (instead of a secret or a key file).
    pub user_jwks_url: Option<String>,
    /// Seconds between two scheduled fetches of the JWKS.
    pub user_jwks_refresh_seconds: Option<u64>,
    /// Least seconds between fetches of the JWKS caused by an unknown `kid`.
    pub user_jwks_min_interval_seconds: Option<u64>,
    /// Clock skew allowed on user tokens' `exp` and `nbf`, in seconds.
    pub user_jwt_leeway_seconds: Option<u64>,
    /// Required `iss` of user tokens.
    pub user_jwt_issuer: Option<String>,
    /// Required `aud` of user tokens.
    pub user_jwt_audience: Option<String>,
    /// HS256 secret of the prompt tokens this server mints.
    pub prompt_jwt_secret: Option<Secret>,
    /// Lifetime of the prompt tokens this server mints, in seconds.
    pub prompt_token_seconds: Option<u64>,
    /// Bearer token of the admin API.
    pub admin_token: Option<Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database: "sqlite://chorus.db".into(),
            redis: None,
            dev: false,
            session_event_rate: 20,
            user_event_rate: 50,
            session_start_rate: 30,
            read_rate: 20,
            timeline_cache_mib: crate::http::timeline_cache::DEFAULT_MIB,
            max_streams: 20_000,
            max_pending_streams: 1_000,
            max_streams_per_user: 10,
            stream_handshake_timeout_ms: 5_000,
            embed_origins: Vec::new(),
            auth: AuthConfig::default(),
            storage: StorageSettings::default(),
            http: HttpSettings::default(),
        }
    }
}

impl Config {
    /// Resolves the defaults, then the file at `file` (if any), then the
    /// `CHORUS_*` variables of `env`, then `flags`. Variables that name no
    /// key are logged as warnings.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: Layer,
    ) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        for name in keys::unknown_variables(env.iter().map(|(name, _)| name.as_str())) {
            tracing::warn!(
                variable = name,
                "{name} is set but is no Chorus setting; it is ignored (see docs/operations.md)"
            );
        }
        let mut config = Config::default();
        if let Some(path) = file {
            config.apply(Layer::from_file(path)?);
        }
        config.apply(Layer::from_env(env)?);
        config.apply(flags);
        Ok(config)
    }

    /// Overrides every setting `layer` holds.
    pub fn apply(&mut self, layer: Layer) {
        let set = |to: &mut String, from: Option<String>| {
            if let Some(v) = from {
                *to = v;
            }
        };
        set(&mut self.listen, layer.listen);
        set(&mut self.database, layer.database);
        self.redis = layer.redis.or(self.redis.take());
        self.dev = layer.dev.unwrap_or(self.dev);
        self.session_event_rate = layer.session_event_rate.unwrap_or(self.session_event_rate);
        self.user_event_rate = layer.user_event_rate.unwrap_or(self.user_event_rate);
        self.session_start_rate = layer.session_start_rate.unwrap_or(self.session_start_rate);
        self.read_rate = layer.read_rate.unwrap_or(self.read_rate);
        self.timeline_cache_mib = layer.timeline_cache_mib.unwrap_or(self.timeline_cache_mib);
        self.max_streams = layer.max_streams.unwrap_or(self.max_streams);
        self.max_pending_streams = layer
            .max_pending_streams
            .unwrap_or(self.max_pending_streams);
        self.max_streams_per_user = layer
            .max_streams_per_user
            .unwrap_or(self.max_streams_per_user);
        self.stream_handshake_timeout_ms = layer
            .stream_handshake_timeout_ms
            .unwrap_or(self.stream_handshake_timeout_ms);
        if let Some(origins) = layer.embed_origins {
            self.embed_origins = origins;
        }
        self.auth.apply(layer.auth);
        let storage = &mut self.storage;
        if let Some(frames) = layer.sqlite.wal_frames {
            storage.sqlite.wal_restart_frames = frames;
        }
        if let Some(pages) = layer.sqlite.max_page_count {
            storage.sqlite.max_page_count = Some(pages);
        }
        let pg = &mut storage.postgres;
        let ms = std::time::Duration::from_millis;
        if let Some(size) = layer.postgres.pool_size {
            pg.pool_size = size;
        }
        if let Some(wait) = layer.postgres.pool_wait_ms {
            pg.pool_wait = ms(wait);
        }
        if let Some(timeout) = layer.postgres.connect_timeout_ms {
            pg.connect_timeout = ms(timeout);
        }
        if let Some(timeout) = layer.postgres.statement_timeout_ms {
            pg.statement_timeout = ms(timeout);
        }
        self.http.apply(layer.http);
    }

    /// The rate limits' settings.
    pub fn rate_settings(&self) -> RateSettings {
        RateSettings {
            session_event_rate: self.session_event_rate,
            user_event_rate: self.user_event_rate,
            session_start_rate: self.session_start_rate,
            read_rate: self.read_rate,
        }
    }

    /// The auth settings; in dev mode, missing secrets are generated.
    pub fn auth_settings(&self) -> Result<AuthSettings, ConfigError> {
        let a = &self.auth;
        let or_generate = |v: &Option<Secret>, name: &'static str| match v {
            Some(v) if !v.expose().is_empty() => Ok(v.expose().to_owned()),
            _ if self.dev => Ok(random_secret()),
            _ => Err(ConfigError::Missing(name)),
        };
        let user_key = match (&a.user_jwt_secret, &a.user_jwt_public_key, &a.user_jwks_url) {
            (secret, None, None) => UserKey::Secret(or_generate(secret, "CHORUS_USER_JWT_SECRET")?),
            (None, Some(path), None) => {
                UserKey::PublicKeyPem(std::fs::read(path).map_err(|error| {
                    ConfigError::Unreadable {
                        path: path.display().to_string(),
                        error,
                    }
                })?)
            }
            (None, None, Some(url)) => UserKey::Jwks(self.jwks_settings(url)?),
            _ => return Err(ConfigError::SeveralUserKeys),
        };
        let leeway = a.user_jwt_leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS);
        if leeway > MAX_LEEWAY_SECONDS {
            return Err(ConfigError::OutOfRange {
                name: "CHORUS_USER_JWT_LEEWAY_SECONDS",
                message: format!("at most {MAX_LEEWAY_SECONDS}, got {leeway}"),
            });
        }
        let prompt_token_seconds = a.prompt_token_seconds.unwrap_or(PROMPT_TOKEN_SECONDS);
        if prompt_token_seconds == 0 {
            return Err(ConfigError::OutOfRange {
                name: "CHORUS_PROMPT_TOKEN_SECONDS",
                message: "at least 1".into(),
            });
        }
        Ok(AuthSettings {
            user_key,
            user_issuer: a.user_jwt_issuer.clone(),
            user_audience: a.user_jwt_audience.clone(),
            user_leeway_seconds: leeway,
            prompt_secret: or_generate(&a.prompt_jwt_secret, "CHORUS_PROMPT_JWT_SECRET")?,
            prompt_token_seconds,
            admin_token: or_generate(&a.admin_token, "CHORUS_ADMIN_TOKEN")?,
        })
    }
}

impl Config {
    /// The limits of the stream endpoint.
    pub fn stream_settings(&self) -> StreamSettings {
        StreamSettings {
            max_streams: self.max_streams,
            max_pending: self.max_pending_streams,
            max_per_user: self.max_streams_per_user,
            handshake_timeout: Duration::from_millis(self.stream_handshake_timeout_ms),
        }
    }

    /// The JWKS at `url`, fetched as often as configured.
    fn jwks_settings(&self, url: &str) -> Result<JwksSettings, ConfigError> {
        let a = &self.auth;
        let seconds = |v: Option<u64>, default: Duration, name: &'static str| match v {
            Some(0) => Err(ConfigError::OutOfRange {
                name,
                message: "at least 1".into(),
            }),
            Some(n) => Ok(Duration::from_secs(n)),
            None => Ok(default),
        };
        Ok(JwksSettings {
            url: url.to_owned(),
            refresh: seconds(
                a.user_jwks_refresh_seconds,
                jwks::DEFAULT_REFRESH,
                "CHORUS_USER_JWKS_REFRESH_SECONDS",
            )?,
            min_interval: seconds(
                a.user_jwks_min_interval_seconds,
                jwks::DEFAULT_MIN_INTERVAL,
                "CHORUS_USER_JWKS_MIN_INTERVAL_SECONDS",
            )?,
        })
    }
}

impl AuthConfig {
    /// Overrides every setting `over` holds.
    fn apply(&mut self, over: AuthConfig) {
        let AuthConfig {
            user_jwt_secret,
            user_jwt_public_key,
            user_jwks_url,
            user_jwks_refresh_seconds,
            user_jwks_min_interval_seconds,
            user_jwt_leeway_seconds,
            user_jwt_issuer,
            user_jwt_audience,
            prompt_jwt_secret,
            prompt_token_seconds,
            admin_token,
        } = over;
        self.user_jwt_secret = user_jwt_secret.or(self.user_jwt_secret.take());
        self.user_jwt_public_key = user_jwt_public_key.or(self.user_jwt_public_key.take());
        self.user_jwks_url = user_jwks_url.or(self.user_jwks_url.take());
        self.user_jwks_refresh_seconds =
            user_jwks_refresh_seconds.or(self.user_jwks_refresh_seconds);
        self.user_jwks_min_interval_seconds =
            user_jwks_min_interval_seconds.or(self.user_jwks_min_interval_seconds);
        self.user_jwt_leeway_seconds = user_jwt_leeway_seconds.or(self.user_jwt_leeway_seconds);
        self.user_jwt_issuer = user_jwt_issuer.or(self.user_jwt_issuer.take());
        self.user_jwt_audience = user_jwt_audience.or(self.user_jwt_audience.take());
        self.prompt_jwt_secret = prompt_jwt_secret.or(self.prompt_jwt_secret.take());
        self.prompt_token_seconds = prompt_token_seconds.or(self.prompt_token_seconds);
        self.admin_token = admin_token.or(self.admin_token.take());
    }
}

/// Generated secrets are this many random bytes, base64url-encoded.
fn random_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests;
