//! `chorus explain`: the plans the database chooses for the range reads of
//! one prompt's events (docs/operations.md, "Query plans").

use anyhow::Context;

use crate::config::Config;
use crate::storage::Store;

/// Prints each range read of the prompt `prompt_uid` (else of the oldest
/// live prompt): its name, its SQL and the engine's plan for it.
pub async fn explain(config: &Config, prompt_uid: Option<&str>) -> anyhow::Result<()> {
    let store = Store::open(&config.database, &config.storage).await?;
    let prompt = match prompt_uid {
        Some(uid) => store
            .prompt(uid)
            .await?
            .with_context(|| format!("no prompt {uid}"))?,
        None => store
            .list_prompts()
            .await?
            .into_iter()
            .next()
            .context("no live prompt to explain; name one with --prompt")?,
    };
    println!("prompt {}", prompt.uid);
    for q in store.explain(&prompt).await? {
        println!("\n== {}\n{}\n-- plan:", q.name, q.sql);
        for line in q.plan {
            println!("{line}");
        }
    }
    Ok(())
}
