//! A seeded random walk through the event API checked against an
//! independent model of docs/rules.md: the event rules (which rule refuses
//! each request) and the aggregates (recomputed by brute force at every bin
//! and compared with the stats and timeline endpoints).

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

mod erasure;
mod oracle;
mod timeline_cache;
use oracle::*;

const USERS: usize = 4;
const STEPS: usize = 4000;
const UNKNOWN_PROMPT: &str = "ip_AAAAAAAAAAAAAAAAAAAAAA";
const NO_SESSION: &str = "ips_AAAAAAAAAAAAAAAAAAAAAA";

fn sub(user: usize) -> String {
    format!("m{user}")
}

impl Model {
    /// A random request near what a client would send, often breaking rules.
    fn random_request(&self, rng: &mut StdRng) -> Req {
        // Mostly sessions still open: requests on ended ones all look alike.
        let mut si = rng.random_range(0..self.sessions.len());
        for _ in 0..3 {
            if self.sessions[si].ended() {
                si = rng.random_range(0..self.sessions.len());
            }
        }
        let s = &self.sessions[si];
        let p = &self.prompts[s.prompt];
        let d = p.duration as f64;
        let last = s.events.last().map_or(0.0, |e| e.t);
        let t = match rng.random_range(0..100) {
            0..35 => last,
            35..70 => (last + rng.random_range(1..=4) as f64 * d / 128.0).min(d),
            70..85 => rng.random_range(0.0..=d),
            85..89 => 0.0,
            89 => d,
            90..95 => rng.random_range(0..=bins(p.duration)) as f64 * d / bins(p.duration) as f64,
            _ => [-0.5, -0.001, d + 0.001, d + 3.0][rng.random_range(0..4)],
        };
        // Short decimals parse to the same double on both sides.
        let t = (t * 1000.0).round() / 1000.0;
        let pressing = s.pressing();
        let route = match (rng.random_range(0..100), p.style) {
            _ if s.events.is_empty() && rng.random_bool(0.5) => 0,
            (0..10, _) => 0,
            (10..12, _) => 1,
            (12..30, _) => 2,
            (30..80, Style::Numeric { .. }) => 3,
            (30..80, Style::Press) => 4 + usize::from(pressing != rng.random_bool(0.2)),
            (30..80, Style::Color(_)) => 6,
            (30..80, Style::Word(_)) => 7,
            _ => rng.random_range(0..8),
        };
        let in_range = rng.random_bool(0.85);
        let value = match (route, p.style) {
            (3, Style::Numeric { min, max }) if in_range => Some(rng.random_range(min..=max)),
            (3, Style::Numeric { min, max }) => {
                Some([min - 1, min - 3, max + 1, max + 2][rng.random_range(0..4)])
            }
            (3, _) => Some(rng.random_range(-2..12)),
            (6, Style::Color(n)) | (7, Style::Word(n)) if in_range => Some(rng.random_range(0..n)),
            (6 | 7, Style::Color(n) | Style::Word(n)) => {
                Some([-1, n, n + 1][rng.random_range(0..3)])
            }
            (6 | 7, _) => Some(rng.random_range(-1..9)),
            _ => None,
        };
        let prompt = match rng.random_range(0..100) {
            0..3 => None,
            3..7 => Some(rng.random_range(0..self.prompts.len())),
            _ => Some(s.prompt),
        };
        let actor = [s.owner, rng.random_range(0..USERS)][usize::from(rng.random_bool(0.1))];
        let session = (!rng.random_bool(0.03)).then_some(si);
        Req {
            prompt,
            session,
            actor,
            route,
            t,
            value,
        }
    }
}

fn random_prompt(rng: &mut StdRng, style: usize) -> (Value, Style) {
    let n = rng.random_range(2..=8i64);
    match style {
        0 => {
            let min = rng.random_range(-3..=3);
            let max = min + rng.random_range(0..=10);
            (
                json!({"style": "numeric", "text": "How?", "min": min, "max": max, "step": 1}),
                Style::Numeric { min, max },
            )
        }
        1 => (json!({"style": "press", "text": "Hold"}), Style::Press),
        2 => {
            let colors: Vec<String> = (0..n).map(|i| format!("#{:06X}", i * 0x1F2F3F)).collect();
            (
                json!({"style": "color", "text": "Colour?", "colors": colors}),
                Style::Color(n),
            )
        }
        _ => {
            let options: Vec<String> = (0..n).map(|i| format!("word {i}")).collect();
            (
                json!({"style": "word", "text": "Word?", "options": options}),
                Style::Word(n),
            )
        }
    }
}

async fn start(app: &TestApp, model: &mut Model, pi: usize, owner: usize) {
    let s = app.start_session(&model.prompts[pi].uid, &sub(owner)).await;
    model.prompts[pi].jwt = s.jwt;
    let (prompt, uid, events) = (pi, s.session_uid, vec![]);
    model.sessions.push(MSession {
        prompt,
        owner,
        uid,
        events,
    });
}

/// A session-less view of a prompt, for its reads.
fn reader(p: &MPrompt) -> Session {
    let (prompt_uid, jwt, none) = (p.uid.clone(), p.jwt.clone(), String::new());
    Session {
        prompt_uid,
        jwt,
        session_uid: none.clone(),
        user_token: none.clone(),
        sub: none,
    }
}

fn close(v: Option<Value>, x: f64) -> bool {
    v.and_then(|v| v.as_f64())
        .is_some_and(|v| (v - x).abs() < 1e-9)
}

#[tokio::test]
async fn random_requests_match_an_independent_model_of_the_rules_and_aggregates() {
    let seed: u64 = std::env::var("CHORUS_MODEL_SEED").map_or(20_240_611, |s| s.parse().unwrap());
    eprintln!("model seed {seed} (set CHORUS_MODEL_SEED to vary)");
    let mut rng = StdRng::seed_from_u64(seed);
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let mut model = populated(&app, &mut rng, &[1, 2, 3, 5, 7, 8, 9, 13, 16, 20]).await;
    walk(&app, &mut model, &mut rng).await;
    for pi in 0..model.prompts.len() {
        verify(&app, &model, pi).await;
    }
    let (code, out) = app.run_command("check");
    assert_eq!(code, 0, "{out}");
}

/// Eight random prompts (two of each style), each `duration` one of
/// `durations`, with five sessions of random users each.
pub(crate) async fn populated(app: &TestApp, rng: &mut StdRng, durations: &[i64]) -> Model {
    let mut model = Model {
        prompts: vec![],
        sessions: vec![],
    };
    for i in 0..8 {
        let (body, style) = random_prompt(rng, i % 4);
        let duration = durations[rng.random_range(0..durations.len())];
        let uid = app.create_prompt(body, duration).await;
        model.prompts.push(MPrompt {
            uid,
            jwt: String::new(),
            style,
            duration,
            deleted: false,
        });
        for _ in 0..5 {
            start(app, &mut model, i, rng.random_range(0..USERS)).await;
        }
    }
    model
}

/// Posts random requests, asserting each answer is the model's; deletes
/// prompt 1 three quarters of the way.
async fn walk(app: &TestApp, model: &mut Model, rng: &mut StdRng) {
    walk_for(app, model, rng, STEPS, Some(STEPS * 3 / 4)).await
}

/// Posts `steps` random requests, asserting each answer is the model's;
/// deletes prompt 1 at step `delete_at`.
async fn walk_for(
    app: &TestApp,
    model: &mut Model,
    rng: &mut StdRng,
    steps: usize,
    delete_at: Option<usize>,
) {
    let name = |u: usize| format!("Name-{}", sub(u));
    let tokens: Vec<String> = (0..USERS)
        .map(|u| user_token(&sub(u), Some(&name(u))))
        .collect();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"sub": UNKNOWN_PROMPT, "iss": "chorus", "aud": "chorus-interactive-prompt",
        "iat": now, "exp": now + 3600});
    let key = jsonwebtoken::EncodingKey::from_secret(PROMPT_SECRET.as_bytes());
    let unknown_jwt = jsonwebtoken::encode(&Default::default(), &claims, &key).unwrap();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for step in 0..steps {
        if Some(step) == delete_at {
            let url = app.url(&format!(
                "/api/1/interactive_prompts/{}",
                model.prompts[1].uid
            ));
            let (status, _) = app
                .send(app.http.delete(url).bearer_auth(ADMIN_TOKEN))
                .await;
            assert_eq!(status, StatusCode::OK);
            model.prompts[1].deleted = true;
        }
        if rng.random_bool(0.02) {
            let pi = rng.random_range(0..model.prompts.len());
            if !model.prompts[pi].deleted {
                start(app, model, pi, rng.random_range(0..USERS)).await;
            }
            continue;
        }
        let r = model.random_request(rng);
        let prompt = r.prompt.map(|p| &model.prompts[p]);
        let s = Session {
            prompt_uid: prompt.map_or(UNKNOWN_PROMPT.into(), |p| p.uid.clone()),
            jwt: prompt.map_or(unknown_jwt.clone(), |p| p.jwt.clone()),
            session_uid: r
                .session
                .map_or(NO_SESSION.into(), |s| model.sessions[s].uid.clone()),
            user_token: tokens[r.actor].clone(),
            sub: sub(r.actor),
        };
        let (route, evtype) = ROUTES[r.route];
        let data = match (r.route, r.value) {
            (3, Some(v)) => json!({ "rating": v }),
            (_, Some(v)) => json!({ "index": v }),
            _ => json!({}),
        };
        let (status, body) = app.post_event(&s, route, r.t, data.clone()).await;
        let what = format!(
            "step {step}: {route} at {} with {data} by {} on session {:?} of prompt {:?}",
            r.t, s.sub, r.session, r.prompt
        );
        let Ok(()) = model.predict(&r).map_err(|ty| {
            let want = if ty == "not_found" { 404 } else { 409 };
            let got = (status.as_u16(), body["type"].as_str());
            assert_eq!(got, (want, Some(ty)), "{what}: {body}");
            *outcomes.entry(ty).or_default() += 1;
        }) else {
            continue;
        };
        assert_eq!(status, StatusCode::CREATED, "{what}: {body}");
        let data = if r.route <= 1 {
            json!({"name": name(r.actor)})
        } else {
            data
        };
        let want = json!({"uid": body["uid"], "user_sub": s.sub, "session_uid": s.session_uid,
            "type": evtype, "prompt_time": r.t, "icon": null, "data": data});
        assert_eq!(body, want, "{what}");
        let (route, t, value, uid) = (r.route, r.t, r.value, body["uid"].as_str().unwrap().into());
        model.sessions[r.session.unwrap()].events.push(MEvent {
            route,
            t,
            value,
            uid,
        });
        *outcomes.entry("accepted").or_default() += 1;
    }
    eprintln!("outcomes: {outcomes:?}");
    // The walk must have exercised every rule, and accepted a good share.
    if steps == STEPS {
        assert_eq!(outcomes.len(), 11, "{outcomes:?}");
        assert!(outcomes["accepted"] > STEPS / 5, "{outcomes:?}");
    } else {
        assert!(outcomes.contains_key("accepted"), "{outcomes:?}");
    }
}

/// Compares a prompt's stored events, per-second counts, stats at every
/// bin and timeline with the model's brute-force recomputation.
async fn verify(app: &TestApp, model: &Model, pi: usize) {
    let p = &model.prompts[pi];
    let reader = reader(p);
    let (status, found) = app.search(&reader, json!({"limit": 5000})).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let items = found["items"].as_array().unwrap().iter();
    let text = |e: &Value, k: &str| e[k].as_str().unwrap().to_owned();
    let found: Vec<Row> = items
        .map(|e| {
            (
                text(e, "uid"),
                text(e, "session_uid"),
                text(e, "evtype"),
                e["prompt_time"].as_f64().unwrap(),
            )
        })
        .collect();
    let want = model.rows(pi);
    assert_eq!(found, want, "events of prompt {pi}");
    let per_second = |rows: &[Row]| {
        let mut m: BTreeMap<i64, usize> = BTreeMap::new();
        rows.iter()
            .for_each(|e| *m.entry(e.3.floor() as i64).or_default() += 1);
        m
    };
    assert_eq!(per_second(&found), per_second(&want));

    let totals = model.expected_totals(pi);
    let n = bins(p.duration);
    let width = p.duration as f64 / n as f64;
    let (status, timeline) = app.timeline(&reader).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    assert_eq!(timeline["bins"], json!(n));
    assert!(
        close(Some(timeline["bin_width"].clone()), width),
        "{timeline}"
    );
    for b in 0..n {
        let want = model.expected_stats(pi, &totals, b);
        let (status, mut got) = app.stats(&reader, b as i64).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        let fields = got.as_object_mut().unwrap();
        assert!(
            close(fields.remove("prompt_time"), b as f64 * width),
            "bin {b}"
        );
        assert!(close(fields.remove("bin_width"), width), "bin {b}");
        let ctx = format!("prompt {pi} ({:?}, {} s) at bin {b}", p.style, p.duration);
        assert_eq!(got, want, "stats of {ctx}");
        for (key, value) in want.as_object().unwrap() {
            let series = &timeline[key];
            let at = if value.is_null() { series } else { &series[b] };
            assert_eq!(at, value, "timeline {key} of {ctx}");
        }
    }
    // `bin = bins` (Oseh's client's count, one too many) is the last bin at
    // the end of the prompt; above it is 404.
    let (status, mut got) = app.stats(&reader, n as i64).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let fields = got.as_object_mut().unwrap();
    assert!(
        close(fields.remove("prompt_time"), p.duration as f64),
        "bin = bins"
    );
    fields.remove("bin_width");
    let want = model.expected_stats(pi, &totals, n - 1);
    assert_eq!(got, want, "stats of prompt {pi} at bin = bins");
    let (status, body) = app.stats(&reader, n as i64 + 1).await;
    let got = (status.as_u16(), body["type"].as_str());
    assert_eq!(got, (404, Some("bin_not_found")));
}
