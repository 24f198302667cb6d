//! The subcommands besides `serve`.

pub mod check;
