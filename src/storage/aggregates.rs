//! Pending aggregate row deltas of a write batch, shared by the engines.
//! (What a row's delta is comes from the domain: [`crate::domain::aggregates`].)

use rustc_hash::FxHashMap as HashMap;

use crate::domain::aggregates::{Category, Effects, PromptAggregates};
use crate::domain::fenwick;
use crate::domain::presence::PresenceWrite;

/// Row deltas accumulated over a write batch, merged per row so that a
/// batch writes each touched row once. The maps hash with FxHash: an event
/// adds a delta per Fenwick position, and their keys are the server's own
/// small integers, not a client's choice.
#[derive(Debug, Default)]
pub struct PendingAggregates {
    /// `(prompt id, category, position) → delta`.
    pub fenwick: HashMap<(i64, Category, u32), i64>,
    /// `(prompt id, bucket) → delta`.
    pub counts: HashMap<(i64, i64), i64>,
    /// `prompt id → (sessions delta, events delta)` of the prompt's totals
    /// (what the admin listing shows).
    pub totals: HashMap<i64, (i64, i64)>,
    /// `session id → (prompt id, rows)`: the presence rows (who is here)
    /// of the sessions that joined or left, the last write of each.
    pub presence: HashMap<i64, (i64, PresenceWrite)>,
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
        self.totals.entry(prompt_id).or_default().1 += 1;
    }

    /// Takes back the effects of one stored event of prompt `prompt_id`
    /// (erasing it): the opposite of [`Self::add`].
    pub fn remove(&mut self, prompt_id: i64, effects: &Effects) {
        for &(category, delta) in &effects.deltas {
            for pos in fenwick::update_positions(effects.bin, effects.bins) {
                *self.fenwick.entry((prompt_id, category, pos)).or_default() -= delta;
            }
        }
        *self.counts.entry((prompt_id, effects.bucket)).or_default() -= 1;
        self.totals.entry(prompt_id).or_default().1 -= 1;
    }

    /// Counts `n` sessions started (negative: erased) of prompt `prompt_id`.
    pub fn add_sessions(&mut self, prompt_id: i64, n: i64) {
        self.totals.entry(prompt_id).or_default().0 += n;
    }

    /// Records the presence rows an accepted event of session
    /// `session_id` writes. A later write of the same session replaces an
    /// earlier one, keeping its `clear` (a `leave` after a `join` of the
    /// same batch).
    pub fn add_presence(&mut self, session_id: i64, prompt_id: i64, write: PresenceWrite) {
        use std::collections::hash_map::Entry;
        match self.presence.entry(session_id) {
            Entry::Occupied(mut e) => {
                let clear = e.get().1.clear || write.clear;
                *e.get_mut() = (prompt_id, PresenceWrite { clear, ..write });
            }
            Entry::Vacant(e) => {
                e.insert((prompt_id, write));
            }
        }
    }

    /// Pending presence writes `(session id, prompt id, write)`, in
    /// session order.
    pub fn presence_writes(&self) -> Vec<(i64, i64, &PresenceWrite)> {
        let mut rows: Vec<_> = self
            .presence
            .iter()
            .map(|(&session, (prompt, write))| (session, *prompt, write))
            .collect();
        rows.sort_unstable_by_key(|&(session, _, _)| session);
        rows
    }

    /// Merges another batch's pending deltas into this one.
    pub fn merge(&mut self, from: PendingAggregates) {
        for (k, d) in from.fenwick {
            *self.fenwick.entry(k).or_default() += d;
        }
        for (k, d) in from.counts {
            *self.counts.entry(k).or_default() += d;
        }
        for (k, (s, e)) in from.totals {
            let t = self.totals.entry(k).or_default();
            t.0 += s;
            t.1 += e;
        }
        for (session, (prompt, write)) in from.presence {
            self.add_presence(session, prompt, write);
        }
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
            totals: HashMap::default(),
            presence: HashMap::default(),
        }
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.fenwick.is_empty()
            && self.counts.is_empty()
            && self.totals.is_empty()
            && self.presence.is_empty()
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

    /// Pending count rows with a non-zero delta, in a stable order.
    pub fn count_rows(&self) -> Vec<(i64, i64, i64)> {
        let mut rows: Vec<_> = self
            .counts
            .iter()
            .filter(|(_, d)| **d != 0)
            .map(|(&(p, b), &d)| (p, b, d))
            .collect();
        rows.sort_unstable();
        rows
    }

    /// Pending totals `(prompt id, sessions, events)` that change
    /// something, in prompt order (taken after the Fenwick and count rows,
    /// in the same order by every writer).
    pub fn total_rows(&self) -> Vec<(i64, i64, i64)> {
        let mut rows: Vec<_> = self
            .totals
            .iter()
            .filter(|(_, d)| **d != (0, 0))
            .map(|(&p, &(s, e))| (p, s, e))
            .collect();
        rows.sort_unstable();
        rows
    }
}
