//! The subcommands besides `serve`.

pub mod backup;
pub mod check;
pub mod demo;
pub mod explain;
