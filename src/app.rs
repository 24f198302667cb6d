//! Building and running the server, the same way for `main` and for tests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::Auth;
use crate::config::{Config, redact};
use crate::http::rate_limit::RateLimits;
use crate::http::serve::HttpSettings;
use crate::http::{self, AppState};
use crate::ingest::Ingest;
use crate::pubsub::PubSub;
use crate::storage::Store;
use crate::stream::StreamContext;

/// How long in-flight requests get to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A built server, bound to its port but not yet serving.
pub struct Application {
    listener: TcpListener,
    draining: tokio::sync::watch::Sender<bool>,
    state: AppState,
    admin_token: String,
    http: HttpSettings,
}

/// What the server is made of, besides its listener: for in-process
/// helpers such as the demo crowd.
impl Application {
    /// Stores, counts and publishes accepted events (and holds the store).
    pub fn ingest(&self) -> &Ingest {
        &self.state.ingest
    }
}

impl Application {
    /// Opens the database, builds the keys and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let settings = config.auth_settings()?;
        let admin_token = settings.admin_token.clone();
        let auth = Arc::new(Auth::new(settings)?);
        crate::metrics::install();
        // Fetches the identity provider's JWKS, if that is how user tokens
        // are verified (a failure is logged and retried; the server starts).
        auth.start().await;
        let (draining, shutdown) = tokio::sync::watch::channel(false);
        let store = Store::open(&config.database, &config.storage)
            .await
            .map_err(|e| redact::error("opening", &config.database, e))?;
        let pubsub = match &config.redis {
            Some(url) => PubSub::redis(url, store.clone())
                .await
                .map_err(|e| redact::error("connecting to Redis at", url, e))?,
            None => PubSub::local(),
        };
        let stream = StreamContext::new(
            store.clone(),
            pubsub.hub().clone(),
            auth.clone(),
            config.stream_settings(),
            shutdown,
        );
        let ingest = Ingest::new(store.clone(), pubsub.clone());
        let state = AppState::new(http::state::Shared {
            store,
            auth,
            pubsub,
            ingest,
            limits: Arc::new(RateLimits::new(&config.rate_settings())),
            dev: config.dev,
            stream,
            embed: http::embed_page::EmbedPage::new(&config.embed_origins),
            faces: Default::default(),
            timelines: http::timeline_cache::TimelineCache::new(
                (config.timeline_cache_mib as usize).saturating_mul(1 << 20),
            ),
        });
        let listener = bind(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        Ok(Application {
            listener,
            draining,
            state,
            admin_token,
            http: config.http.clone(),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The admin token in force (printed in dev mode).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Serves until `shutdown` completes, then drains in-flight requests
    /// for at most [`DRAIN_TIMEOUT`].
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = http::router(self.state.clone());
        let draining = self.draining;
        let stop = draining.subscribe();
        let mut draining_rx = draining.subscribe();
        tokio::spawn(async move {
            shutdown.await;
            let _ = draining.send(true);
        });
        let server = http::serve::serve(self.listener, router, self.http, stop);
        let mut server = std::pin::pin!(server);
        tokio::select! {
            () = &mut server => return Ok(()),
            _ = draining_rx.wait_for(|d| *d) => {}
        }
        if tokio::time::timeout(DRAIN_TIMEOUT, server).await.is_err() {
            tracing::warn!(
                "in-flight requests did not finish within {DRAIN_TIMEOUT:?}; exiting anyway"
            );
        }
        Ok(())
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown signal received; draining");
}

/// Pending connections the kernel queues before `accept` (capped by
/// `net.core.somaxconn`). The standard library's 128 made the 129th of a
/// burst of viewers connecting at a premiere's start wait for a SYN
/// retransmission: one second.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` (host:port, names resolved) with [`LISTEN_BACKLOG`].
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the address resolved to nothing")))
}
