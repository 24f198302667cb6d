//! `chorus demo` (docs/web-client.md): a dev-mode server with four demo prompts (one
//! of each style), hundreds of recorded sessions on each, and a simulated
//! crowd taking them live — one command to feel what Chorus does.
//!
//! Everything goes through the library, as the server itself would: the
//! prompts are written with [`crate::storage::Store`], and the history's
//! and the crowd's events are posted through [`crate::ingest::Ingest`]
//! (fast: no HTTP, group-committed), so viewers receive the crowd's events
//! near-live exactly as they would events posted over HTTP.

mod crowd;
mod plan;
mod script;

pub use crowd::{CROWD_SUB, HISTORY_SUB};

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;

use crate::app::{Application, shutdown_signal};
use crate::cli::DemoArgs;
use crate::domain::prompt::PromptRecord;
use crate::storage::Store;
use script::DemoPrompt;

/// A demo prompt as stored, and whether it was created by this run (and
/// so still needs its history).
struct Seeded {
    record: PromptRecord,
    demo: DemoPrompt,
    created: bool,
}

/// Finds each demo prompt in the database, or creates it. Re-running the
/// demo on the same database file reuses the prompts and their history.
async fn seed_prompts(store: &Store) -> anyhow::Result<Vec<Seeded>> {
    let existing = store.list_prompts().await.context("listing prompts")?;
    let mut out = Vec::new();
    for demo in script::prompts() {
        let found = existing
            .iter()
            .find(|p| p.prompt == demo.prompt && p.duration_seconds == demo.duration_seconds);
        let (record, created) = match found {
            Some(p) => (p.clone(), false),
            None => {
                let p = store
                    .create_prompt(demo.prompt.clone(), demo.duration_seconds)
                    .await
                    .context("creating a demo prompt")?;
                (p, true)
            }
        };
        out.push(Seeded {
            record,
            demo,
            created,
        });
    }
    Ok(out)
}

/// The address to open in a browser: a wildcard listen address is
/// reachable as localhost.
fn browser_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}/", addr.port())
    } else {
        format!("http://{addr}/")
    }
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let app = Application::build(args.config()).await?;
    let ingest = app.ingest().clone();
    let prompts = seed_prompts(ingest.store()).await?;
    let started = std::time::Instant::now();
    let mut events = 0;
    for (i, p) in prompts.iter().enumerate().filter(|(_, p)| p.created) {
        let seed = args.seed.wrapping_add(i as u64);
        events += crowd::fill_history(&ingest, &p.record, &p.demo, args.history, seed).await;
    }
    tracing::info!(events, elapsed = ?started.elapsed(), "demo: history recorded");
    if args.crowd > 0 {
        for (i, p) in prompts.iter().enumerate() {
            let seed = args.seed.wrapping_add(1000 + i as u64);
            let crowd = crowd::run_crowd(
                ingest.clone(),
                p.record.clone(),
                p.demo.clone(),
                args.crowd,
                seed,
            );
            tokio::spawn(crowd);
        }
    }
    let crowd = match args.crowd {
        0 => "no live crowd".to_owned(),
        n => format!("about {n} simulated people taking each prompt live"),
    };
    // Scripts read the address from the first line. One write whose failure
    // is ignored, as in `serve`: a reader that closes stdout early (`| head
    // -1`) must not stop the demo.
    let banner = format!(
        "chorus listening on http://{addr}\ndev mode: admin token {token}\n\
         demo: {n} prompts with {history} recorded sessions each, {crowd}\n\
         open {url} in a browser\n",
        addr = app.local_addr(),
        token = app.admin_token(),
        n = prompts.len(),
        history = args.history,
        url = browser_url(app.local_addr()),
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    app.run_until_stopped(shutdown_signal()).await
}
