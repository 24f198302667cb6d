//! Fuzzing the stream handshake (docs/stream-protocol.md, "Handshake"):
//! arbitrary JSON, mutated valid packets and arbitrary bytes as the first
//! packet (`authorize`) and, after a valid `authorize`, as the second
//! (`sync_response`). The server must answer every bad packet with an
//! error packet and a close frame — never drop the connection — and stay
//! up.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use proptest::prelude::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::json::{Json, bytes_near, deeply_nested, mutate, mutation};
use super::{Fixture, run, runtime};
use crate::stream_support::{authorize, connect};

/// A packet as sent: a text frame, or a binary frame of any bytes.
#[derive(Debug, Clone)]
enum Packet {
    Text(String),
    Binary(Vec<u8>),
}

/// Arbitrary JSON, mutations of `valid`, or bytes near it.
fn packets(valid: Value) -> impl Strategy<Value = Packet> {
    let text = valid.to_string();
    prop_oneof![
        super::json::json().prop_map(|j: Json| Packet::Text(j.render())),
        prop::collection::vec(mutation(), 1..4)
            .prop_map(move |m| Packet::Text(mutate(&valid, &m).render())),
        bytes_near(text.clone())
            .prop_map(|b| Packet::Text(String::from_utf8_lossy(&b).into_owned())),
        bytes_near(text).prop_map(Packet::Binary),
        // Under the 16 KiB packet limit, beyond which the server just closes.
        deeply_nested(1_500).prop_map(|b| Packet::Text(String::from_utf8(b).unwrap())),
    ]
}

/// Sends the handshake `packets` in turn; each must be answered (by the
/// next handshake packet, or an error packet and a close), never dropped.
async fn handshake(f: &Fixture, sent: Vec<Packet>) -> Result<(), String> {
    let mut socket = connect(&f.app).await;
    let expected = ["sync_request", "auth_response"];
    for (i, packet) in sent.into_iter().enumerate() {
        let msg = match packet {
            Packet::Text(t) => Message::Text(t.into()),
            Packet::Binary(b) => Message::Binary(b.into()),
        };
        socket.send(msg).await.map_err(|e| format!("send: {e}"))?;
        let reply = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
        let reply = match reply {
            Err(_) => return Err(format!("no answer to packet {i} within 10 s")),
            Ok(Some(Ok(Message::Text(t)))) => {
                serde_json::from_str::<Value>(&t).map_err(|e| e.to_string())?
            }
            Ok(other) => return Err(format!("packet {i}: answered {other:?}")),
        };
        if reply["type"] == expected[i] {
            continue;
        }
        let data = &reply["data"];
        let ok = reply["success"] == false
            && reply["type"] == "error"
            && data["code"]
                .as_u64()
                .is_some_and(|c| (400..500).contains(&c))
            && data["type"].is_string()
            && data["message"].is_string();
        if !ok {
            return Err(format!("packet {i}: not an error packet: {reply}"));
        }
        return match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(_))))) => Ok(()),
            other => Err(format!(
                "packet {i}: after the error packet, {other:?} instead of a close"
            )),
        };
    }
    let _ = socket.close(None).await;
    Ok(())
}

#[test]
fn hostile_first_packets_get_an_error_and_a_close() {
    let rt = runtime();
    let f = rt.block_on(Fixture::new());
    let s = f.session("respond_numeric_prompt").clone();
    run(
        &rt,
        "authorize",
        packets(authorize(&s, 100, 1.0, 1.0, true)),
        async |p| handshake(&f, vec![p]).await,
    );
    rt.block_on(f.assert_intact());
}

#[test]
fn hostile_second_packets_get_an_error_and_a_close() {
    let rt = runtime();
    let f = rt.block_on(Fixture::new());
    let s = f.session("respond_numeric_prompt").clone();
    let first = Packet::Text(authorize(&s, 100, 1.0, 1.0, true).to_string());
    let valid = json!({"type": "sync_response", "data": {"receive_timestamp": 1.0, "transmit_timestamp": 1.25}});
    run(&rt, "sync_response", packets(valid), async |p| {
        handshake(&f, vec![first.clone(), p]).await
    });
    rt.block_on(f.assert_intact());
}
