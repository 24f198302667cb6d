//! What the SQLite engine keeps in memory, valid because its writer is the
//! only connection that writes (one server process per SQLite file).
//!
//! * [`WriterCache`] — private to the writer thread: sessions with their
//!   rule state and users (row id, display name, picture), so checking an event
//!   costs no query and a returning user's session costs one insert; and
//!   the Fenwick rows' ids ([`FenwickRowIds`]).
//! * [`Hot`] — shared with readers: prompts by uid, and the dense Fenwick
//!   arrays of prompts whose stats are being read, so a stats request
//!   costs a few additions instead of a pool hop and two queries. Each
//!   committed group's deltas are applied once the group is durable and
//!   before anyone is answered ([`super::durability`]), so a client that
//!   saw its `201` sees its event, and nothing a client was refused shows.
//!
//! The maps hash with FxHash: they are looked up a few times per event, by
//! keys the server made (uids, row ids) or the identity provider did (a
//! user's `sub`); a uid a client sends is looked up, never inserted.
//!
//! Every cache is dropped whenever the writer cannot vouch for it: a group
//! that failed to commit, a rebuild, or another connection having written
//! the file (`PRAGMA data_version`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use rustc_hash::FxHashMap as HashMap;

use super::flush::FenwickRowIds;
use crate::domain::aggregates::PromptAggregates;
use crate::domain::bins::Bins;
use crate::domain::prompt::PromptRecord;
use crate::domain::session::Session;
use crate::domain::stats::FenwickArrays;
use crate::domain::stats::{Stats, Timeline};
use crate::storage::aggregates::PendingAggregates;

/// Most sessions the writer remembers (then it starts over).
const MAX_SESSIONS: usize = 250_000;
/// Most prompts whose Fenwick arrays are kept.
const MAX_HOT_TREES: usize = 64;
/// Largest prompt (in bins) whose arrays are kept: every prompt (86,400 s
/// make 131,071 bins), so that no timeline is rebuilt from the database on
/// every request.
const MAX_HOT_BINS: u32 = 1 << 17;
/// Most integers kept over all prompts' arrays (64 MiB); past it the kept
/// arrays are dropped and read again as asked for.
const MAX_HOT_VALUES: usize = 1 << 23;

/// A user's row as stored.
#[derive(Debug, Clone)]
pub struct CachedUser {
    /// Row id.
    pub id: i64,
    /// `given_name`.
    pub name: Option<String>,
    /// `picture`.
    pub picture: Option<String>,
}

/// The writer's private memory.
#[derive(Debug, Default)]
pub struct WriterCache {
    /// Session uid → session.
    pub sessions: HashMap<String, Session>,
    /// User sub → user row.
    pub users: HashMap<String, CachedUser>,
    /// The ids of the Fenwick rows written.
    pub fenwick_ids: FenwickRowIds,
}

impl WriterCache {
    /// Remembers a session and its user's row (forgetting everything
    /// first when full).
    pub fn remember(&mut self, uid: &str, session: Session, user: CachedUser) {
        if self.sessions.len() >= MAX_SESSIONS {
            self.clear();
        }
        self.users.insert(session.owner.user_sub.clone(), user);
        self.sessions.insert(uid.to_owned(), session);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.sessions.clear();
        self.users.clear();
        self.fenwick_ids.clear();
    }
}

/// A prompt's kept arrays.
#[derive(Debug)]
struct Trees {
    /// Groups committed when its rows were read.
    read_at: u64,
    /// Changes whenever the arrays do, never reused ([`Hot::version`]).
    version: u64,
    arrays: FenwickArrays,
}

/// Memory shared by the writer and the readers.
#[derive(Debug, Default)]
pub struct Hot {
    /// Shared, so that the writer's lookup per event copies no strings.
    prompts: RwLock<HashMap<String, Arc<PromptRecord>>>,
    /// Prompt id → its arrays.
    trees: RwLock<HashMap<i64, Trees>>,
    /// The last version given to arrays.
    versions: AtomicU64,
}

impl Hot {
    /// A prompt by uid, if remembered.
    pub fn prompt(&self, uid: &str) -> Option<Arc<PromptRecord>> {
        self.prompts.read().expect("hot prompts").get(uid).cloned()
    }

    /// Remembers a prompt as the writer read or wrote it.
    pub fn remember_prompt(&self, prompt: Arc<PromptRecord>) {
        let mut prompts = self.prompts.write().expect("hot prompts");
        if prompts.len() >= 100_000 {
            prompts.clear();
        }
        prompts.insert(prompt.uid.clone(), prompt);
    }

    /// Whether a prompt's arrays are kept.
    pub fn has_trees(&self, prompt_id: i64) -> bool {
        self.trees
            .read()
            .expect("hot trees")
            .contains_key(&prompt_id)
    }

    /// Keeps a prompt's arrays, read by the writer from its committed
    /// rows when `committed` groups had committed: the deltas of those
    /// groups are never applied to them (they hold them already).
    pub fn load_trees(&self, prompt: &PromptRecord, stored: &PromptAggregates, committed: u64) {
        let bins = Bins::new(prompt.duration_seconds);
        if bins.count() > MAX_HOT_BINS {
            return;
        }
        let arrays = FenwickArrays::from_rows(stored, bins);
        let mut trees = self.trees.write().expect("hot trees");
        let held: usize = trees.values().map(|t| t.arrays.values()).sum();
        if trees.len() >= MAX_HOT_TREES || held + arrays.values() > MAX_HOT_VALUES {
            trees.clear();
        }
        let version = self.next_version();
        let kept = Trees {
            read_at: committed,
            version,
            arrays,
        };
        trees.insert(prompt.id, kept);
    }

    fn next_version(&self) -> u64 {
        self.versions.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Applies the deltas of the `seq`th committed group, now durable, to
    /// the kept arrays read before it committed.
    pub fn apply(&self, agg: &PendingAggregates, seq: u64) {
        let mut trees = self.trees.write().expect("hot trees");
        if trees.is_empty() {
            return;
        }
        for (&(prompt_id, category, idx), &delta) in &agg.fenwick {
            let read_before = trees.get_mut(&prompt_id).filter(|t| t.read_at < seq);
            if let Some(t) = read_before {
                t.arrays.add(category, idx, delta);
                t.version = self.next_version();
            }
        }
    }

    /// Stats of `bin` from the kept arrays, if the prompt's are kept.
    pub fn stats(&self, prompt: &PromptRecord, bin: u32) -> Option<Stats> {
        let trees = self.trees.read().expect("hot trees");
        Some(trees.get(&prompt.id)?.arrays.stats(&prompt.prompt, bin))
    }

    /// The version of a prompt's kept arrays, if they are kept: it changes
    /// whenever they do (a group applied, a read from the database) and is
    /// never given to other arrays, so an equal version means equal
    /// figures.
    pub fn version(&self, prompt_id: i64) -> Option<u64> {
        let trees = self.trees.read().expect("hot trees");
        Some(trees.get(&prompt_id)?.version)
    }

    /// The timeline from the kept arrays, with their version, if the
    /// prompt's are kept.
    pub fn timeline(&self, prompt: &PromptRecord) -> Option<(Timeline, u64)> {
        let trees = self.trees.read().expect("hot trees");
        let t = trees.get(&prompt.id)?;
        Some((t.arrays.timeline(&prompt.prompt), t.version))
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.prompts.write().expect("hot prompts").clear();
        self.trees.write().expect("hot trees").clear();
    }
}
