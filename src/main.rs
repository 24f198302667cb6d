//! The `chorus` binary: parse the command line, start logging, dispatch.

use std::process::ExitCode;

use chorus::app::{Application, shutdown_signal};
use chorus::cli::{Cli, Command};
use chorus::commands;
use clap::Parser;

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
    println!("chorus listening on http://{}", app.local_addr());
    if args.dev {
        println!("dev mode: admin token {}", app.admin_token());
    }
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
