//! `chorus check` and `chorus rebuild` (docs/rules.md, "The invariant";
//! docs/operations.md, "Checking and repairing aggregates").

use crate::config::{Config, redact};
use crate::storage::{PromptCheck, Store};

fn report(checks: &[PromptCheck], verb: &str) -> usize {
    let mut bad = 0;
    for c in checks {
        if c.differences.is_empty() {
            println!("ok        {} ({} events)", c.prompt_uid, c.events);
        } else {
            bad += 1;
            println!(
                "{verb:<9} {} ({} events, {} differences)",
                c.prompt_uid,
                c.events,
                c.differences.len()
            );
            for d in c.differences.iter().take(20) {
                println!("          {d}");
            }
        }
    }
    println!("{} prompts, {} inconsistent", checks.len(), bad);
    bad
}

/// Verifies every prompt; returns whether all are consistent.
pub async fn check(config: &Config) -> anyhow::Result<bool> {
    let store = Store::open(&config.database, &config.storage)
        .await
        .map_err(|e| redact::error("opening", &config.database, e))?;
    let checks = store.check().await?;
    Ok(report(&checks, "MISMATCH") == 0)
}

/// Recomputes every prompt's aggregates, reporting what was wrong before.
pub async fn rebuild(config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database, &config.storage)
        .await
        .map_err(|e| redact::error("opening", &config.database, e))?;
    let checks = store.rebuild().await?;
    report(&checks, "rebuilt");
    Ok(())
}
