//! The parameters of a pipelined statement, shared by the batch's writers.

use tokio_postgres::types::ToSql;

/// A statement's parameters, borrowed from the columns that hold them.
pub type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;
