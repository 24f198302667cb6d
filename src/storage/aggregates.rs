//! Pending aggregate row deltas of a write batch, shared by the engines.
//! (What a row's delta is comes from the domain: [`crate::domain::aggregates`].)

use std::collections::HashMap;

use crate::domain::aggregates::{Category, Effects, PromptAggregates};
use crate::domain::fenwick;

/// Row deltas accumulated over a write batch, merged per row so that a
/// batch writes each touched row once.
#[derive(Debug, Default)]
pub struct PendingAggregates {
    /// `(prompt id, category, position) → delta`.
    pub fenwick: HashMap<(i64, Category, u32), i64>,
    /// `(prompt id, bucket) → delta`.
    pub counts: HashMap<(i64, i64), i64>,
}

impl PendingAggregates {
    /// Adds the effects of one accepted event of prompt `prompt_id`.
    pub fn add(&mut self, prompt_id: i64, effects: &Effects) {
        for &(category, delta) in &effects.deltas {
            for pos in fenwick::update_positions(effects.bin, effects.bins) {
                *self.fenwick.entry((prompt_id, category, pos)).or_default() += delta;
            }
        }
        *self.counts.entry((prompt_id, effects.bucket)).or_default() += 1;
    }

    /// Pending rows that write a prompt's recomputed rows from scratch.
    pub fn from_rows(prompt_id: i64, rows: &PromptAggregates) -> Self {
        PendingAggregates {
            fenwick: rows
                .fenwick
                .iter()
                .map(|(&(c, i), &v)| ((prompt_id, c, i), v))
                .collect(),
            counts: rows
                .counts
                .iter()
                .map(|(&b, &t)| ((prompt_id, b), t))
                .collect(),
        }
    }

    /// Adds every delta of `other` (a job's, into its group's).
    pub fn merge(&mut self, other: PendingAggregates) {
        for (k, d) in other.fenwick {
            *self.fenwick.entry(k).or_default() += d;
        }
        for (k, d) in other.counts {
            *self.counts.entry(k).or_default() += d;
        }
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.fenwick.is_empty() && self.counts.is_empty()
    }

    /// Pending Fenwick rows with a non-zero delta, in a stable order (so
    /// concurrent writers on PostgreSQL lock rows in the same order).
    pub fn fenwick_rows(&self) -> Vec<(i64, Category, u32, i64)> {
        let mut rows: Vec<_> = self
            .fenwick
            .iter()
            .filter(|(_, d)| **d != 0)
            .map(|(&(p, c, i), &d)| (p, c, i, d))
            .collect();
        rows.sort_unstable_by_key(|&(p, c, i, _)| (p, c, i));
        rows
    }

    /// Pending count rows, in a stable order.
    pub fn count_rows(&self) -> Vec<(i64, i64, i64)> {
        let mut rows: Vec<_> = self.counts.iter().map(|(&(p, b), &d)| (p, b, d)).collect();
        rows.sort_unstable();
        rows
    }
}
