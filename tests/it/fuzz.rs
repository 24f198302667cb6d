//! Fuzzing (docs/api.md, "Limits and bad input") with proptest: arbitrary
//! JSON, mutated valid bodies and arbitrary bytes at every route of
//! `/openapi.json`, with valid tokens so that body parsing is what is
//! exercised; and (in [`stream`]) at the stream handshake. Whatever comes in: never a 5xx, an error is always
//! `{"type", "message"}`, the connection is never dropped, the server stays
//! up, and nothing is half-stored: the stored counts grow by exactly the
//! creations acknowledged, and `chorus check` passes.
//!
//! One server per test; `CHORUS_FUZZ_CASES` (default 128) cases per route.

mod fixture;
mod json;
mod routes;
mod stream;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;

use fixture::Fixture;
use json::{Json, authorization, bytes_near, deeply_nested, mutate, mutation};

/// Cases per route.
fn cases() -> u32 {
    std::env::var("CHORUS_FUZZ_CASES").map_or(128, |v| v.parse().expect("a number of cases"))
}

/// Runs `cases` generated inputs through `check`, failing with the
/// (shrunk) input that broke it.
fn run<S: Strategy>(
    rt: &tokio::runtime::Runtime,
    what: &str,
    strategy: S,
    check: impl AsyncFn(S::Value) -> Result<(), String>,
) {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 100,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&strategy, |input| {
        rt.block_on(check(input)).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Percent-encodes every byte but unreserved ones.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn arbitrary_json_at_every_route_is_refused_cleanly() {
    let rt = runtime();
    let f = rt.block_on(Fixture::new());
    for route in rt.block_on(f.routes()) {
        run(&rt, &route.path, json::json(), async |j: Json| {
            if route.method == Method::POST {
                f.send(&route, f.body_url(&route), Some(j.render().into_bytes()))
                    .await
                    .map(drop)
            } else {
                f.send(
                    &route,
                    f.url(&route, &encode(j.render().as_bytes()), false),
                    None,
                )
                .await
                .map(drop)
            }
        });
    }
    rt.block_on(f.assert_intact());
}

#[test]
fn mutated_valid_bodies_at_every_route_are_refused_cleanly() {
    let rt = runtime();
    let f = rt.block_on(Fixture::new());
    for route in rt
        .block_on(f.routes())
        .into_iter()
        .filter(|r| r.method == Method::POST)
    {
        let valid = f.valid_body(&route.path);
        let sent = f.send(&route, f.body_url(&route), Some(valid.to_string().into()));
        assert_eq!(
            rt.block_on(sent),
            Ok(true),
            "{}: the valid body is refused",
            route.path
        );
        let strategy = prop::collection::vec(mutation(), 1..4);
        run(
            &rt,
            &route.path,
            strategy,
            async |m: Vec<(usize, json::Mutation)>| {
                let body = mutate(&valid, &m).render().into_bytes();
                f.send(&route, f.body_url(&route), Some(body))
                    .await
                    .map(drop)
            },
        );
    }
    rt.block_on(f.assert_intact());
}

#[test]
fn arbitrary_bytes_at_every_route_are_refused_cleanly() {
    let rt = runtime();
    let f = rt.block_on(Fixture::new());
    for route in rt.block_on(f.routes()) {
        if route.method == Method::POST {
            let valid = f.valid_body(&route.path).to_string();
            let bytes = prop_oneof![3 => bytes_near(valid), 1 => deeply_nested(15_000)];
            run(&rt, &route.path, bytes, async |b: Vec<u8>| {
                f.send(&route, f.body_url(&route), Some(b)).await.map(drop)
            });
        } else {
            let strategy = prop::collection::vec(any::<u8>(), 0..100);
            run(&rt, &route.path, strategy, async |b: Vec<u8>| {
                f.send(&route, f.url(&route, &encode(&b), true), None)
                    .await
                    .map(drop)
            });
        }
    }
    rt.block_on(f.assert_intact());
}

#[test]
fn arbitrary_authorization_headers_are_401_or_403() {
    let rt = runtime();
    let f = rt.block_on(Fixture::new());
    for route in rt.block_on(f.routes()) {
        if route.authorization.is_none() {
            continue;
        }
        let body = (route.method == Method::POST).then(|| f.valid_body(&route.path));
        run(&rt, &route.path, authorization(), async |header| {
            let fake = routes::Route {
                authorization: header,
                ..route.clone()
            };
            let url = f.url(&fake, "ip_x", false);
            let body = body.as_ref().map(|b| b.to_string().into_bytes());
            match f.send_status(&fake, url, body).await? {
                401 | 403 => Ok(()),
                other => Err(format!("{}: {other} for a bad token", route.path)),
            }
        });
    }
    rt.block_on(f.assert_intact());
}
