//! The connection loop over channels instead of a network: handshake
//! errors, the clock sync, a batch delivered, and each ending. The store is
//! the real SQLite engine, in memory.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::connection::{END_GRACE_SECONDS, TOKEN_EXPIRED, token_end, wall_end};
use super::{Incoming, Outgoing, StreamContext, StreamSettings, serve};
use crate::auth::{Auth, AuthSettings, UserKey};
use crate::domain::event::{EventKind, StoredEvent};
use crate::domain::prompt::Prompt;
use crate::domain::user::Shown;
use crate::pubsub::{Hub, LiveEvent};
use crate::storage::{StorageSettings, Store};

/// Seconds the test prompt lasts.
const DURATION: i64 = 300;

/// A server side of one stream, and the client's ends of its socket.
struct Client {
    to_server: UnboundedSender<Incoming>,
    from_server: UnboundedReceiver<Outgoing>,
    prompt_uid: String,
    jwt: String,
    hub: Hub,
    drain: watch::Sender<bool>,
}

async fn connect(max_streams: usize) -> Client {
    let store = Store::open("sqlite::memory:", &StorageSettings::default())
        .await
        .unwrap();
    let prompt = Prompt::Press {
        text: "hold".into(),
    };
    let record = store.create_prompt(prompt, DURATION).await.unwrap();
    let auth = Arc::new(
        Auth::new(AuthSettings {
            prompt_token_seconds: crate::auth::PROMPT_TOKEN_SECONDS,
            user_key: UserKey::Secret("u".into()),
            user_issuer: None,
            user_audience: None,
            user_leeway_seconds: 60,
            prompt_secret: "p".into(),
            admin_token: "a".into(),
        })
        .unwrap(),
    );
    let (drain, shutdown) = watch::channel(false);
    let hub = Hub::default();
    let settings = StreamSettings {
        max_streams,
        ..StreamSettings::default()
    };
    let ctx = StreamContext::new(store, hub.clone(), auth.clone(), settings, shutdown);
    let (to_server, incoming) = unbounded();
    let (sink, from_server) = unbounded();
    tokio::spawn(serve(sink, incoming, ctx));
    Client {
        to_server,
        from_server,
        jwt: auth.mint_prompt_token(&record.uid),
        prompt_uid: record.uid,
        hub,
        drain,
    }
}

impl Client {
    fn send(&self, kind: &str, data: Value) {
        let packet = json!({"type": kind, "data": data}).to_string();
        self.to_server
            .unbounded_send(Incoming::Text(packet))
            .unwrap();
    }

    fn authorize(&self, jwt: &str, window: f64) {
        let data = json!({"interactive_prompt_uid": self.prompt_uid, "jwt": jwt,
            "bandwidth": 100, "lookback": window, "lookahead": window, "replay": false});
        self.send("authorize", data);
    }

    async fn next(&mut self) -> Outgoing {
        tokio::time::timeout(Duration::from_secs(5), self.from_server.next())
            .await
            .expect("a frame within 5 s")
            .expect("the server sent a frame")
    }

    async fn packet(&mut self) -> Value {
        match self.next().await {
            Outgoing::Text(text) => serde_json::from_str(&text).unwrap(),
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    /// Authorizes and syncs the client's clock at prompt time `at`.
    async fn handshake(&mut self, at: f64, window: f64) {
        self.authorize(&self.jwt.clone(), window);
        assert_eq!(self.packet().await["type"], "sync_request");
        let sync = json!({"receive_timestamp": at, "transmit_timestamp": at});
        self.send("sync_response", sync);
        assert_eq!(self.packet().await["type"], "auth_response");
    }

    /// The error packet and close frame of a refusal.
    async fn refusal(&mut self) -> (Value, Outgoing) {
        let error = self.packet().await;
        assert_eq!(error["success"], false);
        (error["data"].clone(), self.next().await)
    }

    fn publish(&self, uid: &str, prompt_time: f64) {
        let stored = StoredEvent::new(
            uid.into(),
            "u1".into(),
            "ips_x".into(),
            self.prompt_uid.clone(),
            EventKind::Like,
            Shown::default(),
            prompt_time,
            1.0,
        );
        let event = Arc::new(LiveEvent::from_stored(&stored));
        self.hub.deliver(&self.prompt_uid, event);
    }
}

#[tokio::test]
async fn handshake_errors_are_sent_before_a_1008_close() {
    let mut c = connect(4).await;
    c.send("sync_response", json!({}));
    let (error, closed) = c.refusal().await;
    assert_eq!(
        (error["code"].as_u64(), error["type"].as_str()),
        (Some(422), Some("unprocessable_entity"))
    );
    assert_eq!(closed, Outgoing::Close(1008, "handshake refused"));

    let mut c = connect(4).await;
    c.authorize("not-a-token", 1.0);
    let (error, closed) = c.refusal().await;
    assert_eq!(error["code"], 403);
    assert_eq!(closed, Outgoing::Close(1008, "handshake refused"));

    let mut c = connect(4).await;
    c.authorize(&c.jwt.clone(), 11.0);
    assert_eq!(c.refusal().await.0["code"], 422, "lookback over 10 s");

    let mut c = connect(4).await;
    c.authorize(&c.jwt.clone(), 1.0);
    assert_eq!(c.packet().await["type"], "sync_request");
    c.send(
        "sync_response",
        json!({"receive_timestamp": 2.0, "transmit_timestamp": 1.0}),
    );
    assert_eq!(c.refusal().await.0["code"], 422, "time ran backwards");

    let mut c = connect(4).await;
    c.to_server.unbounded_send(Incoming::Closed).unwrap();
    assert_eq!(
        c.next().await,
        Outgoing::Close(1008, "handshake not completed")
    );
}

#[tokio::test]
async fn the_clock_sync_decides_which_published_events_are_near_live() {
    let mut c = connect(4).await;
    c.handshake(100.0, 1.0).await;
    // Within one second of the viewer's prompt time, and far behind it.
    c.publish("ipe_near", 100.5);
    c.publish("ipe_old", 50.0);
    let batch = c.packet().await;
    assert_eq!(batch["type"], "event_batch");
    let events = batch["data"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{batch}");
    assert_eq!(events[0]["uid"], "ipe_near");
    assert_eq!(events[0]["evtype"], "like");
    assert!(
        events[0].get("created_at").is_none(),
        "stream items carry no created_at"
    );
}

#[tokio::test]
async fn clock_answers_no_client_of_the_prompt_could_give_are_refused() {
    for at in [-1e15, -60.5, DURATION as f64 + 1.5, 1e15] {
        let mut c = connect(4).await;
        c.authorize(&c.jwt.clone(), 1.0);
        assert_eq!(c.packet().await["type"], "sync_request");
        c.send(
            "sync_response",
            json!({"receive_timestamp": at, "transmit_timestamp": at}),
        );
        let (error, closed) = c.refusal().await;
        assert_eq!(error["code"], 422, "{at}: {error}");
        assert_eq!(closed, Outgoing::Close(1008, "handshake refused"));
    }
}

#[test]
fn the_wall_clock_bounds_a_stream_from_the_earliest_sync() {
    let now = std::time::Instant::now();
    let end = DURATION as f64 + 1.0 + END_GRACE_SECONDS;
    let bound = wall_end(now, end).duration_since(now).as_secs_f64();
    assert!((bound - (end + 60.0 + 1.0)).abs() < 1e-6, "{bound}");
    let in_5s = crate::domain::clock::now() as u64 + 5;
    let left = token_end(now, in_5s).duration_since(now).as_secs_f64();
    assert!((5.0..=6.0).contains(&left), "{left}");
    assert_eq!(token_end(now, 0), now, "an expired token ends at once");
}

#[tokio::test]
async fn a_stream_ends_with_4401_when_its_prompt_token_expires() {
    let mut c = connect(4).await;
    // Expired 4 s ago: within the 5 s leeway for one more second.
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"sub": c.prompt_uid, "iss": "chorus", "aud": "chorus-interactive-prompt",
        "iat": now - 10, "exp": now - 4});
    let key = jsonwebtoken::EncodingKey::from_secret(b"p");
    c.jwt = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
    c.handshake(0.0, 1.0).await;
    loop {
        match c.next().await {
            Outgoing::Close(code, reason) => {
                assert_eq!((code, reason), (TOKEN_EXPIRED, "prompt token expired"));
                break;
            }
            Outgoing::Text(_) => continue,
        }
    }
}

#[tokio::test]
async fn draining_closes_with_1001_and_late_packets_with_1008() {
    let mut c = connect(4).await;
    c.handshake(0.0, 1.0).await;
    c.drain.send(true).unwrap();
    assert_eq!(
        c.next().await,
        Outgoing::Close(1001, "server shutting down")
    );

    let mut c = connect(4).await;
    c.handshake(0.0, 1.0).await;
    c.send("authorize", json!({}));
    assert_eq!(
        c.next().await,
        Outgoing::Close(1008, "no packets are expected after the handshake")
    );
}

#[tokio::test]
async fn a_full_server_refuses_with_too_many_streams_once_authorized() {
    let mut c = connect(0).await;
    c.authorize(&c.jwt.clone(), 1.0);
    let (error, closed) = c.refusal().await;
    assert_eq!(
        (error["code"].as_u64(), error["type"].as_str()),
        (Some(503), Some("too_many_streams"))
    );
    assert_eq!(closed, Outgoing::Close(1013, "too many streams"));
}
