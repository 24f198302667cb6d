//! A timeline of the longest prompt (86,400 s, 131,071 bins) is answered
//! from memory: once a prompt's figures are held, more requests read
//! nothing from the database (docs/operations.md, `chorus_aggregate_reads_total`).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

const READS: &str = "chorus_aggregate_reads_total";

#[tokio::test]
async fn timelines_of_a_day_long_prompt_do_not_read_the_database_each_time() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 86_400).await;
    let s = app.start_session(&prompt, "long").await;
    assert_eq!(app.post_event(&s, "join", 0.0, json!({})).await.0, 201);
    let rating = json!({"rating": 7});
    let (status, body) = app
        .post_event(&s, "respond_numeric_prompt", 50_000.0, rating)
        .await;
    assert_eq!(status, 201, "{body}");
    // Until the figures are held (loaded in the background after the
    // first request), a request may read them.
    // (PostgreSQL holds them for the staleness bound only: see below.)
    let mut warm = engine() == Engine::Postgres;
    for _ in 0..50 {
        if warm {
            break;
        }
        let before = metric(&app.metrics().await, READS);
        let (status, timeline) = app.timeline(&s).await;
        assert_eq!(status, 200);
        assert_eq!(timeline["bins"], 131_071);
        if metric(&app.metrics().await, READS) == before {
            warm = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(warm, "every timeline request read the database");
    let before = metric(&app.metrics().await, READS);
    let started = Instant::now();
    for _ in 0..3 {
        let (status, timeline) = app.timeline(&s).await;
        assert_eq!(status, 200);
        let last = timeline["numeric_active"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["7"], 1, "the answer is counted: {last}");
    }
    let reads = metric(&app.metrics().await, READS) - before;
    let elapsed = started.elapsed();
    println!("3 timelines of 131,071 bins in {elapsed:?}: {reads} database reads");
    match engine() {
        Engine::Sqlite => assert_eq!(reads, 0.0),
        // PostgreSQL reads each prompt's figures again at most every half
        // second (docs/scaling.md), however many requests ask.
        Engine::Postgres => assert!(reads <= 2.0 + 2.0 * elapsed.as_secs_f64()),
    }
}
