//! The subcommands besides `serve`.

pub mod check;
pub mod demo;
