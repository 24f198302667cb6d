//! The identity provider's JWKS (docs/integrate.md, "Identity"): user-token
//! keys chosen by `kid`, fetched at start, refreshed every
//! [`JwksSettings::refresh`] and when a token names a `kid` we do not hold
//! (such fetches at most once per [`JwksSettings::min_interval`], in all),
//! so a key the provider starts publishing is accepted without a restart.
//! A fetch that fails, or yields no usable key, keeps the last good keys;
//! keys Chorus cannot use are refused one by one (`keys::VerifyingKey::from_jwk`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::keys::VerifyingKey;
use crate::metrics;

/// Default time between two scheduled fetches.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(600);
/// Default least time between fetches caused by an unknown `kid`.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(60);
/// Largest JWKS document read; a bigger one is malformed.
pub const MAX_JWKS_BYTES: usize = 1 << 20;
/// A fetch gives up after this long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// While no key was ever loaded, retries back off from this…
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Where the JWKS is and how often to fetch it.
#[derive(Debug, Clone, PartialEq)]
pub struct JwksSettings {
    /// `https://…` (or `http://` for a provider on a trusted network).
    pub url: String,
    /// Time between two scheduled fetches.
    pub refresh: Duration,
    /// Least time between a fetch and one caused by an unknown `kid`.
    pub min_interval: Duration,
}

/// Why a fetch gave no keys.
#[derive(Debug)]
enum FetchError {
    /// Not reached, timed out, or not a 2xx answer.
    Unreachable(String),
    /// Not a JWKS, too big, or no key we can use.
    Malformed(String),
}

/// The keys in force, and the fetching of new ones.
pub struct Jwks {
    settings: JwksSettings,
    client: reqwest::Client,
    keys: RwLock<Arc<HashMap<String, Arc<VerifyingKey>>>>,
    /// When the last fetch started (any cause).
    last_fetch: Mutex<Option<Instant>>,
    /// One fetch at a time: requests with the same unknown `kid` wait for it.
    fetching: tokio::sync::Mutex<()>,
    /// Bumped whenever the keys change, so tokens verified with a key that
    /// is gone are verified again.
    generation: AtomicU64,
}

impl Jwks {
    /// A key ring for `settings`, holding no keys until [`Jwks::start`].
    pub fn new(settings: JwksSettings) -> Result<Self, String> {
        let url = reqwest::Url::parse(&settings.url)
            .map_err(|e| format!("bad JWKS URL {:?}: {e}", settings.url))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!("the JWKS URL {:?} is not http(s)", settings.url));
        }
        if url.scheme() == "http" && !url.host_str().is_some_and(is_loopback) {
            tracing::warn!(url = %settings.url, "the JWKS is fetched over plain http; use https");
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("chorus/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {e}"))?;
        Ok(Jwks {
            settings,
            client,
            keys: RwLock::default(),
            last_fetch: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        })
    }

    /// Fetches the keys once, then keeps them fresh in the background for
    /// as long as this key ring lives. A failed first fetch is logged and
    /// retried (backing off to `min_interval`); the server starts anyway.
    pub async fn start(self: &Arc<Self>) {
        self.refresh("start").await;
        let ring = Arc::downgrade(self);
        tokio::spawn(keep_fresh(ring, self.settings.clone()));
    }

    /// Bumped whenever the keys change.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The key named `kid`; an unknown `kid` fetches the JWKS again if the
    /// last fetch is at least `min_interval` old.
    pub async fn key(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        if let Some(key) = self.held(kid) {
            return Some(key);
        }
        if !self.may_fetch() {
            return None;
        }
        let _one = self.fetching.lock().await;
        // Another request may have fetched while we waited.
        if let Some(key) = self.held(kid) {
            return Some(key);
        }
        if self.may_fetch() {
            self.fetch_and_swap("unknown_kid").await;
        }
        self.held(kid)
    }

    fn held(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.keys.read().expect("keys lock").get(kid).cloned()
    }

    fn may_fetch(&self) -> bool {
        let last = *self.last_fetch.lock().expect("last fetch lock");
        last.is_none_or(|at| at.elapsed() >= self.settings.min_interval)
    }

    fn holds_keys(&self) -> bool {
        !self.keys.read().expect("keys lock").is_empty()
    }

    /// Fetches now (one fetch at a time), whatever the last fetch's age.
    async fn refresh(&self, cause: &'static str) {
        let _one = self.fetching.lock().await;
        self.fetch_and_swap(cause).await;
    }

    /// Fetches and, if the set holds a usable key, puts it in force.
    async fn fetch_and_swap(&self, cause: &'static str) {
        *self.last_fetch.lock().expect("last fetch lock") = Some(Instant::now());
        let (result, detail) = match self.fetch().await {
            Ok((keys, refused)) => {
                self.swap(keys, &refused);
                ("ok", None)
            }
            Err(FetchError::Unreachable(why)) => ("unreachable", Some(why)),
            Err(FetchError::Malformed(why)) => ("malformed", Some(why)),
        };
        ::metrics::counter!(metrics::JWKS_FETCHES, "cause" => cause, "result" => result)
            .increment(1);
        if let Some(why) = detail {
            let kept = self.keys.read().expect("keys lock").len();
            tracing::error!(
                url = %self.settings.url, cause, result, kept,
                "JWKS fetch failed: {why}; keeping the {kept} keys in force"
            );
        }
    }

    fn swap(&self, keys: HashMap<String, Arc<VerifyingKey>>, refused: &[String]) {
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        tracing::info!(url = %self.settings.url, ?kids, refused = refused.len(), "JWKS loaded");
        ::metrics::gauge!(metrics::JWKS_KEYS).set(keys.len() as f64);
        ::metrics::gauge!(metrics::JWKS_KEYS_REFUSED).set(refused.len() as f64);
        let mut held = self.keys.write().expect("keys lock");
        let changed = held.len() != keys.len()
            || keys.iter().any(|(kid, k)| {
                held.get(kid)
                    .is_none_or(|h| h.algorithm != k.algorithm || !same_key(h, k))
            });
        *held = Arc::new(keys);
        if changed {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The usable keys of the JWKS, and why the others were refused.
    async fn fetch(&self) -> Result<(HashMap<String, Arc<VerifyingKey>>, Vec<String>), FetchError> {
        let body = self.download().await?;
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|e| FetchError::Malformed(format!("not JSON: {e}")))?;
        let Some(list) = doc.get("keys").and_then(Value::as_array) else {
            return Err(FetchError::Malformed("no \"keys\" array".into()));
        };
        let (mut keys, mut refused) = (HashMap::new(), Vec::new());
        for value in list {
            match VerifyingKey::from_jwk(value) {
                Ok((kid, _)) if keys.contains_key(&kid) => {
                    refused.push(format!("key {kid:?}: a second key with this kid"));
                }
                Ok((kid, key)) => {
                    keys.insert(kid, Arc::new(key));
                }
                Err(why) => refused.push(why),
            }
        }
        for why in &refused {
            tracing::warn!(url = %self.settings.url, "JWKS key refused: {why}");
        }
        if keys.is_empty() {
            return Err(FetchError::Malformed(format!(
                "no usable key among {} ({} refused)",
                list.len(),
                refused.len()
            )));
        }
        Ok((keys, refused))
    }

    /// The document's bytes, at most [`MAX_JWKS_BYTES`].
    async fn download(&self) -> Result<Vec<u8>, FetchError> {
        let unreachable = |e: reqwest::Error| FetchError::Unreachable(with_causes(&e));
        let mut response = self
            .client
            .get(&self.settings.url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(FetchError::Unreachable(format!(
                "HTTP {}",
                response.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(FetchError::Malformed(format!(
                    "larger than {MAX_JWKS_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Fetches every `refresh`, and sooner (backing off) while no key was
/// ever loaded; ends when the key ring is dropped.
async fn keep_fresh(ring: Weak<Jwks>, settings: JwksSettings) {
    let mut retry = FIRST_RETRY;
    loop {
        let holds = match ring.upgrade() {
            Some(jwks) => jwks.holds_keys(),
            None => return,
        };
        let wait = if holds {
            settings.refresh
        } else {
            let wait = retry.min(settings.min_interval).min(settings.refresh);
            retry = retry.saturating_mul(2);
            wait
        };
        tokio::time::sleep(wait).await;
        let Some(jwks) = ring.upgrade() else { return };
        jwks.refresh(if holds { "scheduled" } else { "retry" })
            .await;
    }
}

/// Whether two keys verify the same signatures (same algorithm and bytes).
fn same_key(a: &VerifyingKey, b: &VerifyingKey) -> bool {
    use jsonwebtoken::jwk::Jwk;
    let jwk = |k: &VerifyingKey| Jwk::from_decoding_key(&k.key, Some(k.algorithm)).ok();
    matches!((jwk(a), jwk(b)), (Some(x), Some(y)) if x == y)
}

/// An error and its causes, one after the other (reqwest's own text says
/// only "error sending request").
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
