//! What the writer lends each job besides the connection: the group's
//! aggregate deltas and the caches only the writer may change
//! ([`super::writer`] runs the jobs, [`super::writes`] and
//! [`super::erase`] are jobs).

use super::cache::{Hot, WriterCache};
use crate::storage::aggregates::PendingAggregates;

/// What a job may use besides the connection.
pub struct JobCtx<'a> {
    /// Aggregate deltas; add them only once every statement succeeded.
    pub agg: &'a mut PendingAggregates,
    /// The writer's private cache.
    pub cache: &'a mut WriterCache,
    /// The cache shared with readers.
    pub hot: &'a Hot,
    /// How many groups have committed before this job's: rows read now
    /// hold their writes and no later group's (see [`Hot::load_trees`]).
    pub committed: u64,
    /// Set by a job that rewrote aggregates wholesale: every cache is
    /// dropped after the group.
    pub invalidate: bool,
}
