//! The aggregates an accepted event updates (docs/rules.md, "Fenwick
//! trees" and "Counts"): the Fenwick tree categories, each event's
//! [`Effects`], and the brute-force recomputation of a prompt's rows from
//! its events that `chorus check` holds the stored rows against (docs/rules.md,
//! "The invariant").

use std::collections::{BTreeMap, BTreeSet};

use super::bins::Bins;
use super::event::EventKind;
use super::fenwick;
use super::prompt::Prompt;
use super::session::SessionState;

/// A Fenwick tree category (docs/rules.md, "Fenwick trees"): name plus optional value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Users present (joins minus leaves).
    Users,
    /// Likes so far.
    Likes,
    /// Sessions whose current numeric answer is this rating.
    NumericActive(i64),
    /// Presses started so far.
    Press,
    /// Sessions pressing now.
    PressActive,
    /// Sessions whose current colour answer is this index.
    ColorActive(i64),
    /// Sessions whose current word answer is this index.
    WordActive(i64),
}

impl Category {
    /// The stored `category` column.
    pub fn name(self) -> &'static str {
        match self {
            Category::Users => "users",
            Category::Likes => "likes",
            Category::NumericActive(_) => "numeric_active",
            Category::Press => "press",
            Category::PressActive => "press_active",
            Category::ColorActive(_) => "color_active",
            Category::WordActive(_) => "word_active",
        }
    }

    /// The stored `category_value` column.
    pub fn value(self) -> Option<i64> {
        match self {
            Category::NumericActive(v) | Category::ColorActive(v) | Category::WordActive(v) => {
                Some(v)
            }
            _ => None,
        }
    }

    /// Parses stored columns back into a category.
    pub fn from_columns(name: &str, value: Option<i64>) -> Option<Self> {
        Some(match (name, value) {
            ("users", None) => Category::Users,
            ("likes", None) => Category::Likes,
            ("press", None) => Category::Press,
            ("press_active", None) => Category::PressActive,
            ("numeric_active", Some(v)) => Category::NumericActive(v),
            ("color_active", Some(v)) => Category::ColorActive(v),
            ("word_active", Some(v)) => Category::WordActive(v),
            _ => return None,
        })
    }

    /// Every category a prompt keeps trees for, in display order.
    pub fn all_for(prompt: &Prompt) -> Vec<Category> {
        let mut out = vec![Category::Users, Category::Likes];
        match prompt {
            Prompt::Numeric { min, max, .. } => {
                out.extend((*min..=*max).map(Category::NumericActive))
            }
            Prompt::Press { .. } => out.extend([Category::Press, Category::PressActive]),
            Prompt::Color { colors, .. } => {
                out.extend((0..colors.len() as i64).map(Category::ColorActive))
            }
            Prompt::Word { options, .. } => {
                out.extend((0..options.len() as i64).map(Category::WordActive))
            }
        }
        out
    }
}

/// What an accepted event changes in the aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Effects {
    /// The bin every Fenwick delta applies at.
    pub bin: u32,
    /// Number of bins of the prompt.
    pub bins: u32,
    /// The one-second count bucket, `floor(t)`.
    pub bucket: i64,
    /// Fenwick deltas at `bin`.
    pub deltas: Vec<(Category, i64)>,
}

/// The aggregate updates of an accepted event (the table of docs/rules.md,
/// "Fenwick trees"; its count row: "Counts").
pub fn effects(duration_seconds: i64, state: &SessionState, kind: EventKind, t: f64) -> Effects {
    let bins = Bins::new(duration_seconds);
    let mut deltas = Vec::with_capacity(2);
    let mut replace = |new: Category, old: Option<Category>| {
        deltas.push((new, 1));
        if let Some(old) = old {
            deltas.push((old, -1));
        }
    };
    match kind {
        EventKind::Join => replace(Category::Users, None),
        EventKind::Like => replace(Category::Likes, None),
        EventKind::Leave => {
            deltas.push((Category::Users, -1));
            if state.pressing {
                deltas.push((Category::PressActive, -1));
            }
        }
        EventKind::Numeric { rating } => replace(
            Category::NumericActive(rating),
            state.rating.map(Category::NumericActive),
        ),
        EventKind::Color { index } => replace(
            Category::ColorActive(index),
            state.color.map(Category::ColorActive),
        ),
        EventKind::Word { index } => replace(
            Category::WordActive(index),
            state.word.map(Category::WordActive),
        ),
        EventKind::PressStart => {
            deltas.push((Category::Press, 1));
            deltas.push((Category::PressActive, 1));
        }
        EventKind::PressEnd => deltas.push((Category::PressActive, -1)),
    }
    Effects {
        bin: bins.bin_of(t),
        bins: bins.count(),
        bucket: t.floor() as i64,
        deltas,
    }
}

/// The aggregate updates of one session's events, given in acceptance
/// order: everything the session contributed to its prompt's rows, which
/// is what erasing the session takes back. A session's effects depend on
/// its own events only (an answer replaces the same session's earlier
/// one; a leave takes back the same session's press), so removing whole
/// sessions leaves every other session's contribution as it was.
pub fn session_effects(
    duration_seconds: i64,
    events: impl IntoIterator<Item = (EventKind, f64)>,
) -> Vec<Effects> {
    let mut state = SessionState::default();
    events
        .into_iter()
        .map(|(kind, t)| {
            let fx = effects(duration_seconds, &state, kind, t);
            state.apply(kind, t);
            fx
        })
        .collect()
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
        let keys: BTreeSet<_> = self.fenwick.keys().chain(expected.fenwick.keys()).collect();
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
        let buckets: BTreeSet<_> = self.counts.keys().chain(expected.counts.keys()).collect();
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
    events: &[(i64, EventKind, f64)],
) -> PromptAggregates {
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
