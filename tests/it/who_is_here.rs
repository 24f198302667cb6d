//! Who is here (docs/api.md, "Who is here"): at each 2-second step the
//! answer holds only people with a picture who had joined and not yet left
//! at that time — checked against a brute-force model of the sessions
//! posted — never the caller, at most `limit`, the same for two callers;
//! bad requests are refused; and `chorus check`/`rebuild` and migration 4
//! keep the presence rows equal to what the events give.

use std::collections::{BTreeSet, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::check_rebuild::{chorus, line_of};
use crate::pictures::token_with;
use crate::raw_db::Db;
use crate::support::*;

const DURATION: i64 = 30;

/// A user of the plan: their picture and their sessions' `(join, leave)`.
struct Person {
    sub: String,
    picture: Option<String>,
    sessions: Vec<(f64, Option<f64>)>,
}

/// A prompt time on a quarter-second grid, sometimes exactly on a step.
fn time(rng: &mut StdRng, from: f64) -> f64 {
    if rng.random_bool(0.3) {
        let step = (from / 2.0).ceil() as i64;
        return (rng.random_range(step..=DURATION / 2) * 2) as f64;
    }
    let quarters = rng.random_range((from * 4.0) as i64..=DURATION * 4);
    quarters as f64 / 4.0
}

/// Sixteen people with pictures and three without, some with two sessions,
/// some leaving and some not.
fn plan(seed: u64) -> Vec<Person> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..19)
        .map(|i| {
            let sessions = (0..if i % 5 == 0 { 2 } else { 1 })
                .map(|_| {
                    let join = time(&mut rng, 0.0);
                    let leave = rng.random_bool(0.6).then(|| time(&mut rng, join));
                    (join, leave)
                })
                .collect();
            Person {
                sub: format!("p{i}"),
                picture: (i < 16).then(|| format!("https://cdn.example.com/{i}.png")),
                sessions,
            }
        })
        .collect()
}

/// The brute-force model: the subs of the people with a picture in the
/// room at prompt time `t` (joined at or before it, not yet left).
fn in_room(people: &[Person], t: f64) -> BTreeSet<String> {
    people
        .iter()
        .filter(|p| p.picture.is_some())
        .filter(|p| {
            p.sessions
                .iter()
                .any(|&(j, l)| j <= t && l.is_none_or(|l| t < l))
        })
        .map(|p| p.sub.clone())
        .collect()
}

/// Starts and posts every session of the plan on `prompt`; returns the
/// first person's first session.
async fn post_plan(app: &TestApp, prompt: &str, people: &[Person]) -> Session {
    let mut first = None;
    for p in people {
        let mut claims = json!({"given_name": format!("Name {}", p.sub)});
        if let Some(url) = &p.picture {
            claims["picture"] = json!(url);
        }
        for &(join, leave) in &p.sessions {
            let s = app
                .start_session_with_token(prompt, &p.sub, token_with(&p.sub, claims.clone()))
                .await;
            let mut events = vec![("join", join)];
            events.extend(leave.map(|l| ("leave", l)));
            for (route, t) in events {
                let (status, body) = app.post_event(&s, route, t, json!({})).await;
                assert_eq!(status, StatusCode::CREATED, "{route} at {t}: {body}");
            }
            first.get_or_insert(s);
        }
    }
    first.expect("a session")
}

/// `profile_pictures` as `s`'s user with `s`'s prompt token.
async fn ask(app: &TestApp, s: &Session, prompt_time: f64, limit: i64) -> (StatusCode, Value) {
    ask_with(
        app,
        s,
        json!({"uid": s.prompt_uid, "jwt": s.jwt, "prompt_time": prompt_time, "limit": limit}),
    )
    .await
}

async fn ask_with(app: &TestApp, s: &Session, body: Value) -> (StatusCode, Value) {
    app.send(
        app.http
            .post(app.url("/api/1/interactive_prompts/profile_pictures"))
            .bearer_auth(&s.user_token)
            .json(&body),
    )
    .await
}

/// The subs an answer names (each picture URL is one person's).
fn subs(answer: &Value, people: &[Person]) -> Vec<String> {
    let by_url: HashMap<&str, &Person> = people
        .iter()
        .filter_map(|p| Some((p.picture.as_deref()?, p)))
        .collect();
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let url = item["picture"]["url"].as_str().unwrap();
            let person = by_url
                .get(url)
                .unwrap_or_else(|| panic!("unknown picture {url}"));
            assert_eq!(item["picture"]["name"], format!("Name {}", person.sub));
            person.sub.clone()
        })
        .collect()
}

/// A caller who never joined (not in the room), with a picture.
async fn viewer(app: &TestApp, prompt: &str, sub: &str) -> Session {
    let claims = json!({"picture": format!("https://cdn.example.com/{sub}.png")});
    app.start_session_with_token(prompt, sub, token_with(sub, claims))
        .await
}

#[tokio::test]
async fn each_step_holds_only_who_was_in_the_room_never_the_caller_the_same_for_two() {
    let seed = rand::random::<u64>();
    println!("seed {seed}");
    let people = plan(seed);
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), DURATION).await;
    let member = post_plan(&app, &prompt, &people).await;
    let (one, two) = (
        viewer(&app, &prompt, "v1").await,
        viewer(&app, &prompt, "v2").await,
    );
    let mut rng = StdRng::seed_from_u64(seed ^ 1);
    let mut seen = BTreeSet::new();
    for step in 0..=DURATION / 2 {
        let at = (step * 2) as f64;
        let t = (at + rng.random_range(0..8) as f64 / 4.0).min(DURATION as f64);
        let limit = rng.random_range(1..=10);
        let room = in_room(&people, at);
        let (status, first) = ask(&app, &one, t, limit).await;
        assert_eq!(status, StatusCode::OK, "seed {seed}: {first}");
        let (_, second) = ask(&app, &two, t, limit).await;
        assert_eq!(first, second, "seed {seed}: two callers, step {step}");
        let named = subs(&first, &people);
        let distinct: BTreeSet<String> = named.iter().cloned().collect();
        assert_eq!(
            distinct.len(),
            named.len(),
            "seed {seed}: repeats {named:?}"
        );
        assert!(
            distinct.is_subset(&room),
            "seed {seed}, t {t}: {named:?} not all in {room:?}"
        );
        assert_eq!(
            named.len(),
            room.len().min(limit as usize),
            "seed {seed}, t {t}"
        );
        seen.extend(distinct);

        let (_, own) = ask(&app, &member, t, limit).await;
        let named = subs(&own, &people);
        let mut others = room.clone();
        others.remove(&member.sub);
        assert!(
            !named.contains(&member.sub),
            "seed {seed}: the caller is in {named:?}"
        );
        assert!(
            named.iter().all(|s| others.contains(s)),
            "seed {seed}: {named:?}"
        );
        assert_eq!(
            named.len(),
            others.len().min(limit as usize),
            "seed {seed}, t {t}"
        );
    }
    assert!(!seen.is_empty(), "seed {seed}: nobody was ever in the room");
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(numeric_prompt(), 20).await;
    let other = app.create_prompt(numeric_prompt(), 20).await;
    let s = viewer(&app, &prompt, "v").await;
    let elsewhere = viewer(&app, &other, "w").await;
    let (status, answer) = ask(&app, &s, 20.0, 3).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"items": []}));
    let resp = app
        .http
        .post(app.url("/api/1/interactive_prompts/profile_pictures"))
        .bearer_auth(&s.user_token)
        .json(&json!({"uid": s.prompt_uid, "jwt": s.jwt, "prompt_time": 0, "limit": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "private, max-age=120");

    let (status, body) = ask(&app, &s, 20.5, 3).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["type"], "interactive_prompt_not_found");
    let base = json!({"uid": s.prompt_uid, "jwt": s.jwt, "prompt_time": 1.0, "limit": 3});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for bad in [
        with("limit", json!(0)),
        with("limit", json!(11)),
        with("limit", json!(2.5)),
        with("limit", json!("3")),
        with("prompt_time", json!(-1)),
        with("prompt_time", json!("1")),
        with("extra", json!(1)),
        json!({"uid": s.prompt_uid, "jwt": s.jwt, "prompt_time": 1.0}),
    ] {
        let (status, body) = ask_with(&app, &s, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["type"], "unprocessable_entity");
    }
    for forbidden in [
        with("jwt", json!("nope")),
        with("jwt", json!(elsewhere.jwt)),
    ] {
        let (status, body) = ask_with(&app, &s, forbidden).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, _) = app
        .send(
            app.http
                .post(app.url("/api/1/interactive_prompts/profile_pictures"))
                .json(&base),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .send(
            app.http
                .post(app.url("/api/1/interactive_prompts/profile_pictures"))
                .bearer_auth("not-a-token")
                .json(&base),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn check_rebuild_and_migration_4_keep_the_presence_rows_true() {
    let (database, dir) = fresh_database().await;
    let app = spawn_on(&database, &[], None);
    let people = plan(7);
    let prompt = app.create_prompt(numeric_prompt(), DURATION).await;
    post_plan(&app, &prompt, &people).await;
    drop(app);
    let (code, out) = chorus("check", &database);
    assert_eq!(code, 0, "{out}");

    // Rows lost and a stray one: check says so, rebuild repairs.
    let db = Db::open(&database).await;
    let pid = format!("(SELECT id FROM interactive_prompts WHERE uid = '{prompt}')");
    db.batch(&format!(
        "DELETE FROM interactive_prompt_presence WHERE interactive_prompt_session_id =
            (SELECT MIN(interactive_prompt_session_id) FROM interactive_prompt_presence);
         INSERT INTO interactive_prompt_presence(interactive_prompt_session_id, node, interactive_prompt_id, rank)
            SELECT MAX(interactive_prompt_session_id), 3, {pid}, 1 FROM interactive_prompt_presence;"
    ))
    .await;
    let (code, out) = chorus("check", &database);
    assert_ne!(code, 0, "{out}");
    assert!(line_of(&out, &prompt).contains("MISMATCH"), "{out}");
    assert!(
        out.contains("presence rows (who is here): 2 missing, 1 not expected"),
        "{out}"
    );
    let (code, out) = chorus("rebuild", &database);
    assert_eq!(code, 0, "{out}");
    let (code, out) = chorus("check", &database);
    assert_eq!(code, 0, "{out}");

    // A database from before migration 4: the migration fills the rows
    // from the stored events, as the server would have written them.
    db.batch(
        "DROP TABLE interactive_prompt_presence;
         ALTER TABLE users DROP COLUMN picture;
         DELETE FROM chorus_migrations WHERE version = 4;",
    )
    .await;
    drop(db);
    let (code, out) = chorus("check", &database);
    assert_eq!(code, 0, "{out}");
    let db = Db::open(&database).await;
    let rows = db
        .integer("SELECT COUNT(*) FROM interactive_prompt_presence")
        .await;
    assert!(rows > 0, "the migration filled no presence rows");
    drop(db);

    // And the server answers from them (pictures come back with tokens).
    let app = spawn_on(&database, &[], dir);
    let one = viewer(&app, &prompt, "v1").await;
    let people_again: Vec<Person> = plan(7);
    for p in &people_again {
        if let Some(url) = &p.picture {
            let claims = json!({"given_name": format!("Name {}", p.sub), "picture": url});
            app.start_session_with_token(&prompt, &p.sub, token_with(&p.sub, claims))
                .await;
        }
    }
    for step in 0..=DURATION / 2 {
        let at = (step * 2) as f64;
        let (status, answer) = ask(&app, &one, at, 10).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let named: BTreeSet<String> = subs(&answer, &people).into_iter().collect();
        let room = in_room(&people, at);
        assert!(named.is_subset(&room), "t {at}: {named:?} not in {room:?}");
        assert_eq!(named.len(), room.len().min(10), "t {at}");
    }
}
