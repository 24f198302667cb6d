//! The subcommands besides `serve`.

pub mod check;
pub mod demo;
pub mod explain;
