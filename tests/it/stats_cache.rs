//! Stats and timelines on PostgreSQL come from each process's cache
//! (docs/scaling.md, "Stats and timelines on PostgreSQL"): a process sees
//! its own events at once and other processes' events, rebuilds and any
//! other change to the stored figures (a rebuild, an erased user) within
//! the staleness bound.

use std::time::Duration;

use serde_json::{Value, json};

use crate::erasure::erase;
use crate::support::*;

/// The staleness bound of docs/scaling.md, and a margin for the request.
const BOUND: Duration = Duration::from_millis(1000 + 200);

async fn likes(app: &TestApp, s: &Session) -> (i64, Value) {
    let (status, stats) = app.stats(s, 6).await;
    assert_eq!(status, 200, "{stats}");
    let (status, timeline) = app.timeline(s).await;
    assert_eq!(status, 200, "{timeline}");
    (stats["likes"].as_i64().unwrap(), timeline["likes"].clone())
}

#[tokio::test]
async fn stats_of_one_process_reflect_the_other_s_events_and_a_rebuild_within_the_bound() {
    let database = fresh_postgres_database().await;
    let flags = ["--session-event-rate", "0"];
    let a = spawn_on(&database, &flags, None);
    let b = spawn_on(&database, &flags, None);
    let prompt = a.create_prompt(press_prompt(), 8).await;
    let s = a.start_session(&prompt, "liker").await;
    assert_eq!(a.post_event(&s, "join", 0.5, json!({})).await.0, 201);
    // Both processes hold the prompt's figures now.
    assert_eq!(likes(&a, &s).await.0, 0);
    assert_eq!(likes(&b, &s).await.0, 0);
    for i in 0..5 {
        let (status, body) = a.post_event(&s, "like", 1.0 + i as f64, json!({})).await;
        assert_eq!(status, 201, "{body}");
        // The accepting process's figures include its events at once.
        assert_eq!(likes(&a, &s).await.0, i + 1);
    }
    // The other process's, within the bound.
    tokio::time::sleep(BOUND).await;
    let (on_b, timeline_b) = likes(&b, &s).await;
    assert_eq!(on_b, 5);
    assert_eq!(timeline_b, likes(&a, &s).await.1);
    // Its own events on top of what it read are counted at once, too.
    assert_eq!(b.post_event(&s, "like", 6.5, json!({})).await.0, 201);
    assert_eq!(likes(&b, &s).await.0, 6);

    // A change to the stored figures made outside the processes (here by
    // hand, then undone by `chorus rebuild`) is served by neither past
    // the bound.
    let (client, conn) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let changed = client
        .execute(
            "UPDATE interactive_prompt_event_fenwick_trees f SET val = val + 100
             FROM interactive_prompts p WHERE p.id = f.interactive_prompt_id AND p.uid = $1
             AND f.category = 'likes' AND f.idx = 3",
            &[&prompt],
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
    tokio::time::sleep(BOUND).await;
    assert_eq!(likes(&a, &s).await.0, 106);
    assert_eq!(likes(&b, &s).await.0, 106);
    let (code, out) = a.run_command("rebuild");
    assert_eq!(code, 0, "{out}");
    tokio::time::sleep(BOUND).await;
    assert_eq!(likes(&a, &s).await.0, 6);
    assert_eq!(likes(&b, &s).await.0, 6);

    // A user erased through one process is gone from both within the bound.
    let other = b.start_session(&prompt, "stays").await;
    assert_eq!(b.post_event(&other, "join", 0.5, json!({})).await.0, 201);
    for t in [2.5, 4.5] {
        assert_eq!(b.post_event(&other, "like", t, json!({})).await.0, 201);
    }
    tokio::time::sleep(BOUND).await;
    assert_eq!(likes(&a, &other).await.0, 8);
    let (status, body) = erase(&a, "liker").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"], 7, "a join and six likes");
    tokio::time::sleep(BOUND).await;
    for app in [&a, &b] {
        let (n, timeline) = likes(app, &other).await;
        assert_eq!(n, 2);
        let so_far = timeline.as_array().unwrap().last().unwrap().as_i64();
        assert_eq!(so_far, Some(2), "likes so far at the end: {timeline}");
    }
}
