//! A minimal stream client: prints the other participants' events at their
//! prompt times.
//!
//! ```sh
//! cargo run --example viewer -- ws://127.0.0.1:8080 <prompt uid> <prompt jwt>
//! ```

use std::time::Instant;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, prompt_uid, jwt] = args.as_slice() else {
        eprintln!("usage: viewer WS_BASE PROMPT_UID PROMPT_JWT");
        std::process::exit(2);
    };
    let url = format!("{base}/api/2/interactive_prompts/live");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;

    // 1. Authorize: up to 20 events a second, a 1.5 s window each side.
    let authorize = json!({"type": "authorize", "data": {
        "interactive_prompt_uid": prompt_uid, "jwt": jwt,
        "bandwidth": 20, "lookback": 1.5, "lookahead": 1.5, "replay": true}});
    ws.send(Message::Text(authorize.to_string().into())).await?;

    // Our prompt clock starts now, at 0.
    let started = Instant::now();
    let prompt_time = || started.elapsed().as_secs_f64();
    let mut pending: Vec<Value> = Vec::new();

    let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(msg) = msg else { break };
                let Message::Text(text) = msg? else { continue };
                let packet: Value = serde_json::from_str(&text)?;
                match packet["type"].as_str() {
                    // 2–3. Answer the clock sync with our prompt times.
                    Some("sync_request") => {
                        let now = prompt_time();
                        let reply = json!({"type": "sync_response",
                            "data": {"receive_timestamp": now, "transmit_timestamp": prompt_time()}});
                        ws.send(Message::Text(reply.to_string().into())).await?;
                    }
                    Some("auth_response") => println!("authorized; watching"),
                    // Events arrive up to `lookahead` early: hold them until due.
                    Some("event_batch") => pending.extend(packet["data"]["events"].as_array().cloned().unwrap_or_default()),
                    Some("latency_detection") => {}
                    _ => eprintln!("server: {packet}"),
                }
            }
            _ = tick.tick() => {
                let now = prompt_time();
                pending.retain(|e| {
                    let due = e["prompt_time"].as_f64().unwrap_or(0.0) <= now;
                    if due {
                        println!("{:7.2}s  {:<28} {}", e["prompt_time"], e["evtype"].as_str().unwrap_or(""), e["data"]);
                    }
                    !due
                });
            }
        }
    }
    println!("stream closed");
    Ok(())
}
