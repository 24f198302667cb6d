//! The `chorus` binary: parse the command line, start logging, dispatch.

use std::io::Write;
use std::process::ExitCode;

use chorus::app::{Application, shutdown_signal};
use chorus::cli::{Cli, Command, DatabaseArgs, ServeArgs};
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
        Command::Check(db) => check(db).await,
        Command::Rebuild(db) => rebuild(db).await,
        Command::Explain(args) => {
            let config = args.database.config();
            match config {
                Ok(config) => commands::explain::explain(&config, args.prompt.as_deref())
                    .await
                    .map(|()| ExitCode::SUCCESS),
                Err(e) => Err(e.into()),
            }
        }
        Command::Backup(args) => match args.database.config() {
            Ok(config) => commands::backup::backup(&config, &args.to, args.force)
                .await
                .map(|()| ExitCode::SUCCESS),
            Err(e) => Err(e.into()),
        },
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

async fn check(db: DatabaseArgs) -> anyhow::Result<ExitCode> {
    let consistent = commands::check::check(&db.config()?).await?;
    Ok(if consistent {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn rebuild(db: DatabaseArgs) -> anyhow::Result<ExitCode> {
    commands::check::rebuild(&db.config()?).await?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let dev = config.dev;
    let app = Application::build(config).await?;
    // One write whose failure is ignored: a reader that closes stdout after
    // the first line (`| head -1`, a test harness) must not kill the server,
    // as `println!` would on the second line.
    let mut banner = format!("chorus listening on http://{}\n", app.local_addr());
    if dev {
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
