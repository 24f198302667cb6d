//! User tokens verified with the identity provider's JWKS
//! (docs/integrate.md, "Identity"; docs/operations.md): a JWKS served by
//! the test on a random port, the real binary fetching it. Keys chosen by
//! `kid`; rotation without restart; an unknown `kid` is 403 `invalid` and
//! fetches the JWKS again at most once per interval; an unreachable or
//! malformed JWKS keeps the last good keys (logged, counted in /metrics);
//! keys Chorus cannot use are refused one by one.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{TestApp, fresh_database, numeric_prompt, spawn_with_env};

/// Private keys of the test "identity provider" (tests/keys/README.md).
pub const RSA1: &[u8] = include_bytes!("../keys/rsa1.key");
/// A second RSA key.
pub const RSA2: &[u8] = include_bytes!("../keys/rsa2.key");
/// An RSA key too short to accept.
pub const RSA1024: &[u8] = include_bytes!("../keys/rsa1024.key");
/// An EC P-256 key.
pub const EC256: &[u8] = include_bytes!("../keys/ec256.key");
/// An EC P-384 key (unsupported).
pub const EC384: &[u8] = include_bytes!("../keys/ec384.key");

/// A signing key of the test identity provider, with its `kid`.
#[derive(Clone)]
pub struct Signer {
    /// The `kid` it is published under.
    pub kid: String,
    alg: Algorithm,
    key: EncodingKey,
}

impl Signer {
    /// An RS256 key from a PKCS#8 PEM.
    pub fn rsa(pem: &[u8], kid: &str) -> Self {
        let key = EncodingKey::from_rsa_pem(pem).unwrap();
        Signer::new(Algorithm::RS256, key, kid)
    }

    /// An ES256 (or ES384) key from a PKCS#8 PEM.
    pub fn ec(alg: Algorithm, pem: &[u8], kid: &str) -> Self {
        let key = EncodingKey::from_ec_pem(pem).unwrap();
        Signer::new(alg, key, kid)
    }

    fn new(alg: Algorithm, key: EncodingKey, kid: &str) -> Self {
        Signer {
            kid: kid.into(),
            alg,
            key,
        }
    }

    /// Its public key as a JWK.
    pub fn jwk(&self) -> Value {
        let mut v =
            serde_json::to_value(Jwk::from_encoding_key(&self.key, self.alg).unwrap()).unwrap();
        v["kid"] = self.kid.clone().into();
        v["use"] = "sig".into();
        v
    }

    /// A user token for `sub`, valid for an hour, naming this key's `kid`.
    pub fn token(&self, sub: &str) -> String {
        self.token_naming(sub, &self.kid)
    }

    /// A user token signed with this key but naming `kid`.
    pub fn token_naming(&self, sub: &str, kid: &str) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.into());
        let claims = json!({"sub": sub, "iat": now, "exp": now + 3600, "name": sub});
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

/// What the test identity provider answers.
#[derive(Clone)]
pub enum Reply {
    /// `{"keys": [...]}`.
    Keys(Vec<Value>),
    /// A bare status, no body.
    Status(u16),
    /// 200 with this text.
    Text(&'static str),
}

/// A JWKS endpoint on a random local port that counts its fetches. Each
/// answer closes its connection, so [`Idp::stop`] refuses further fetches.
pub struct Idp {
    /// The JWKS URL.
    pub url: String,
    reply: Arc<Mutex<Reply>>,
    fetches: Arc<Mutex<Vec<Instant>>>,
    /// Dropped (with the `Idp`), the server stops.
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Idp {
    /// Serves `reply` at `/.well-known/jwks.json`.
    pub fn start(reply: Reply) -> Idp {
        Idp::start_on(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), reply)
    }

    /// Serves on a thread of its own: the test's runtime blocks while a
    /// server it spawns starts (and fetches from here).
    fn start_on(listener: std::net::TcpListener, reply: Reply) -> Idp {
        use axum::http::{StatusCode, header};
        use axum::response::IntoResponse;
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let state = Arc::new(Mutex::new(reply));
        let fetches: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let (served, count) = (state.clone(), fetches.clone());
        let handler = move || {
            count.lock().unwrap().push(Instant::now());
            let reply = served.lock().unwrap().clone();
            let close = [(header::CONNECTION, "close")];
            async move {
                match reply {
                    Reply::Keys(keys) => (close, axum::Json(json!({"keys": keys}))).into_response(),
                    Reply::Status(code) => {
                        (StatusCode::from_u16(code).unwrap(), close).into_response()
                    }
                    Reply::Text(text) => (close, text).into_response(),
                }
            }
        };
        let app = axum::Router::new().route("/.well-known/jwks.json", axum::routing::get(handler));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
        });
        Idp {
            url,
            reply: state,
            fetches,
            stop: Mutex::new(Some(stop)),
        }
    }

    /// Answers `reply` from now on.
    pub fn serve(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    /// Fetches so far.
    pub fn fetches(&self) -> usize {
        self.fetches.lock().unwrap().len()
    }

    /// When the last fetch arrived.
    pub fn last_fetch(&self) -> Instant {
        *self.fetches.lock().unwrap().last().expect("fetched")
    }

    /// Stops listening: fetches are refused.
    pub fn stop(&self) {
        self.stop.lock().unwrap().take();
    }
}

/// Keys `signers` publish.
pub fn keys(signers: &[&Signer]) -> Reply {
    Reply::Keys(signers.iter().map(|s| s.jwk()).collect())
}

/// A server verifying user tokens with the JWKS at `url`, fetching it
/// every `refresh` seconds and on an unknown `kid` at most every
/// `min_interval` seconds.
pub async fn spawn_with_jwks(url: &str, refresh: u64, min_interval: u64) -> TestApp {
    let (database, dir) = fresh_database().await;
    let (refresh, min_interval) = (refresh.to_string(), min_interval.to_string());
    spawn_with_env(
        &database,
        &[],
        dir,
        &[
            ("CHORUS_USER_JWT_SECRET", ""),
            ("CHORUS_USER_JWKS_URL", url),
            ("CHORUS_USER_JWKS_REFRESH_SECONDS", &refresh),
            ("CHORUS_USER_JWKS_MIN_INTERVAL_SECONDS", &min_interval),
        ],
    )
}

/// Starts a session on a fresh prompt with `token`: the status and error type.
async fn start(app: &TestApp, prompt: &str, token: &str) -> (u16, Option<String>) {
    let (status, body) = app
        .send(
            app.http
                .post(app.url("/api/1/interactive_prompts/start_session"))
                .bearer_auth(token)
                .json(&json!({"interactive_prompt_uid": prompt})),
        )
        .await;
    (status.as_u16(), body["type"].as_str().map(Into::into))
}

fn ok() -> (u16, Option<String>) {
    (201, None)
}

fn refused() -> (u16, Option<String>) {
    (403, Some("invalid".into()))
}

/// The sum of `chorus_jwks_fetches_total` over the lines holding `label`.
fn fetch_metric(text: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("chorus_jwks_fetches_total{") && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn sleep_until(at: Instant) {
    tokio::time::sleep(at.saturating_duration_since(Instant::now())).await;
}

/// Polls `check` every 100 ms until it holds, for at most `within`.
async fn eventually<F: std::future::Future<Output = bool>>(
    within: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn keys_are_chosen_by_kid_and_a_new_key_is_fetched_at_most_once_per_interval() {
    let (r1, r2, r3) = (
        Signer::rsa(RSA1, "r1"),
        Signer::rsa(RSA2, "r2"),
        Signer::ec(Algorithm::ES256, EC256, "e3"),
    );
    let idp = Idp::start(keys(&[&r1]));
    let app = spawn_with_jwks(&idp.url, 600, 5).await;
    assert_eq!(idp.fetches(), 1, "fetched once at start");
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    assert_eq!(start(&app, &prompt, &r1.token("ann")).await, ok());
    // r1's key under another kid, and r2's kid while r2 is unpublished.
    assert_eq!(
        start(&app, &prompt, &r1.token_naming("ann", "r2")).await,
        refused()
    );
    assert_eq!(idp.fetches(), 1, "within the interval of the start fetch");

    // The provider starts publishing r2 and r3; once the interval is over,
    // a burst of unknown kids causes exactly one fetch.
    idp.serve(keys(&[&r1, &r2, &r3]));
    sleep_until(idp.last_fetch() + Duration::from_millis(5300)).await;
    let burst: Vec<_> = (0..8)
        .map(|i| r1.token_naming("ann", &format!("nope-{i}")))
        .collect();
    let answers = futures::future::join_all(burst.iter().map(|t| start(&app, &prompt, t))).await;
    assert!(answers.iter().all(|a| *a == refused()), "{answers:?}");
    assert_eq!(idp.fetches(), 2, "one fetch for the whole burst");
    // That fetch brought r2 and r3 (RS256 and ES256), without a restart.
    assert_eq!(start(&app, &prompt, &r2.token("bob")).await, ok());
    assert_eq!(start(&app, &prompt, &r3.token("cy")).await, ok());
    assert_eq!(idp.fetches(), 2);
    // A token signed by one key but naming another is refused.
    assert_eq!(
        start(&app, &prompt, &r2.token_naming("bob", "r1")).await,
        refused()
    );

    // A fourth key published now waits for the interval: refused, no fetch…
    let r4 = Signer::rsa(RSA2, "r4");
    idp.serve(keys(&[&r1, &r2, &r3, &r4]));
    assert_eq!(start(&app, &prompt, &r4.token("dee")).await, refused());
    assert_eq!(idp.fetches(), 2, "throttled");
    // …then is accepted.
    sleep_until(idp.last_fetch() + Duration::from_millis(5300)).await;
    assert_eq!(start(&app, &prompt, &r4.token("dee")).await, ok());
    assert_eq!(idp.fetches(), 3);
    let metrics = app.metrics().await;
    assert_eq!(
        fetch_metric(&metrics, "cause=\"unknown_kid\""),
        2.0,
        "{metrics}"
    );
    assert_eq!(fetch_metric(&metrics, "cause=\"start\""), 1.0, "{metrics}");
    assert_eq!(crate::support::metric(&metrics, "chorus_jwks_keys"), 4.0);
}

#[tokio::test]
async fn a_rotation_on_schedule_drops_removed_keys_without_a_restart() {
    let (r1, r2) = (Signer::rsa(RSA1, "r1"), Signer::rsa(RSA2, "r2"));
    let idp = Idp::start(keys(&[&r1]));
    let app = spawn_with_jwks(&idp.url, 1, 60).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let old = r1.token("ann");
    assert_eq!(start(&app, &prompt, &old).await, ok());
    idp.serve(keys(&[&r2]));
    // The scheduled fetch (every second) puts r2 in force and drops r1,
    // even for a token already verified once.
    eventually(Duration::from_secs(10), "r1 dropped", || async {
        start(&app, &prompt, &old).await == refused()
    })
    .await;
    assert_eq!(start(&app, &prompt, &r2.token("bob")).await, ok());
    let metrics = app.metrics().await;
    assert!(
        fetch_metric(&metrics, "cause=\"scheduled\",result=\"ok\"") >= 1.0,
        "{metrics}"
    );
}

#[tokio::test]
async fn an_unreachable_or_malformed_jwks_keeps_the_last_good_keys() {
    let r1 = Signer::rsa(RSA1, "r1");
    let idp = Idp::start(keys(&[&r1]));
    let app = spawn_with_jwks(&idp.url, 1, 60).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    assert_eq!(start(&app, &prompt, &r1.token("ann")).await, ok());
    let unusable = json!({"kty": "oct", "k": "c2VjcmV0", "kid": "o"});
    let bad = [
        (Reply::Status(503), "result=\"unreachable\""),
        (Reply::Text("<html>sign in</html>"), "result=\"malformed\""),
        (Reply::Text("{\"no_keys\": []}"), "result=\"malformed\""),
        (Reply::Keys(vec![unusable]), "result=\"malformed\""),
    ];
    for (n, (reply, counted)) in bad.into_iter().enumerate() {
        let before = fetch_metric(&app.metrics().await, counted);
        idp.serve(reply);
        let fetched = idp.fetches();
        eventually(Duration::from_secs(10), counted, || async {
            idp.fetches() > fetched + 1
        })
        .await;
        let after = fetch_metric(&app.metrics().await, counted);
        assert!(after > before, "{counted} counted ({n})");
        // A token never seen before: verified with the kept key.
        let sub = format!("u{n}");
        assert_eq!(
            start(&app, &prompt, &r1.token(&sub)).await,
            ok(),
            "case {n}"
        );
    }
    // The endpoint goes away altogether.
    let before = fetch_metric(&app.metrics().await, "result=\"unreachable\"");
    idp.stop();
    eventually(Duration::from_secs(10), "refused fetch counted", || async {
        fetch_metric(&app.metrics().await, "result=\"unreachable\"") > before
    })
    .await;
    assert_eq!(start(&app, &prompt, &r1.token("late")).await, ok());
    assert_eq!(
        crate::support::metric(&app.metrics().await, "chorus_jwks_keys"),
        1.0
    );
}

#[tokio::test]
async fn a_server_started_while_the_jwks_is_down_picks_the_keys_up_later() {
    let r1 = Signer::rsa(RSA1, "r1");
    // A port nobody listens on yet.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/.well-known/jwks.json");
    let app = spawn_with_jwks(&url, 600, 2).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    assert_eq!(start(&app, &prompt, &r1.token("ann")).await, refused());
    let idp = Idp::start_on(std::net::TcpListener::bind(addr).unwrap(), keys(&[&r1]));
    eventually(Duration::from_secs(10), "keys fetched once up", || async {
        start(&app, &prompt, &r1.token("ann")).await == ok()
    })
    .await;
    assert!(idp.fetches() >= 1);
}

#[tokio::test]
async fn keys_chorus_cannot_use_are_refused_one_by_one() {
    let (r1, e1) = (
        Signer::rsa(RSA1, "r1"),
        Signer::ec(Algorithm::ES256, EC256, "e1"),
    );
    let p384 = Signer::ec(Algorithm::ES384, EC384, "p384");
    let short = Signer::rsa(RSA1024, "short");
    let mut twin = Signer::rsa(RSA2, "r1").jwk(); // a second key under r1's kid
    twin["kid"] = "r1".into();
    let mut no_kid = Signer::rsa(RSA2, "x").jwk();
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut encryption = Signer::rsa(RSA2, "enc").jwk();
    encryption["use"] = "enc".into();
    let published = vec![
        json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ed"}),
        r1.jwk(),
        p384.jwk(),
        json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}),
        short.jwk(),
        json!({"kty": 7, "kid": "odd"}),
        twin,
        json!("not a key"),
        e1.jwk(),
        no_kid,
        encryption,
        json!({"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}),
    ];
    let refused_count = published.len() - 2;
    let idp = Idp::start(Reply::Keys(published));
    let app = spawn_with_jwks(&idp.url, 600, 60).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    assert_eq!(start(&app, &prompt, &r1.token("ann")).await, ok());
    assert_eq!(start(&app, &prompt, &e1.token("bob")).await, ok());
    for (signer, kid) in [
        (&p384, "p384"),
        (&short, "short"),
        (&r1, "hmac"),
        (&r1, "ed"),
    ] {
        assert_eq!(
            start(&app, &prompt, &signer.token_naming("x", kid)).await,
            refused(),
            "{kid}"
        );
    }
    // The second key under r1's kid did not replace the first.
    let twin_token = Signer::rsa(RSA2, "r1").token("cy");
    assert_eq!(start(&app, &prompt, &twin_token).await, refused());
    // An HS256 token keyed with r1's public modulus (algorithm confusion).
    let n = r1.jwk()["n"].as_str().unwrap().to_owned();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("r1".into());
    let now = jsonwebtoken::get_current_timestamp();
    let confused = jsonwebtoken::encode(
        &header,
        &json!({"sub": "eve", "iat": now, "exp": now + 600}),
        &EncodingKey::from_secret(n.as_bytes()),
    )
    .unwrap();
    assert_eq!(start(&app, &prompt, &confused).await, refused());
    let metrics = app.metrics().await;
    let metric = |name| crate::support::metric(&metrics, name);
    assert_eq!(metric("chorus_jwks_keys"), 2.0, "{metrics}");
    assert_eq!(metric("chorus_jwks_keys_refused"), refused_count as f64);
}
