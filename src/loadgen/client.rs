//! A minimal HTTP/1.1 keep-alive client: one connection, one request at a
//! time, as a browser tab or app would hold it. Built on hyper's
//! connection API so the load generator spends as little CPU as possible
//! (it shares the machine with the server).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// The body as JSON (Null when not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The error `type` of a JSON error body, else `http_<status>`.
    pub fn error_type(&self) -> String {
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            #[serde(rename = "type")]
            kind: String,
        }
        match serde_json::from_slice::<ErrorBody>(&self.body) {
            Ok(e) => format!("{} {}", self.status, e.kind),
            Err(_) => format!("http_{}", self.status),
        }
    }
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting failed.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// The HTTP exchange failed (connection closed, protocol error).
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
}

impl ClientError {
    /// A short kind for error counts.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Connect(_) => "transport connect",
            ClientError::Http(_) => "transport http",
        }
    }
}

/// One keep-alive connection to a server; reconnects after a failure.
pub struct Conn {
    addr: SocketAddr,
    host: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// A connection to `addr` (opened on first use).
    pub fn new(addr: SocketAddr) -> Self {
        Conn {
            addr,
            host: addr.to_string(),
            sender: None,
        }
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, ClientError> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let tcp = TcpStream::connect(self.addr)
                .await
                .map_err(ClientError::Connect)?;
            tcp.set_nodelay(true).map_err(ClientError::Connect)?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("just connected"))
    }

    /// Sends one request and reads the whole response.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Bytes>,
    ) -> Result<Response, ClientError> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host);
        if let Some(token) = bearer {
            req = req.header(AUTHORIZATION, format!("bearer {token}"));
        }
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .expect("valid request");
        let result = async {
            let sender = self.sender().await?;
            sender.ready().await?;
            let resp = sender.send_request(req).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok(Response { status, body })
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str, bearer: Option<&str>) -> Result<Response, ClientError> {
        self.request(Method::GET, path, bearer, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(
        &mut self,
        path: &str,
        bearer: Option<&str>,
        body: impl Into<Bytes>,
    ) -> Result<Response, ClientError> {
        self.request(Method::POST, path, bearer, Some(body.into()))
            .await
    }
}
