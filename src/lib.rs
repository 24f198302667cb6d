//! Chorus: a server for interactive prompts, where every participant sees
//! everyone else's responses time-dilated.
//!
//! # Layout
//! * [`domain`] — pure: prompts, events, the event rules, bins, Fenwick
//!   trees, stats and search requests. No I/O.
//! * [`storage`] — the engines behind one interface: embedded SQLite (one
//!   writer thread with group commit) and PostgreSQL.
//! * [`pubsub`] — publishing accepted events and fanning them out to this
//!   process's viewers: in-process or through Redis.
//! * [`auth`] — user, prompt, admin and dev tokens.
//! * [`http`] — the JSON API: one file per resource, one error type.
//! * [`stream`] — the live WebSocket stream: handshake, clock, replay, pacing.
//! * [`metrics`] — the Prometheus metrics and their names.
//! * [`app`] — wiring: build the application, serve until shutdown.
//! * [`cli`] / [`config`] — the command line and the resolved configuration.
//! * [`commands`] — `check`, `rebuild` and `demo`.
//! * [`loadgen`] — the client side of `chorus loadgen`: scenarios, reports.

pub mod app;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod loadgen;
pub mod metrics;
pub mod pubsub;
pub mod storage;
pub mod stream;
pub mod telemetry;
