//! The pure core of Chorus: prompts, events, the event rules and the
//! aggregates they drive. Nothing here performs I/O or knows about HTTP,
//! SQL or sockets; every storage engine calls into these functions so the
//! rules live in exactly one place.

pub mod aggregates;
pub mod bins;
pub mod clock;
pub mod event;
pub mod fenwick;
pub mod named;
pub mod presence;
pub mod prompt;
pub mod rules;
pub mod search;
pub mod session;
pub mod stats;
pub mod uid;
pub mod user;
