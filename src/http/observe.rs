//! Request ids, request logs and HTTP metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram};
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::metrics as m;

/// Request ids: a per-process random prefix and a counter, e.g. `k3J9-42`.
#[derive(Clone)]
pub struct CountingRequestId {
    prefix: std::sync::Arc<str>,
    next: std::sync::Arc<AtomicU64>,
}

impl Default for CountingRequestId {
    fn default() -> Self {
        let uid = crate::domain::uid::generate("r");
        CountingRequestId {
            prefix: uid[2..8].into(),
            next: Default::default(),
        }
    }
}

impl MakeRequestId for CountingRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// Records `chorus_http_requests_total` and `chorus_http_request_duration_seconds`.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    let route = route.as_ref().map_or(UNMATCHED, |p| p.as_str());
    ROUTES.record(method, route, response.status(), started.elapsed());
    response
}

/// The `route` label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// The methods the API knows; any other is labelled `other`, so that no
/// client can add a series by inventing methods.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

/// The `method` label of `method`: its name if the API knows it, else `other`.
fn method_label(method: &Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| *m == method)
        .map_or("other", |m| m.as_str())
}

/// The HTTP metrics' handles by route, method and status, registered on
/// first use: a request then costs a hash lookup and two atomic updates
/// instead of building label sets. Every label comes from a fixed set —
/// routes are the router's patterns (or `unmatched`), methods those of
/// [`METHODS`] (or `other`), statuses those the server answers — so the
/// table stays small whatever clients send.
static ROUTES: LazyLock<RouteMetrics> = LazyLock::new(RouteMetrics::default);

/// A series of one route: method and status.
type Key = (&'static str, u16);

struct Series {
    duration: Histogram,
    requests: Counter,
}

/// By route, then by method and status (so that a lookup borrows the route).
#[derive(Default)]
struct RouteMetrics(RwLock<HashMap<String, HashMap<Key, Series>>>);

impl RouteMetrics {
    fn record(&self, method: &'static str, route: &str, status: StatusCode, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let key = (method, status.as_u16());
        {
            let routes = self.0.read().expect("route metrics");
            if let Some(s) = routes.get(route).and_then(|r| r.get(&key)) {
                s.requests.increment(1);
                s.duration.record(seconds);
                return;
            }
        }
        m::install();
        let mut routes = self.0.write().expect("route metrics");
        let series = routes.entry(route.to_owned()).or_default();
        let s = series.entry(key).or_insert_with(|| Series {
            duration: metrics::histogram!(m::HTTP_DURATION, "method" => method, "route" => route.to_owned()),
            requests: metrics::counter!(m::HTTP_REQUESTS, "method" => method, "route" => route.to_owned(), "status" => status.as_u16().to_string()),
        });
        s.requests.increment(1);
        s.duration.record(seconds);
    }
}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format 0.0.4.", body = String, content_type = "text/plain")))]
pub async fn render() -> ([(axum::http::header::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        m::install().render(),
    )
}
