//! The command line of `chorus loadgen` (run by [`crate::loadgen`]): where
//! the server is, how to get tokens, and one subcommand per scenario.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Options of `chorus loadgen`.
#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// Where the server is and how to authenticate.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The scenario to run.
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// Where the server under load is, and the tokens to use.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Base URL(s) of running servers, comma-separated (clients are spread
    /// over them). Loopback only.
    #[arg(long, env = "CHORUS_LOADGEN_URL", value_delimiter = ',', global = true)]
    pub url: Vec<String>,
    /// Start `chorus serve` child process(es) instead of targeting `--url`.
    #[arg(long, global = true)]
    pub spawn: bool,
    /// With `--spawn`: how many server processes (more than one needs PostgreSQL).
    #[arg(long, default_value_t = 1, global = true)]
    pub processes: usize,
    /// With `--spawn`: the database (default: a fresh SQLite file in a temp dir).
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// With `--spawn`: Redis URL for pub/sub between the processes.
    #[arg(long, global = true)]
    pub redis: Option<String>,
    /// The server's admin token (generated when spawning).
    #[arg(
        long,
        env = "CHORUS_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub admin_token: Option<String>,
    /// HS256 secret to mint user tokens with (generated when spawning).
    #[arg(
        long,
        env = "CHORUS_USER_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub user_jwt_secret: Option<String>,
    /// Get user tokens from `POST /api/1/dev/login` (a server in dev mode).
    #[arg(long, global = true)]
    pub dev: bool,
    /// Skip the ceiling measurement (the report then has no ratios).
    #[arg(long, global = true)]
    pub no_ceiling: bool,
    /// Seconds each ceiling measurement runs.
    #[arg(long, default_value_t = 3.0, global = true)]
    pub ceiling_seconds: f64,
}

/// One load scenario.
#[derive(Debug, Clone, Subcommand)]
pub enum Scenario {
    /// Users take prompts: join, answers, likes, presses, leave.
    Ingest(IngestArgs),
    /// Clients poll stats bins as their prompt clocks advance.
    Stats(StatsArgs),
    /// Stream viewers of one prompt while participants post live.
    Premiere(PremiereArgs),
    /// Stream viewers replaying a prompt with a long stored history.
    Replay(ReplayArgs),
    /// Replay-bucket reads on a popular prompt, on a small one beside it,
    /// and on a small one alone in its database.
    Popular(PopularArgs),
    /// (internal) Serve pre-serialized event batches to WebSocket viewers:
    /// the machine's ceiling for the stream scenarios.
    #[command(hide = true)]
    FrameServer(FrameServerArgs),
    /// A TCP proxy that delays every byte by a fixed time each way: a
    /// network round trip between a server and PostgreSQL or Redis on one
    /// machine.
    Proxy(ProxyArgs),
}

/// Options of the `ingest` scenario.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// Seconds to run.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Users taking the prompt at once (each posts at most a few events a second).
    #[arg(long, default_value_t = 4096)]
    pub users: usize,
    /// Target requests per second, events and session starts together (open
    /// loop); 0 = as fast as answers come (closed loop).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Prompt style: numeric, press, color, word or mixed (one prompt of each).
    #[arg(long, default_value = "mixed")]
    pub style: String,
    /// Post into this existing prompt instead of creating one (its style is read).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Duration of the created prompts, in seconds.
    #[arg(long, default_value_t = 600)]
    pub duration: i64,
    /// Before starting: fill the prompt with this many stored events
    /// (setup, not measured; needs a SQLite database reachable by file).
    #[arg(long, default_value_t = 0)]
    pub history: u64,
}

/// Options of the `stats` scenario.
#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// Seconds to run.
    #[arg(long, default_value_t = 15.0)]
    pub seconds: f64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Simulated clients, each with its own prompt clock.
    #[arg(long, default_value_t = 2048)]
    pub clients: usize,
    /// Prompts the clients are spread over.
    #[arg(long, default_value_t = 4)]
    pub prompts: usize,
    /// Duration of the prompts, in seconds.
    #[arg(long, default_value_t = 600)]
    pub duration: i64,
    /// Events posted into each prompt first, so stats are not all zero.
    #[arg(long, default_value_t = 500)]
    pub seed_events: usize,
}

/// Options of the `premiere` scenario.
#[derive(Debug, Clone, Args)]
pub struct PremiereArgs {
    /// Seconds to measure once every viewer is connected.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Stream viewers.
    #[arg(long, default_value_t = 5000)]
    pub viewers: usize,
    /// Events per second posted by the participants, in total.
    #[arg(long, default_value_t = 1000.0)]
    pub event_rate: f64,
    /// Participants posting (each at `event_rate / participants` events a second).
    #[arg(long, default_value_t = 200)]
    pub participants: usize,
    /// Bandwidth each viewer asks for (events per second).
    #[arg(long, default_value_t = 100)]
    pub bandwidth: u32,
    /// Viewers' lookback and lookahead, in seconds.
    #[arg(long, default_value_t = 1.5)]
    pub window: f64,
    /// Duration of the prompt, in seconds.
    #[arg(long, default_value_t = 600)]
    pub duration: i64,
    /// Viewers connecting at once.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
}

/// Options of the `replay` scenario.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Seconds to measure once every viewer is connected.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Stream viewers.
    #[arg(long, default_value_t = 2000)]
    pub viewers: usize,
    /// Stored events in the prompt (bulk-filled first; setup, not measured).
    #[arg(long, default_value_t = 1_000_000)]
    pub history: u64,
    /// Duration of the prompt, in seconds.
    #[arg(long, default_value_t = 600)]
    pub duration: i64,
    /// Bandwidth each viewer asks for (events per second).
    #[arg(long, default_value_t = 50)]
    pub bandwidth: u32,
    /// Viewers start at prompt times spread over `[0, spread)` seconds.
    #[arg(long, default_value_t = 5.0)]
    pub spread: f64,
    /// Viewers' lookback and lookahead, in seconds.
    #[arg(long, default_value_t = 1.5)]
    pub window: f64,
    /// Viewers connecting at once.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Bulk-fill into this database file instead of the spawned server's
    /// (`sqlite://PATH`; the server must be stopped meanwhile).
    #[arg(long)]
    pub fill_database: Option<PathBuf>,
}

/// Options of the `popular` scenario.
#[derive(Debug, Clone, Args)]
pub struct PopularArgs {
    /// Sessions of the small prompt (ten events each), stored beside the
    /// popular one, and of its twin alone in a database of its own.
    #[arg(long, default_value_t = 1000)]
    pub small_sessions: u64,
    /// Sessions of the popular prompt (ten events each).
    #[arg(long, default_value_t = 100_000)]
    pub popular_sessions: u64,
    /// Events per one-second bucket on every prompt, k (sets their
    /// durations: events ÷ k seconds).
    #[arg(long, default_value_t = 100)]
    pub bucket_events: u64,
    /// Seconds each prompt is read for in each round.
    #[arg(long, default_value_t = 1.0)]
    pub phase_seconds: f64,
    /// Rounds; each reads every prompt for `--phase-seconds` in turn.
    #[arg(long, default_value_t = 6)]
    pub rounds: usize,
}

/// Options of the internal frame server.
#[derive(Debug, Clone, Args)]
pub struct FrameServerArgs {
    /// Events per second sent to each viewer.
    #[arg(long, default_value_t = 100)]
    pub bandwidth: u32,
    /// Bytes of one event item.
    #[arg(long, default_value_t = 200)]
    pub item_bytes: usize,
}

/// Options of `chorus loadgen proxy`.
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Address to listen on (loopback; port 0 picks one, printed on the
    /// first line).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Address each connection is forwarded to (loopback), e.g. PostgreSQL's
    /// `127.0.0.1:5432`.
    #[arg(long)]
    pub to: String,
    /// Milliseconds every byte is held back, in each direction: a round
    /// trip through the proxy takes at least twice this.
    #[arg(long, default_value_t = 0.5)]
    pub delay_ms: f64,
}
