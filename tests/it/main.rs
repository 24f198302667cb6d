//! The integration suite: one binary, one module per feature. Every test
//! starts the real `chorus` binary on a random port against a fresh
//! database and talks HTTP (and WebSocket) to it.

mod private_redis;
mod raw_db;
mod stream_support;
mod support;

mod api_basics;
mod backup;
mod bad_input;
mod check_rebuild;
mod concurrency;
mod config;
mod console;
mod demo;
mod embed_page;
mod erasure;
mod events_table;
mod export;
mod fuzz;
mod hostile;
mod http_limits;
mod jwks;
mod listing;
mod loadgen;
mod long_timeline;
mod model;
mod named;
mod openapi;
mod operations;
mod pg_outage;
mod pictures;
mod prompt_token;
mod query_plans;
mod rate_limits;
mod redis_outage;
mod rules;
mod scale_out;
mod search;
mod stats_cache;
mod storage_faults;
mod stream;
mod stream_guard;
mod user_tokens;
mod who_is_here;
