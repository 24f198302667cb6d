//! A WebSocket viewer for the stream tests.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Session, TestApp};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An event as a viewer received it, with the viewer's prompt time then.
#[derive(Debug, Clone)]
pub struct Received {
    /// The event item.
    pub event: Value,
    /// The viewer's own prompt time on arrival.
    pub at: f64,
}

/// A connected, authorized viewer whose prompt time started at `start`.
pub struct Viewer {
    pub socket: Socket,
    started: Instant,
    start: f64,
}

/// Opens a socket to the stream endpoint.
pub async fn connect(app: &TestApp) -> Socket {
    let url = format!(
        "{}/api/2/interactive_prompts/live",
        app.base.replace("http://", "ws://")
    );
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connect")
        .0
}

/// Sends a JSON packet.
pub async fn send(socket: &mut Socket, packet: Value) {
    socket
        .send(Message::Text(packet.to_string().into()))
        .await
        .expect("send");
}

/// The next JSON packet (panics after 10 s or on close).
pub async fn next_packet(socket: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a packet within 10 s");
        match msg {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).expect("JSON packet"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a packet, got {other:?}"),
        }
    }
}

/// The close code the server ends with (skipping packets), within `within`.
pub async fn close_code(socket: &mut Socket, within: Duration) -> Option<u16> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(_) => return None,
            Err(_) => panic!("the server did not close within {within:?}"),
        }
    }
}

/// The authorize packet for a session's prompt.
pub fn authorize(
    s: &Session,
    bandwidth: u32,
    lookback: f64,
    lookahead: f64,
    replay: bool,
) -> Value {
    json!({"type": "authorize", "data": {
        "interactive_prompt_uid": s.prompt_uid, "jwt": s.jwt,
        "bandwidth": bandwidth, "lookback": lookback, "lookahead": lookahead, "replay": replay,
    }})
}

impl Viewer {
    /// Connects and completes the handshake at prompt time `start`.
    pub async fn join(app: &TestApp, authorize_packet: Value, start: f64) -> Viewer {
        let mut socket = connect(app).await;
        send(&mut socket, authorize_packet).await;
        let sync = next_packet(&mut socket).await;
        assert_eq!(sync["type"], "sync_request", "{sync}");
        assert_eq!(sync["success"], true);
        let started = Instant::now();
        send(&mut socket, json!({"type": "sync_response", "data": {"receive_timestamp": start, "transmit_timestamp": start}})).await;
        let auth = next_packet(&mut socket).await;
        assert_eq!(auth["type"], "auth_response", "{auth}");
        Viewer {
            socket,
            started,
            start,
        }
    }

    /// This viewer's prompt time now.
    pub fn prompt_time(&self) -> f64 {
        self.start + self.started.elapsed().as_secs_f64()
    }

    /// Collects events until the server closes or `limit` passes; returns
    /// them with the close code.
    pub async fn collect(&mut self, limit: Duration) -> (Vec<Received>, Option<u16>) {
        let deadline = Instant::now() + limit;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = match tokio::time::timeout(left, self.socket.next()).await {
                Err(_) => return (out, None),
                Ok(m) => m,
            };
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let packet: Value = serde_json::from_str(&t).unwrap();
                    if packet["type"] == "event_batch" {
                        let at = self.prompt_time();
                        for e in packet["data"]["events"].as_array().unwrap() {
                            out.push(Received {
                                event: e.clone(),
                                at,
                            });
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => return (out, frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => {}
                _ => return (out, None),
            }
        }
    }
}
