//! `chorus loadgen`: drives a running server exactly the way real clients
//! do, and reports throughput, latency and errors (its figures, and how
//! they are taken: BENCHMARKS.md).
//!
//! Its command line (target, tokens, one subcommand per scenario) is
//! [`crate::cli::loadgen`].
//!
//! # Layout
//! * [`target`] — spawning `chorus serve` children (or using `--url`), and
//!   reading their memory from `/proc`.
//! * [`client`] / [`api`] — a lean HTTP/1.1 keep-alive client and the
//!   Chorus calls on it; [`viewer`] — a stream viewer on a WebSocket.
//! * [`script`] — what a participant posts in a session, by prompt style.
//! * [`histogram`] / [`report`] — HDR latency histograms, error counts, the
//!   progress bar and the final report.
//! * [`ceiling`] / [`frames`] — the machine's ceiling for each kind of work,
//!   measured in the same run (trivial HTTP requests; a stream of
//!   pre-serialized frames), so figures can be reported as ratios.
//! * [`fill`] — setup only: a long stored history written through the
//!   library before the server starts.
//! * [`ingest`], [`stats`], [`premiere`], [`replay`], [`popular`] — the
//!   scenarios, each in three steps: plan, drive, report; [`shared`] —
//!   what the stream scenarios share.
//! * [`proxy`] — a helper, not a scenario: a TCP proxy adding a fixed delay
//!   each way, to put a network round trip between a server and its
//!   PostgreSQL or Redis.
//!
//! Every load loop is bounded in time and targets loopback addresses only.

pub mod api;
pub mod ceiling;
pub mod client;
pub mod crowd;
pub mod fill;
pub mod frames;
pub mod histogram;
pub mod ingest;
pub mod popular;
pub mod premiere;
pub mod proxy;
pub mod replay;
pub mod report;
pub mod script;
pub mod shared;
pub mod stats;
pub mod target;
pub mod viewer;

use std::process::ExitCode;

use crate::cli::loadgen::{LoadgenArgs, Scenario};

/// Runs the chosen scenario and prints its report. Exits 1 when the
/// scenario saw unexpected errors.
pub async fn run(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    let report = match &args.scenario {
        Scenario::Ingest(a) => ingest::run(&args.target, a).await?,
        Scenario::Stats(a) => stats::run(&args.target, a).await?,
        Scenario::Premiere(a) => premiere::run(&args.target, a).await?,
        Scenario::Replay(a) => replay::run(&args.target, a).await?,
        Scenario::Popular(a) => popular::run(&args.target, a).await?,
        Scenario::FrameServer(a) => {
            frames::serve(a).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Scenario::Proxy(a) => {
            proxy::serve(a).await?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    report.print();
    Ok(ExitCode::SUCCESS)
}
