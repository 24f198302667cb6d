//! Who is here, shared by the engines (docs/api.md, "Who is here"): a
//! step's sample drawn from the presence rows, and each process's cache of
//! samples.
//!
//! A sample starts at a random rank `r` and takes, from every node on the
//! step's path ([`crate::domain::presence::path`]), the [`PER_NODE`]
//! lowest ranks at or above `r` (more, [`PER_NODE_RETRY`], when that
//! falls short); merged, they give the sessions in the
//! room whose ranks follow `r`, and since ranks are drawn at random when
//! rows are written, a random sample of them, read in a bounded number of
//! rows whatever the prompt's number of sessions. When that run holds
//! fewer than [`KEPT`] people, the ranks below `r` are read too (the run
//! wraps around). People without a picture are skipped; each person
//! counts once, however many of their sessions are in the room.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::migration4::RANKS;
use super::{StorageError, Store};
use crate::domain::presence::{self, DEPTH};
use crate::domain::prompt::PromptRecord;
use crate::domain::user::ANONYMOUS;

/// Rows read per node and direction at first: when everyone in the room
/// has a picture and one session, the [`KEPT`] lowest ranks of the union
/// are among each node's [`KEPT`] lowest, so one more is plenty. Reading
/// no more than that keeps a sample's cost flat as a prompt's sessions
/// grow (BENCHMARKS.md, "Who is here").
pub const PER_NODE: i64 = 12;
/// Rows per node on the second try, when people without pictures or with
/// several sessions left the first one short of [`KEPT`].
pub const PER_NODE_RETRY: i64 = 64;
/// People kept per sample: the largest `limit` (10) and the caller, who is
/// left out of their own answer.
pub const KEPT: usize = 11;
/// How long a step's sample is served before it is drawn again.
pub const TTL: Duration = Duration::from_secs(60);
/// Most samples a process keeps (then it starts over).
const MAX_SAMPLES: usize = 50_000;

/// A presence row as sampled: its rank and its session's user.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledRow {
    /// The row's random rank.
    pub rank: i64,
    /// The user's `sub`.
    pub sub: String,
    /// The user's picture URL.
    pub picture: Option<String>,
    /// The user's display name.
    pub name: Option<String>,
}

/// A person in the room, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// The user's `sub` (never shown: it keeps the caller out).
    pub sub: String,
    /// The picture URL.
    pub url: String,
    /// The display name (`Anonymous` when none).
    pub name: String,
}

/// The first [`KEPT`] distinct people with a picture among `rows`, in the
/// order of their ranks counted from `start` (wrapping around).
pub fn pick(mut rows: Vec<SampledRow>, start: i64) -> Vec<Face> {
    rows.sort_by_key(|r| (r.rank - start).rem_euclid(RANKS));
    let mut seen = HashSet::new();
    let mut faces = Vec::new();
    for row in rows {
        let Some(url) = row.picture else { continue };
        if faces.len() == KEPT {
            break;
        }
        if seen.insert(row.sub.clone()) {
            faces.push(Face {
                sub: row.sub,
                url,
                name: row.name.unwrap_or_else(|| ANONYMOUS.to_owned()),
            });
        }
    }
    faces
}

impl Store {
    /// The presence rows of `prompt` under `nodes` with the lowest ranks in
    /// `[from, to)`, at most `per_node` of each node, with their users.
    pub async fn presence_sample(
        &self,
        prompt: &PromptRecord,
        nodes: &[i64],
        range: (i64, i64),
        per_node: i64,
    ) -> Result<Vec<SampledRow>, StorageError> {
        match self {
            Store::Sqlite(s) => s.presence_sample(prompt.id, nodes, range, per_node).await,
            Store::Postgres(s) => s.presence_sample(prompt.id, nodes, range, per_node).await,
        }
    }

    /// A fresh random sample of up to [`KEPT`] people in the room at
    /// `step` of `prompt`.
    pub async fn draw_faces(
        &self,
        prompt: &PromptRecord,
        step: i64,
    ) -> Result<Vec<Face>, StorageError> {
        use rand::Rng;
        let start = rand::rng().random_range(0..RANKS);
        let nodes: [i64; DEPTH] = presence::path(step);
        let (faces, read) = self.draw_with(prompt, &nodes, start, PER_NODE).await?;
        // Fewer rows than one node's share: no node was cut short, so
        // nobody was missed.
        if faces.len() >= KEPT || read < PER_NODE as usize {
            return Ok(faces);
        }
        Ok(self
            .draw_with(prompt, &nodes, start, PER_NODE_RETRY)
            .await?
            .0)
    }

    /// The sample from ranks `start` on (wrapping around when short),
    /// reading at most `per_node` rows of each node and direction; and how
    /// many rows were read.
    async fn draw_with(
        &self,
        prompt: &PromptRecord,
        nodes: &[i64],
        start: i64,
        per_node: i64,
    ) -> Result<(Vec<Face>, usize), StorageError> {
        let mut rows = self
            .presence_sample(prompt, nodes, (start, RANKS), per_node)
            .await?;
        if pick(rows.clone(), start).len() < KEPT && start > 0 {
            let below = self
                .presence_sample(prompt, nodes, (0, start), per_node)
                .await?;
            rows.extend(below);
        }
        let read = rows.len();
        Ok((pick(rows, start), read))
    }
}

/// A kept sample: when it was drawn, and who.
type Kept = (Instant, Arc<Vec<Face>>);

/// Each process's samples by `(prompt id, step)`: everyone asking about
/// the same step within [`TTL`] gets the same sample.
#[derive(Debug, Default)]
pub struct FacesCache {
    samples: Mutex<HashMap<(i64, i64), Kept>>,
}

impl FacesCache {
    /// The sample of `step` of `prompt`: the kept one, or a new one drawn
    /// from `store` (if two requests draw at once, both answer with the
    /// one kept first).
    pub async fn faces(
        &self,
        store: &Store,
        prompt: &PromptRecord,
        step: i64,
    ) -> Result<Arc<Vec<Face>>, StorageError> {
        let key = (prompt.id, step);
        if let Some(kept) = self.kept(key) {
            return Ok(kept);
        }
        let drawn = Arc::new(store.draw_faces(prompt, step).await?);
        let mut samples = self.samples.lock().expect("faces cache");
        match samples.get(&key) {
            Some((at, kept)) if at.elapsed() < TTL => return Ok(kept.clone()),
            _ => {}
        }
        if samples.len() >= MAX_SAMPLES {
            samples.clear();
        }
        samples.insert(key, (Instant::now(), drawn.clone()));
        Ok(drawn)
    }

    fn kept(&self, key: (i64, i64)) -> Option<Arc<Vec<Face>>> {
        let samples = self.samples.lock().expect("faces cache");
        let (at, kept) = samples.get(&key)?;
        (at.elapsed() < TTL).then(|| kept.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rank: i64, sub: &str, picture: bool) -> SampledRow {
        SampledRow {
            rank,
            sub: sub.into(),
            picture: picture.then(|| format!("https://e.com/{sub}.png")),
            name: None,
        }
    }

    #[test]
    fn picks_distinct_people_with_pictures_in_rank_order_from_the_start() {
        let rows = vec![
            row(5, "a", true),
            row(50, "b", true),
            row(60, "c", false),
            row(70, "b", true),
            row(RANKS - 1, "d", true),
        ];
        let subs = |faces: Vec<Face>| faces.into_iter().map(|f| f.sub).collect::<Vec<_>>();
        assert_eq!(subs(pick(rows.clone(), 40)), ["b", "d", "a"]);
        assert_eq!(subs(pick(rows.clone(), 0)), ["a", "b", "d"]);
        let faces = pick(rows, 6);
        assert_eq!(faces[0].name, ANONYMOUS);
        let many: Vec<SampledRow> = (0..40).map(|i| row(i, &format!("u{i}"), true)).collect();
        assert_eq!(pick(many, 0).len(), KEPT);
    }
}
