//! Chorus: a server for interactive prompts, where every participant sees
//! everyone else's responses time-dilated.
//!
//! # Layout
//! Bottom layer first; a module uses only its own layer and those below
//! (ARCHITECTURE.md, "Layers"; `tests/layering.rs` holds the code to it).
//! * [`domain`] — pure: prompts, events, users, the event rules, the
//!   aggregates (bins, Fenwick trees, stats), search requests, uids, the
//!   clock. No I/O.
//! * [`metrics`] / [`telemetry`] — the Prometheus metrics and their names;
//!   log set-up.
//! * [`storage`] — the engines behind one interface: embedded SQLite (one
//!   writer thread with group commit) and PostgreSQL (group commit per
//!   process). [`pubsub`] — publishing accepted events and fanning them
//!   out to this process's viewers: in-process or through Redis.
//!   [`auth`] — user, prompt, admin and dev tokens.
//! * [`ingest`] — the one path of an accepted event: stored, counted,
//!   published.
//! * [`stream`] — the live WebSocket stream, independent of HTTP:
//!   handshake, clock, viewer state machine, replay, pacing.
//!   [`http`] — the JSON API: one file per resource, one error type, and
//!   the stream's upgrade.
//! * [`config`] — the typed configuration: defaults, file, environment,
//!   flags. [`app`] — wiring: build the server from a `Config`, serve until
//!   shutdown.
//! * [`cli`] — the command line. [`commands`] — `check`, `rebuild`, `demo`.
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
