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
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    ROUTES.record(&method, route, response.status(), started.elapsed());
    response
}

/// The HTTP metrics' handles by route, method and status, registered on
/// first use: a request then costs two atomic updates instead of building
/// and hashing label sets (routes are the router's patterns, so the sets
/// are few).
static ROUTES: LazyLock<RouteMetrics> = LazyLock::new(RouteMetrics::default);

#[derive(Default)]
struct RouteMetrics(RwLock<HashMap<String, Vec<MethodMetrics>>>);

struct MethodMetrics {
    method: Method,
    duration: Histogram,
    requests: Vec<(StatusCode, Counter)>,
}

impl RouteMetrics {
    fn record(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        {
            let routes = self.0.read().expect("route metrics");
            let known = routes
                .get(route)
                .and_then(|ms| ms.iter().find(|m| m.method == *method))
                .and_then(|m| Some((m, &m.requests.iter().find(|(s, _)| *s == status)?.1)));
            if let Some((m, requests)) = known {
                requests.increment(1);
                m.duration.record(seconds);
                return;
            }
        }
        m::install();
        let mut routes = self.0.write().expect("route metrics");
        let methods = routes.entry(route.to_owned()).or_default();
        let i = match methods.iter().position(|m| m.method == *method) {
            Some(i) => i,
            None => {
                methods.push(MethodMetrics {
                    method: method.clone(),
                    duration: metrics::histogram!(m::HTTP_DURATION, "method" => method.to_string(), "route" => route.to_owned()),
                    requests: Vec::new(),
                });
                methods.len() - 1
            }
        };
        let m = &mut methods[i];
        if !m.requests.iter().any(|(s, _)| *s == status) {
            let counter = metrics::counter!(m::HTTP_REQUESTS, "method" => method.to_string(), "route" => route.to_owned(), "status" => status.as_u16().to_string());
            m.requests.push((status, counter));
        }
        let (_, requests) = m
            .requests
            .iter()
            .find(|(s, _)| *s == status)
            .expect("just added");
        requests.increment(1);
        m.duration.record(seconds);
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
