//! Aggregate bookkeeping shared by the engines: pending row deltas of a
//! write batch, and the brute-force recomputation behind `chorus check`.

use std::collections::{BTreeMap, HashMap};

use crate::domain::bins::Bins;
use crate::domain::fenwick;
use crate::domain::prompt::Prompt;
use crate::domain::rules::{Category, Effects};
use crate::domain::stats::{Stats, Timeline};

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

/// The aggregate rows of one prompt, as stored or as recomputed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PromptAggregates {
    /// Non-zero Fenwick rows: `(category, idx) → val`.
    pub fenwick: BTreeMap<(Category, u32), i64>,
    /// Non-zero count rows: `bucket → total`.
    pub counts: BTreeMap<i64, i64>,
}

impl PromptAggregates {
    /// Recomputes a prompt's rows from the effects of all its events.
    pub fn recompute<'a>(effects: impl IntoIterator<Item = &'a Effects>) -> Self {
        let mut points: BTreeMap<Category, (u32, Vec<i64>)> = BTreeMap::new();
        let mut counts = BTreeMap::new();
        for fx in effects {
            for &(category, delta) in &fx.deltas {
                let (_, p) = points
                    .entry(category)
                    .or_insert_with(|| (fx.bins, vec![0; fx.bins as usize]));
                p[fx.bin as usize] += delta;
            }
            *counts.entry(fx.bucket).or_insert(0) += 1;
        }
        let mut fenwick_rows = BTreeMap::new();
        for (category, (_, p)) in points {
            for (idx, val) in fenwick::from_points(&p).into_iter().enumerate() {
                if val != 0 {
                    fenwick_rows.insert((category, idx as u32), val);
                }
            }
        }
        Self {
            fenwick: fenwick_rows,
            counts,
        }
    }

    /// Human-readable differences between stored rows (`self`) and
    /// expected rows; empty when they agree.
    pub fn differences(&self, expected: &PromptAggregates) -> Vec<String> {
        let mut out = Vec::new();
        let keys: std::collections::BTreeSet<_> =
            self.fenwick.keys().chain(expected.fenwick.keys()).collect();
        for k in keys {
            let (a, b) = (
                self.fenwick.get(k).copied().unwrap_or(0),
                expected.fenwick.get(k).copied().unwrap_or(0),
            );
            if a != b {
                out.push(format!(
                    "fenwick {}[{:?}] idx {}: stored {a}, expected {b}",
                    k.0.name(),
                    k.0.value(),
                    k.1
                ));
            }
        }
        let buckets: std::collections::BTreeSet<_> =
            self.counts.keys().chain(expected.counts.keys()).collect();
        for b in buckets {
            let (x, y) = (
                self.counts.get(b).copied().unwrap_or(0),
                expected.counts.get(b).copied().unwrap_or(0),
            );
            if x != y {
                out.push(format!("count bucket {b}: stored {x}, expected {y}"));
            }
        }
        out
    }
}

/// Recomputes a prompt's rows from its events, given as `(session id,
/// kind, prompt time)` grouped by session in acceptance order.
pub fn expected_aggregates(
    duration_seconds: i64,
    events: &[(i64, crate::domain::event::EventKind, f64)],
) -> PromptAggregates {
    use crate::domain::rules::{SessionState, effects};
    let mut all = Vec::with_capacity(events.len());
    let mut current: Option<(i64, SessionState)> = None;
    for &(session, kind, t) in events {
        let state = match &mut current {
            Some((id, state)) if *id == session => state,
            _ => &mut current.insert((session, SessionState::default())).1,
        };
        all.push(effects(duration_seconds, state, kind, t));
        state.apply(kind, t);
    }
    PromptAggregates::recompute(all.iter())
}

/// A prompt's Fenwick trees as dense arrays, one per category: what stats
/// and timelines are computed from.
#[derive(Debug, Clone)]
pub struct FenwickArrays {
    bins: Bins,
    arrays: HashMap<Category, Vec<i64>>,
}

impl FenwickArrays {
    /// The arrays of `stored` rows (rows past the last bin are ignored).
    pub fn from_rows(stored: &PromptAggregates, bins: Bins) -> Self {
        let mut arrays = FenwickArrays {
            bins,
            arrays: HashMap::new(),
        };
        for (&(category, idx), &val) in &stored.fenwick {
            arrays.add(category, idx, val);
        }
        arrays
    }

    /// Adds `delta` at array position `idx` of `category`'s tree.
    pub fn add(&mut self, category: Category, idx: u32, delta: i64) {
        let n = self.bins.count();
        if idx < n {
            self.arrays
                .entry(category)
                .or_insert_with(|| vec![0; n as usize])[idx as usize] += delta;
        }
    }

    /// Stats through `bin`.
    pub fn stats(&self, prompt: &Prompt, bin: u32) -> Stats {
        Stats::assemble(prompt, self.bins, bin, |c| {
            self.arrays
                .get(&c)
                .map_or(0, |a| fenwick::prefix_sum(a, bin))
        })
    }

    /// Every bin's stats.
    pub fn timeline(&self, prompt: &Prompt) -> Timeline {
        let n = self.bins.count() as usize;
        Timeline::assemble(prompt, self.bins, |c| {
            self.arrays
                .get(&c)
                .map_or_else(|| vec![0; n], |a| fenwick::all_prefix_sums(a))
        })
    }
}
