//! The command line (SPEC §10). Every flag can also be set through its
//! `CHORUS_*` environment variable; flags win.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Drive a server the way real clients do and report throughput and latency.
    Loadgen(Box<crate::loadgen::LoadgenArgs>),
    /// Run a dev server with demo prompts, recorded history and a live crowd.
    Demo(DemoArgs),
}

/// Options of `chorus demo`. No `CHORUS_*` variables apply, so a demo can
/// never write into the database a real server is configured with.
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

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://…`.
    #[arg(long, env = "CHORUS_DATABASE", default_value = "sqlite://chorus.db")]
    pub database: String,
}

/// Options of `chorus serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CHORUS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The database.
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Redis URL for pub/sub across server processes (default: in-process).
    #[arg(long, env = "CHORUS_REDIS")]
    pub redis: Option<String>,
    /// Dev mode: generate missing secrets, print the admin token, enable `POST /api/1/dev/login`.
    #[arg(long, env = "CHORUS_DEV")]
    pub dev: bool,
    /// Most events per second one session may post (0 = unlimited).
    #[arg(long, env = "CHORUS_SESSION_EVENT_RATE", default_value_t = 20)]
    pub session_event_rate: u32,
    /// Most live streams this process serves at once; more get an error packet.
    #[arg(long, env = "CHORUS_MAX_STREAMS", default_value_t = 20_000)]
    pub max_streams: usize,
    /// Secret for HS256 user tokens.
    #[arg(long, env = "CHORUS_USER_JWT_SECRET", hide_env_values = true)]
    pub user_jwt_secret: Option<String>,
    /// PEM public key file for RS256/ES256 user tokens (instead of a secret).
    #[arg(long, env = "CHORUS_USER_JWT_PUBLIC_KEY")]
    pub user_jwt_public_key: Option<PathBuf>,
    /// Required `iss` of user tokens.
    #[arg(long, env = "CHORUS_USER_JWT_ISSUER")]
    pub user_jwt_issuer: Option<String>,
    /// Required `aud` of user tokens.
    #[arg(long, env = "CHORUS_USER_JWT_AUDIENCE")]
    pub user_jwt_audience: Option<String>,
    /// Secret for the prompt tokens this server mints.
    #[arg(long, env = "CHORUS_PROMPT_JWT_SECRET", hide_env_values = true)]
    pub prompt_jwt_secret: Option<String>,
    /// Bearer token of the admin API.
    #[arg(long, env = "CHORUS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}
