//! The socket as the stream sees it: frames in, frames out, and sends that
//! give up on a slow reader. Any `Sink` of [`Outgoing`] and `Stream` of
//! [`Incoming`] will do — a WebSocket's halves (see `crate::http`), or
//! channels in a test.

use std::time::Duration;

use futures::{Sink, SinkExt};

/// How long one send may block before the viewer counts as a slow reader.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// A frame from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A text frame.
    Text(String),
    /// A binary frame (a packet, if it is UTF-8 JSON).
    Binary(Vec<u8>),
    /// A ping or pong: nothing for the stream to do.
    Control,
    /// A close frame, an error, or the end of the connection.
    Closed,
}

/// A frame to the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A packet, as JSON text.
    Text(String),
    /// A close frame with its code and reason.
    Close(u16, &'static str),
}

/// Sends one packet; fails when the client does not take it within
/// [`SEND_TIMEOUT`] or the socket is gone.
pub async fn send<S: Sink<Outgoing> + Unpin>(sink: &mut S, text: String) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Outgoing::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Sends a close frame (giving up after [`SEND_TIMEOUT`]).
pub async fn close<S: Sink<Outgoing> + Unpin>(sink: &mut S, code: u16, reason: &'static str) {
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Outgoing::Close(code, reason))).await;
}
