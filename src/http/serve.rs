//! Serving HTTP/1.1 connections with the limits of docs/operations.md
//! ("Limits"): at most `max_connections` open at once (the accept loop
//! waits for a free slot, so later clients wait in the kernel's backlog), a
//! header timeout, an idle timeout, a deadline on request bodies, and
//! request heads of at most [`MAX_HEAD_BYTES`]. `axum::serve` has none of
//! these, so this is its replacement: the same router, WebSocket upgrades
//! and graceful drain.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use super::connection::{Activity, Verdict, Watched};
use crate::metrics as m;

/// Largest request head (request line and headers): a longer one is
/// answered 431 and the connection closed. It bounds what a client sending
/// a head slowly can make the server hold.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The limits on HTTP connections (the `[http]` table of the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Longest a request head may take to arrive, from the accept (the
    /// first request) or from its first byte (later ones).
    pub header_timeout: Duration,
    /// Longest a connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// Longest a request's body may take to arrive, from its head.
    pub request_timeout: Duration,
    /// Most HTTP connections open at once (streams leave this count once
    /// upgraded; `max_streams` caps them).
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 10_000,
        }
    }
}

/// When a request's body must have arrived; a request extension, read by
/// the body extractor (`http::extract::JsonBody`), which answers 408.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub tokio::time::Instant);

/// Serves `router` on `listener` until `stop` turns true, then stops
/// accepting, lets every connection finish its requests (idle ones close at
/// once) and returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: HttpSettings,
    mut stop: watch::Receiver<bool>,
) {
    let settings = Arc::new(settings);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("never closed"),
            _ = stop.wait_for(|s| *s) => break,
        };
        let (socket, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let (router, settings, stop) = (router.clone(), settings.clone(), stop.clone());
        tokio::spawn(async move {
            metrics::gauge!(m::HTTP_CONNECTIONS).increment(1.0);
            serve_connection(socket, router, &settings, stop).await;
            metrics::gauge!(m::HTTP_CONNECTIONS).decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    // Every connection holds a slot until it closes.
    let all = u32::try_from(settings.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Errors of `accept` about one connection (reset before it was accepted)
/// are nothing; others (out of file descriptors) are logged and waited
/// out, as `axum::serve` does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection until it closes, its watchdog closes it, or a
/// drain has closed it gracefully.
async fn serve_connection(
    socket: TcpStream,
    router: Router,
    settings: &HttpSettings,
    mut stop: watch::Receiver<bool>,
) {
    let _ = socket.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(socket, activity.clone()));
    let service = Tracked {
        router,
        activity: activity.clone(),
        request_timeout: settings.request_timeout,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog below times heads (hyper's own timer would also cut
    // idle connections at the header timeout).
    builder
        .max_buf_size(MAX_HEAD_BYTES)
        .header_read_timeout(None);
    let conn = builder.serve_connection(io, service).with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut draining = false;
    let mut check_in = Duration::ZERO;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            _ = stop.wait_for(|s| *s), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep(check_in) => {
                match activity.verdict(settings.header_timeout, settings.idle_timeout) {
                    Verdict::Close(why) => {
                        metrics::counter!(m::HTTP_CONNECTIONS_DROPPED, "reason" => why.label())
                            .increment(1);
                        return;
                    }
                    Verdict::CheckIn(after) => check_in = after,
                }
            }
        }
    }
}

/// The router as a hyper service of one connection: each request counted
/// in flight on the connection's [`Activity`], with its [`BodyDeadline`].
#[derive(Clone)]
struct Tracked {
    router: Router,
    activity: Arc<Activity>,
    request_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request_started();
        let mut req = req.map(Body::new);
        let deadline = tokio::time::Instant::now() + self.request_timeout;
        req.extensions_mut().insert(BodyDeadline(deadline));
        let response = self.router.clone().oneshot(req);
        Box::pin(async move {
            let response = response.await;
            drop(in_flight);
            response
        })
    }
}
