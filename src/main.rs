//! The `chorus` binary: parse the command line, start logging, dispatch.

use std::io::Write;
use std::process::ExitCode;

use chorus::app::{Application, shutdown_signal};
use chorus::cli::{Cli, Command};
use chorus::commands;
use clap::Parser;

/// mimalloc rather than the system allocator: a request allocates and
/// frees many small buffers across threads, where glibc's malloc spent
/// about a tenth of the server's CPU under load (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    chorus::telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Check(db) => commands::check::check(&db.database).await.map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }),
        Command::Rebuild(db) => commands::check::rebuild(&db.database)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Loadgen(args) => chorus::loadgen::run(*args).await,
        Command::Demo(mut args) => {
            if args.no_crowd {
                args.crowd = 0;
            }
            commands::demo::run(args).await.map(|_| ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("chorus: {e:#}");
        ExitCode::from(2)
    })
}

async fn serve(args: chorus::cli::ServeArgs) -> anyhow::Result<ExitCode> {
    let app = Application::build(&args).await?;
    // One write whose failure is ignored: a reader that closes stdout after
    // the first line (`| head -1`, a test harness) must not kill the server,
    // as `println!` would on the second line.
    let mut banner = format!("chorus listening on http://{}\n", app.local_addr());
    if args.dev {
        banner += &format!("dev mode: admin token {}\n", app.admin_token());
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
