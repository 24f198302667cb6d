//! The command line (docs/operations.md, "Configuration reference"). The
//! flags of `serve`, `check` and `rebuild` are the top layer of the
//! [`Config`]: they override a `--config` file and the `CHORUS_*`
//! environment, which override the defaults.

pub mod loadgen;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{AuthConfig, Config, ConfigError, Layer, Secret};

/// Chorus: interactive prompts with time-dilated responses.
#[derive(Debug, Parser)]
#[command(name = "chorus", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Verify every prompt's Fenwick rows and counts against its events.
    Check(DatabaseArgs),
    /// Recompute every prompt's Fenwick rows and counts from its events.
    Rebuild(DatabaseArgs),
    /// Show the database's plans for the range reads of a prompt's events.
    Explain(ExplainArgs),
    /// Copy a live SQLite database consistently, while its server runs.
    Backup(BackupArgs),
    /// Drive a server the way real clients do and report throughput and latency.
    Loadgen(Box<loadgen::LoadgenArgs>),
    /// Run a dev server with demo prompts, recorded history and a live crowd.
    Demo(DemoArgs),
}

/// Options of `chorus demo`. No `CHORUS_*` variable or file applies, so a
/// demo can never write into the database a real server is configured with.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The database: in memory by default (gone on exit); a `sqlite://PATH`
    /// keeps the demo, and running again on it reuses its prompts.
    #[arg(long, default_value = "sqlite::memory:")]
    pub database: String,
    /// Recorded sessions written on each new demo prompt.
    #[arg(long, default_value_t = 300)]
    pub history: u64,
    /// About how many simulated people take each prompt at any moment (0 = none).
    #[arg(long, default_value_t = 4)]
    pub crowd: u32,
    /// No simulated crowd (the same as `--crowd 0`).
    #[arg(long)]
    pub no_crowd: bool,
    /// Seed of the history and the crowd (the same seed, the same history).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

impl DemoArgs {
    /// The demo's server: the defaults, in dev mode, at `--listen` on `--database`.
    pub fn config(&self) -> Config {
        Config {
            listen: self.listen.clone(),
            database: self.database.clone(),
            dev: true,
            ..Config::default()
        }
    }
}

/// Where the database is (`chorus check`, `chorus rebuild`).
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// A TOML configuration file (see docs/operations.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://…` [env: CHORUS_DATABASE] [default: sqlite://chorus.db]
    #[arg(long)]
    pub database: Option<String>,
}

impl DatabaseArgs {
    /// The configuration these flags, the file and the environment give.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let flags = Layer {
            database: self.database.clone(),
            ..Layer::default()
        };
        Config::load(self.config.as_deref(), environment()?, flags)
    }
}

/// Options of `chorus explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The prompt whose reads to explain (`ip_…`); the oldest live prompt
    /// when omitted.
    #[arg(long)]
    pub prompt: Option<String>,
}

/// Options of `chorus backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Where the database is (a `sqlite://PATH`; for PostgreSQL use
    /// `pg_dump`, see docs/operations.md).
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The file to write the copy to; it must not exist.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace `--to` if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Options of `chorus serve`. Each also has a `CHORUS_*` variable and a
/// key of the `--config` file.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (see docs/operations.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port) [env: CHORUS_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<String>,
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://…` [env: CHORUS_DATABASE] [default: sqlite://chorus.db]
    #[arg(long)]
    pub database: Option<String>,
    /// Redis URL for pub/sub across server processes [env: CHORUS_REDIS] [default: in-process]
    #[arg(long)]
    pub redis: Option<String>,
    /// Dev mode: generate missing secrets, print the admin token, enable `POST /api/1/dev/login` [env: CHORUS_DEV]
    #[arg(long)]
    pub dev: bool,
    /// Most events per second one session may post (0 = unlimited) [env: CHORUS_SESSION_EVENT_RATE] [default: 20]
    #[arg(long)]
    pub session_event_rate: Option<u32>,
    /// Most events per second one user may post, whatever the session (0 = unlimited) [env: CHORUS_USER_EVENT_RATE] [default: 50]
    #[arg(long)]
    pub user_event_rate: Option<u32>,
    /// Most sessions one user may start per minute (0 = unlimited) [env: CHORUS_SESSION_START_RATE] [default: 30]
    #[arg(long)]
    pub session_start_rate: Option<u32>,
    /// Most stats, timeline, search and profile-picture requests per second per user (0 = unlimited) [env: CHORUS_READ_RATE] [default: 20]
    #[arg(long)]
    pub read_rate: Option<u32>,
    /// MiB of timeline answers kept in memory (0 = none) [env: CHORUS_TIMELINE_CACHE_MIB] [default: 64]
    #[arg(long)]
    pub timeline_cache_mib: Option<u64>,
    /// Most authorized live streams of this process [env: CHORUS_MAX_STREAMS] [default: 20000]
    #[arg(long)]
    pub max_streams: Option<usize>,
    /// Stream sockets not yet authorized, apart from `--max-streams` [env: CHORUS_MAX_PENDING_STREAMS] [default: 1000]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pending_streams: Option<u64>,
    /// Most live streams of one user on this process [env: CHORUS_MAX_STREAMS_PER_USER] [default: 10]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_streams_per_user: Option<u64>,
    /// Milliseconds a stream's whole handshake may take [env: CHORUS_STREAM_HANDSHAKE_TIMEOUT_MS] [default: 5000]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_handshake_timeout_ms: Option<u64>,
    /// An origin (`https://app.example.com`) allowed to embed the
    /// participant page `/p/{uid}` in a frame and hand it user tokens;
    /// repeat for several [env: CHORUS_EMBED_ORIGINS, comma-separated]
    /// [default: none]
    #[arg(long = "embed-origin", value_name = "ORIGIN", value_parser = crate::config::origin::parse)]
    pub embed_origin: Vec<String>,
    /// Secret for HS256 user tokens [env: CHORUS_USER_JWT_SECRET]
    #[arg(long)]
    pub user_jwt_secret: Option<String>,
    /// PEM public key file for RS256/ES256 user tokens (instead of a
    /// secret) [env: CHORUS_USER_JWT_PUBLIC_KEY]
    #[arg(long)]
    pub user_jwt_public_key: Option<PathBuf>,
    /// The identity provider's JWKS URL for RS256/ES256 user tokens, keys
    /// chosen by `kid` (instead of a secret or a key file)
    /// [env: CHORUS_USER_JWKS_URL]
    #[arg(long)]
    pub user_jwks_url: Option<String>,
    /// Seconds between two scheduled fetches of the JWKS
    /// [env: CHORUS_USER_JWKS_REFRESH_SECONDS] [default: 600]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub user_jwks_refresh_seconds: Option<u64>,
    /// Least seconds between fetches of the JWKS caused by a token naming an
    /// unknown `kid` [env: CHORUS_USER_JWKS_MIN_INTERVAL_SECONDS] [default: 60]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub user_jwks_min_interval_seconds: Option<u64>,
    /// Clock skew allowed on user tokens' `exp` and `nbf`, 0–60 seconds
    /// [env: CHORUS_USER_JWT_LEEWAY_SECONDS] [default: 60]
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=60))]
    pub user_jwt_leeway_seconds: Option<u64>,
    /// Required `iss` of user tokens [env: CHORUS_USER_JWT_ISSUER]
    #[arg(long)]
    pub user_jwt_issuer: Option<String>,
    /// Required `aud` of user tokens [env: CHORUS_USER_JWT_AUDIENCE]
    #[arg(long)]
    pub user_jwt_audience: Option<String>,
    /// Secret for the prompt tokens this server mints [env: CHORUS_PROMPT_JWT_SECRET]
    #[arg(long)]
    pub prompt_jwt_secret: Option<String>,
    /// Seconds prompt tokens last; streams close (4401) at expiry [env: CHORUS_PROMPT_TOKEN_SECONDS] [default: 1800]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub prompt_token_seconds: Option<u64>,
    /// Bearer token of the admin API [env: CHORUS_ADMIN_TOKEN]
    #[arg(long)]
    pub admin_token: Option<String>,
    /// SQLite: WAL length in frames (~4 KiB each) past which the WAL is
    /// restarted [env: CHORUS_SQLITE_WAL_FRAMES] [default: 65536]
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub sqlite_wal_frames: Option<i64>,
    /// SQLite: most pages (4 KiB each) the database may hold, a disk
    /// quota; past it writes get 503 [env: CHORUS_SQLITE_MAX_PAGE_COUNT]
    /// [default: no limit]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub sqlite_max_page_count: Option<u64>,
    /// PostgreSQL: pooled connections per process [env: CHORUS_PG_POOL_SIZE]
    /// [default: 16]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub pg_pool_size: Option<u32>,
    /// PostgreSQL: longest wait for a pooled connection, then 503
    /// [env: CHORUS_PG_POOL_WAIT_MS] [default: 2000]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub pg_pool_wait_ms: Option<u64>,
    /// PostgreSQL: longest time to open a connection
    /// [env: CHORUS_PG_CONNECT_TIMEOUT_MS] [default: 2000]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub pg_connect_timeout_ms: Option<u64>,
    /// PostgreSQL: longest time one statement may run, then 503
    /// [env: CHORUS_PG_STATEMENT_TIMEOUT_MS] [default: 10000]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub pg_statement_timeout_ms: Option<u64>,
    /// HTTP: longest a request head may take to arrive, then the
    /// connection is closed [env: CHORUS_HTTP_HEADER_TIMEOUT_MS] [default: 10000]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_header_timeout_ms: Option<u64>,
    /// HTTP: longest a connection may idle between requests
    /// [env: CHORUS_HTTP_IDLE_TIMEOUT_MS] [default: 60000]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_idle_timeout_ms: Option<u64>,
    /// HTTP: longest a request body may take to arrive, then 408
    /// [env: CHORUS_HTTP_REQUEST_TIMEOUT_MS] [default: 30000]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_request_timeout_ms: Option<u64>,
    /// HTTP: most connections open at once; more wait to be accepted
    /// [env: CHORUS_HTTP_MAX_CONNECTIONS] [default: 10000]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub http_max_connections: Option<u32>,
}

impl ServeArgs {
    /// The flags given, as the top layer of the configuration.
    pub fn layer(&self) -> Layer {
        let mut layer = Layer {
            listen: self.listen.clone(),
            database: self.database.clone(),
            redis: self.redis.clone(),
            dev: self.dev.then_some(true),
            session_event_rate: self.session_event_rate,
            user_event_rate: self.user_event_rate,
            session_start_rate: self.session_start_rate,
            read_rate: self.read_rate,
            timeline_cache_mib: self.timeline_cache_mib,
            max_streams: self.max_streams,
            max_pending_streams: self.max_pending_streams.map(|n| n as usize),
            max_streams_per_user: self.max_streams_per_user.map(|n| n as usize),
            stream_handshake_timeout_ms: self.stream_handshake_timeout_ms,
            embed_origins: (!self.embed_origin.is_empty()).then(|| self.embed_origin.clone()),
            auth: AuthConfig {
                user_jwt_secret: self.user_jwt_secret.clone().map(Secret::new),
                user_jwt_public_key: self.user_jwt_public_key.clone(),
                user_jwks_url: self.user_jwks_url.clone(),
                user_jwks_refresh_seconds: self.user_jwks_refresh_seconds,
                user_jwks_min_interval_seconds: self.user_jwks_min_interval_seconds,
                user_jwt_leeway_seconds: self.user_jwt_leeway_seconds,
                user_jwt_issuer: self.user_jwt_issuer.clone(),
                user_jwt_audience: self.user_jwt_audience.clone(),
                prompt_jwt_secret: self.prompt_jwt_secret.clone().map(Secret::new),
                prompt_token_seconds: self.prompt_token_seconds,
                admin_token: self.admin_token.clone().map(Secret::new),
            },
            ..Layer::default()
        };
        layer.sqlite.wal_frames = self.sqlite_wal_frames;
        layer.sqlite.max_page_count = self.sqlite_max_page_count;
        layer.postgres.pool_size = self.pg_pool_size.map(|n| n as usize);
        layer.postgres.pool_wait_ms = self.pg_pool_wait_ms;
        layer.postgres.connect_timeout_ms = self.pg_connect_timeout_ms;
        layer.postgres.statement_timeout_ms = self.pg_statement_timeout_ms;
        layer.http.header_timeout_ms = self.http_header_timeout_ms;
        layer.http.idle_timeout_ms = self.http_idle_timeout_ms;
        layer.http.request_timeout_ms = self.http_request_timeout_ms;
        layer.http.max_connections = self.http_max_connections.map(|n| n as usize);
        layer
    }

    /// The configuration these flags, the file and the environment give.
    pub fn config(&self) -> Result<Config, ConfigError> {
        Config::load(self.config.as_deref(), environment()?, self.layer())
    }
}

/// The process's environment. A `CHORUS_*` variable that is not UTF-8 is
/// an error; other such variables are none of ours.
fn environment() -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().map(str::to_owned) else {
            continue;
        };
        match value.into_string() {
            Ok(value) => out.push((name, value)),
            Err(_) if name.starts_with("CHORUS_") => {
                return Err(ConfigError::BadVariable {
                    name,
                    message: "is not valid UTF-8".into(),
                });
            }
            Err(_) => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::config::keys::KEYS;

    #[test]
    fn every_configuration_key_has_its_flag_naming_its_variable() {
        let cli = Cli::command();
        let serve = cli.find_subcommand("serve").expect("serve");
        for key in KEYS {
            let flag = key.flag.trim_start_matches("--");
            let arg = serve
                .get_arguments()
                .find(|a| a.get_long() == Some(flag))
                .unwrap_or_else(|| panic!("no flag {}", key.flag));
            let help = arg.get_help().expect("help").to_string();
            assert!(help.contains(key.env), "{}: {help}", key.flag);
        }
    }

    #[test]
    fn flags_override_the_layers_below() {
        let cli = Cli::try_parse_from([
            "chorus",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dev",
            "--pg-pool-size",
            "4",
            "--admin-token",
            "t",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        let env = vec![
            ("CHORUS_LISTEN".to_owned(), "127.0.0.1:9".to_owned()),
            ("CHORUS_MAX_STREAMS".to_owned(), "3".to_owned()),
        ];
        let c = Config::load(None, env, args.layer()).unwrap();
        assert_eq!(
            (c.listen.as_str(), c.dev, c.max_streams),
            ("127.0.0.1:0", true, 3)
        );
        assert_eq!(c.storage.postgres.pool_size, 4);
        assert_eq!(c.auth.admin_token, Some(Secret::new("t")));
        assert!(Cli::try_parse_from(["chorus", "serve", "--pg-pool-size", "0"]).is_err());
    }

    #[test]
    fn the_demo_is_the_defaults_in_dev_mode() {
        let cli = Cli::try_parse_from(["chorus", "demo", "--listen", "127.0.0.1:0"]).unwrap();
        let Command::Demo(args) = cli.command else {
            panic!("demo")
        };
        let c = args.config();
        assert!(c.dev);
        assert_eq!(c.database, "sqlite::memory:");
        assert_eq!(c.session_event_rate, Config::default().session_event_rate);
    }
}
