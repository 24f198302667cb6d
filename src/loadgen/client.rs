//! A minimal HTTP/1.1 keep-alive client: one connection, one request at a
//! time, as a browser tab or app would hold it. Requests are written by
//! hand and responses parsed with `httparse` on the calling task, so the
//! load generator spends as little CPU as possible (it shares the machine
//! with the server): with hyper's client, whose connection task and
//! channels sit between request and response, the loadgen spent 18–20 µs
//! of CPU per accepted event; with this one 12–16 µs (BENCHMARKS.md).

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    /// Reading or writing the connection failed, or the server closed it
    /// before the whole response arrived.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The response was not HTTP/1.1 as this client reads it.
    #[error("protocol: {0}")]
    Protocol(String),
}

impl ClientError {
    /// A short kind for error counts.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Connect(_) => "transport connect",
            ClientError::Io(_) => "transport io",
            ClientError::Protocol(_) => "transport protocol",
        }
    }
}

/// One keep-alive connection to a server; reconnects after a failure.
///
/// Requests are written and responses read on the calling task, with no
/// connection task or channel in between: a request costs one `write` and
/// usually one `read`.
pub struct Conn {
    addr: SocketAddr,
    host: String,
    stream: Option<TcpStream>,
    /// The request being written (reused).
    out: Vec<u8>,
    /// Bytes read and not yet consumed.
    inbuf: BytesMut,
}

/// Most headers a response may have.
const MAX_HEADERS: usize = 32;

impl Conn {
    /// A connection to `addr` (opened on first use).
    pub fn new(addr: SocketAddr) -> Self {
        Conn {
            addr,
            host: addr.to_string(),
            stream: None,
            out: Vec::with_capacity(1024),
            inbuf: BytesMut::with_capacity(8192),
        }
    }

    /// Sends one request and reads the whole response.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Response, ClientError> {
        self.out.clear();
        let out = &mut self.out;
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        out.extend_from_slice(self.host.as_bytes());
        if let Some(token) = bearer {
            out.extend_from_slice(b"\r\nauthorization: bearer ");
            out.extend_from_slice(token.as_bytes());
        }
        if let Some(body) = body {
            out.extend_from_slice(b"\r\ncontent-type: application/json\r\ncontent-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(body);
        } else {
            out.extend_from_slice(b"\r\n\r\n");
        }
        let result = self.exchange().await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    /// Writes `self.out` and reads one response, connecting first if needed.
    async fn exchange(&mut self) -> Result<Response, ClientError> {
        if self.stream.is_none() {
            let tcp = TcpStream::connect(self.addr)
                .await
                .map_err(ClientError::Connect)?;
            tcp.set_nodelay(true).map_err(ClientError::Connect)?;
            self.stream = Some(tcp);
            self.inbuf.clear();
        }
        let stream = self.stream.as_mut().expect("just connected");
        stream.write_all(&self.out).await?;
        let (status, head_len, framing, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.inbuf) {
                Ok(httparse::Status::Complete(n)) => {
                    let status = parsed.code.unwrap_or_default();
                    let (framing, close) = framing(status, parsed.headers)?;
                    break (status, n, framing, close);
                }
                Ok(httparse::Status::Partial) => read_more(stream, &mut self.inbuf).await?,
                Err(e) => return Err(ClientError::Protocol(e.to_string())),
            }
        };
        let _ = self.inbuf.split_to(head_len);
        let body = match framing {
            Framing::Length(len) => {
                while self.inbuf.len() < len {
                    read_more(stream, &mut self.inbuf).await?;
                }
                self.inbuf.split_to(len).freeze()
            }
            Framing::Chunked => read_chunked(stream, &mut self.inbuf).await?,
        };
        if close {
            self.stream = None;
        }
        Ok(Response { status, body })
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str, bearer: Option<&str>) -> Result<Response, ClientError> {
        self.request("GET", path, bearer, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(
        &mut self,
        path: &str,
        bearer: Option<&str>,
        body: impl AsRef<[u8]>,
    ) -> Result<Response, ClientError> {
        self.request("POST", path, bearer, Some(body.as_ref()))
            .await
    }
}

/// How a response body is delimited.
enum Framing {
    /// `content-length` bytes (0 when the status has no body).
    Length(usize),
    /// `transfer-encoding: chunked`.
    Chunked,
}

/// The body framing of a response, and whether the server closes after it.
fn framing(status: u16, headers: &[httparse::Header]) -> Result<(Framing, bool), ClientError> {
    let mut framing = None;
    let mut close = false;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            let len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| ClientError::Protocol("bad content-length".into()))?;
            framing = Some(Framing::Length(len));
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if !h.value.eq_ignore_ascii_case(b"chunked") {
                return Err(ClientError::Protocol(
                    "unsupported transfer-encoding".into(),
                ));
            }
            framing = Some(Framing::Chunked);
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    match framing {
        Some(f) => Ok((f, close)),
        None if status == 204 || status == 304 || status < 200 => Ok((Framing::Length(0), close)),
        None => Err(ClientError::Protocol(format!(
            "{status} response without content-length"
        ))),
    }
}

/// Reads more of the response into `buf`; the server closing is an error.
async fn read_more(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<(), ClientError> {
    buf.reserve(4096);
    match stream.read_buf(buf).await? {
        0 => Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
        _ => Ok(()),
    }
}

/// Reads a chunked body (no trailers) from `buf` and `stream`.
async fn read_chunked(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<Bytes, ClientError> {
    let mut body = BytesMut::new();
    loop {
        let (head, size) = loop {
            match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete(found)) => break found,
                Ok(httparse::Status::Partial) => read_more(stream, buf).await?,
                Err(_) => return Err(ClientError::Protocol("bad chunk size".into())),
            }
        };
        let size =
            usize::try_from(size).map_err(|_| ClientError::Protocol("chunk too large".into()))?;
        while buf.len() < head + size + 2 {
            read_more(stream, buf).await?;
        }
        let _ = buf.split_to(head);
        body.extend_from_slice(&buf.split_to(size));
        let _ = buf.split_to(2);
        if size == 0 {
            return Ok(body.freeze());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each request it reads on a connection with the
    /// next of `replies` (raw bytes), and returns what it was sent.
    async fn serve(replies: Vec<&'static [u8]>) -> (SocketAddr, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut received = Vec::new();
            let (mut tcp, _) = listener.accept().await.unwrap();
            for reply in replies {
                let mut buf = [0u8; 4096];
                let n = tcp.read(&mut buf).await.unwrap();
                received.extend_from_slice(&buf[..n]);
                tcp.write_all(reply).await.unwrap();
            }
            received
        });
        (addr, task)
    }

    #[tokio::test]
    async fn keeps_the_connection_and_reads_length_and_chunked_bodies() {
        let (addr, server) = serve(vec![
            b"HTTP/1.1 201 Created\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ])
        .await;
        let mut conn = Conn::new(addr);
        let r = conn.post("/p", Some("tok"), b"{}").await.unwrap();
        assert_eq!((r.status, r.json()["a"].as_i64()), (201, Some(1)));
        let r = conn.get("/c", None).await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"abcde"[..]));
        let r = conn.get("/n", None).await.unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
        let sent = String::from_utf8(server.await.unwrap()).unwrap();
        assert!(sent.starts_with(&format!(
            "POST /p HTTP/1.1\r\nhost: {addr}\r\nauthorization: bearer tok\r\n\
             content-type: application/json\r\ncontent-length: 2\r\n\r\n{{}}GET /c HTTP/1.1\r\n"
        )));
    }

    #[tokio::test]
    async fn a_response_cut_short_is_an_io_error_and_the_next_request_reconnects() {
        let (addr, server) = serve(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"]).await;
        let mut conn = Conn::new(addr);
        let err = conn.get("/", None).await.unwrap_err();
        server.await.unwrap();
        assert_eq!(err.kind(), "transport io");
        // The listener is gone: the next request must try to connect again.
        assert_eq!(
            conn.get("/", None).await.unwrap_err().kind(),
            "transport connect"
        );
    }

    #[tokio::test]
    async fn a_body_without_framing_is_a_protocol_error() {
        let (addr, _server) = serve(vec![b"HTTP/1.1 200 OK\r\n\r\nhello"]).await;
        let err = Conn::new(addr).get("/", None).await.unwrap_err();
        assert_eq!(err.kind(), "transport protocol");
    }
}
