//! Every range read of a prompt's events goes through the per-prompt index
//! `(interactive_prompt_id, prompt_time, uid)` on both engines
//! (docs/operations.md, "Query plans"), as `chorus explain` shows, on a
//! database where reading session by session or scanning could tempt the
//! planner: the prompt is one of many, each with many sessions.

use serde_json::json;

use crate::raw_db::Db;
use crate::support::*;

const PER_PROMPT_INDEX: &str = "interactive_prompt_events_ip_id_prompt_time_uid_idx";

/// Adds 50 prompts like the first, 40 users with a session on every prompt
/// (the first included) and 20 likes in each session: 40,800 events.
async fn bulk(db: &Db) {
    let upto = |n: u32| {
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})")
    };
    db.batch(&format!(
        "{} INSERT INTO interactive_prompts(uid, prompt, duration_seconds, created_at)
         SELECT 'ip_bulk' || i, (SELECT prompt FROM interactive_prompts ORDER BY id LIMIT 1), 60, 0 FROM n;",
        upto(50)
    ))
    .await;
    db.batch(&format!(
        "{} INSERT INTO users(sub, created_at) SELECT 'bulk' || i, 0 FROM n;",
        upto(40)
    ))
    .await;
    db.batch(
        "INSERT INTO interactive_prompt_sessions(interactive_prompt_id, user_id, uid)
         SELECT p.id, u.id, 'ips_bulk_' || p.id || '_' || u.id
         FROM interactive_prompts p CROSS JOIN users u WHERE u.sub LIKE 'bulk%';",
    )
    .await;
    db.batch(&format!(
        "{} INSERT INTO interactive_prompt_events
             (uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
         SELECT 'ipe_bulk_' || s.id || '_' || n.i, s.id, 'like', '{{}}', n.i * 2.5, 0, s.interactive_prompt_id
         FROM interactive_prompt_sessions s CROSS JOIN n WHERE s.uid LIKE 'ips_bulk_%';",
        upto(20)
    ))
    .await;
    if db.is_postgres() {
        db.batch("ANALYZE").await;
    }
}

#[tokio::test]
async fn range_reads_of_a_prompt_use_the_per_prompt_index() {
    let (database, _dir) = fresh_database().await;
    let app = spawn_on(&database, &[], None);
    let prompt = app.create_prompt(press_prompt(), 60).await;
    let s = app.start_session(&prompt, "ada").await;
    assert_eq!(app.post_event(&s, "join", 10.2, json!({})).await.0, 201);
    drop(app);
    let db = Db::open(&database).await;
    bulk(&db).await;
    assert_eq!(
        db.integer("SELECT COUNT(*) FROM interactive_prompt_events")
            .await,
        40_801
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["explain", "--database", &database, "--prompt", &prompt])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run chorus explain");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reads: Vec<&str> = text.split("\n== ").skip(1).collect();
    assert_eq!(reads.len(), 5, "{text}");
    for read in reads {
        let (name, plan) = read.split_once("-- plan:").expect("a plan");
        assert!(plan.contains(PER_PROMPT_INDEX), "{name}:{plan}");
        if db.is_postgres() {
            assert!(
                !plan.contains("Seq Scan on interactive_prompt_events"),
                "{name}:{plan}"
            );
        } else {
            // Never the whole table, and never one seek per session.
            assert!(!plan.contains("SCAN e"), "{name}:{plan}");
            assert!(!plan.contains("ips_id_prompt_time_idx"), "{name}:{plan}");
            if !name.starts_with("check") {
                // Rows come in the listing's order: no sort of the range.
                assert!(!plan.contains("TEMP B-TREE"), "{name}:{plan}");
            }
        }
    }
}
