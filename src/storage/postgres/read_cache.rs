//! A per-process cache for stats and timelines on PostgreSQL
//! (docs/scaling.md, "Stats and timelines on PostgreSQL"): each prompt
//! read here keeps its record and its Fenwick arrays in memory, read again
//! from the database at most once per [`STALENESS_BOUND`] however many
//! requests ask, so a stats request costs no round trip.
//!
//! * **Other processes' events** are seen within the bound: a figure is
//!   computed from a read of the database that began less than
//!   [`STALENESS_BOUND`] before the answer. The same holds after a rebuild
//!   or an erasure by another process. A cached copy past half the bound
//!   is read again in the background while still served; one past the
//!   bound is never served: the request waits for the read (one read per
//!   prompt at a time, shared by every request waiting for it).
//! * **This process's own events** are seen at once: each batch that
//!   commits here adds its Fenwick deltas to the cached arrays before its
//!   requests are answered. A cached copy is patched only when it is
//!   exact: no batch of this process was committing the prompt's events
//!   while the copy was read (such a batch might or might not be in the
//!   read). A copy read while one was committing is served until that
//!   batch ends, then read again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::aggregates::Category;
use crate::domain::prompt::PromptRecord;
use crate::domain::stats::FenwickArrays;
use crate::storage::StorageError;
use crate::storage::aggregates::PendingAggregates;

/// Longest time between the start of the read a served figure comes from
/// and the answer.
pub const STALENESS_BOUND: Duration = Duration::from_secs(1);
/// Entries not used for this long are dropped.
const IDLE: Duration = Duration::from_secs(60);

/// The last version given to figures in this process.
static VERSIONS: AtomicU64 = AtomicU64::new(0);

fn next_version() -> u64 {
    VERSIONS.fetch_add(1, Ordering::Relaxed) + 1
}

/// A prompt's Fenwick arrays and their version.
#[derive(Clone)]
pub struct Figures {
    /// The arrays.
    pub arrays: FenwickArrays,
    /// Changes whenever the arrays do, and is never given to other
    /// arrays: equal versions mean equal figures.
    pub version: u64,
}

impl Figures {
    /// Figures from `arrays` just read; they keep the version of the
    /// copy held before, `held`, if they are the same.
    pub fn new(arrays: FenwickArrays, held: Option<&Figures>) -> Self {
        let version = match held {
            Some(held) if held.arrays == arrays => held.version,
            _ => next_version(),
        };
        Figures { arrays, version }
    }
}

/// A cached copy.
struct Cached<T> {
    value: Arc<T>,
    /// When the read it comes from began.
    read_at: Instant,
    /// Whether it holds exactly this process's batches ended so far.
    exact: bool,
}

/// A slot's state, under one lock.
struct State<T> {
    cached: Option<Cached<T>>,
    /// This process's batches on the prompt: begun, ended.
    begun: u64,
    ended: u64,
    touched: Instant,
}

/// One cached value, read again when stale, one read at a time.
pub struct Slot<T> {
    state: Mutex<State<T>>,
    loading: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
}

impl<T: Send + Sync + 'static> Slot<T> {
    fn new() -> Self {
        Slot {
            state: Mutex::new(State {
                cached: None,
                begun: 0,
                ended: 0,
                touched: Instant::now(),
            }),
            loading: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().expect("slot lock")
    }

    /// The cached value if it is younger than `age`, and its age.
    fn fresh(&self, age: Duration) -> Option<(Arc<T>, Duration)> {
        let mut state = self.lock();
        state.touched = Instant::now();
        let cached = state.cached.as_ref()?;
        let elapsed = cached.read_at.elapsed();
        (elapsed < age).then(|| (cached.value.clone(), elapsed))
    }

    /// The value, read by `load` unless a copy within the bound is held.
    pub async fn get<F, Fut>(self: &Arc<Self>, load: F) -> Result<Arc<T>, StorageError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StorageError>> + Send,
    {
        if let Some((value, age)) = self.fresh(STALENESS_BOUND) {
            if age >= STALENESS_BOUND / 2 && !self.refreshing.swap(true, Ordering::AcqRel) {
                let slot = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = slot.load(load).await {
                        tracing::warn!(error = %e, "refreshing cached stats failed");
                    }
                    slot.refreshing.store(false, Ordering::Release);
                });
            }
            return Ok(value);
        }
        self.load(load).await
    }

    /// Reads the value, unless someone else read it while this waited for
    /// its turn.
    async fn load<F, Fut>(&self, load: F) -> Result<Arc<T>, StorageError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StorageError>>,
    {
        let _turn = self.loading.lock().await;
        if let Some((value, _)) = self.fresh(STALENESS_BOUND / 2) {
            return Ok(value);
        }
        let (read_at, begun, ended) = {
            let state = self.lock();
            (Instant::now(), state.begun, state.ended)
        };
        let value = Arc::new(load().await?);
        let mut state = self.lock();
        // A batch that ended during the read may be missing from it: the
        // copy cannot be served to the requests that batch answered.
        if state.ended == ended {
            state.cached = Some(Cached {
                value: value.clone(),
                read_at,
                exact: begun == ended && state.begun == begun,
            });
        }
        Ok(value)
    }

    /// The copy held, however old.
    pub fn held(&self) -> Option<Arc<T>> {
        Some(self.lock().cached.as_ref()?.value.clone())
    }

    /// Whether it was used within `idle`, or may still be.
    fn in_use(&self, idle: Duration) -> bool {
        let state = self.lock();
        state.begun != state.ended || state.touched.elapsed() < idle
    }
}

impl Slot<Figures> {
    /// A batch of this process writing the prompt's events is about to
    /// commit.
    pub fn begin(&self) {
        let mut state = self.lock();
        state.begun += 1;
        state.touched = Instant::now();
    }

    /// That batch ended: committed with these deltas of the prompt's
    /// Fenwick rows, or `None` when it failed (it may have committed).
    pub fn end(&self, deltas: Option<&[(Category, u32, i64)]>) {
        let mut state = self.lock();
        state.ended += 1;
        let Some(cached) = &mut state.cached else {
            return;
        };
        match deltas {
            Some(deltas) if cached.exact => {
                let figures = Arc::make_mut(&mut cached.value);
                figures.version = next_version();
                for &(category, idx, delta) in deltas {
                    figures.arrays.add(category, idx, delta);
                }
            }
            _ => state.cached = None,
        }
    }
}

/// Cached slots by key; idle ones are dropped as new ones arrive.
pub struct Slots<K, T> {
    slots: Mutex<HashMap<K, Arc<Slot<T>>>>,
    last_sweep: Mutex<Instant>,
}

impl<K, T> Default for Slots<K, T> {
    fn default() -> Self {
        Slots {
            slots: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, T: Send + Sync + 'static> Slots<K, T> {
    /// The slot of `key`, created empty if needed.
    pub fn slot(&self, key: &K) -> Arc<Slot<T>> {
        let mut slots = self.slots.lock().expect("slots lock");
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        let mut last_sweep = self.last_sweep.lock().expect("sweep lock");
        if last_sweep.elapsed() > IDLE {
            slots.retain(|_, slot| Arc::strong_count(slot) > 1 || slot.in_use(IDLE));
            *last_sweep = Instant::now();
        }
        slots
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Slot::new()))
            .clone()
    }
}

/// The cache of one process: prompts by uid, figures by prompt id.
#[derive(Default)]
pub struct ReadCache {
    /// Prompt records (a prompt's definition never changes; its deletion
    /// is seen within the bound).
    pub prompts: Slots<String, Option<PromptRecord>>,
    /// Fenwick arrays by prompt id.
    pub figures: Slots<i64, Figures>,
}

impl ReadCache {
    /// Marks the prompts of `pending` as being committed by this process;
    /// pass the result to [`Writing::end`] once the commit is over.
    pub fn begin(&self, pending: &PendingAggregates) -> Writing {
        let mut deltas: HashMap<i64, Deltas> = HashMap::new();
        for (prompt_id, category, idx, delta) in pending.fenwick_rows() {
            deltas
                .entry(prompt_id)
                .or_default()
                .push((category, idx, delta));
        }
        for &prompt_id in pending.counts.keys().map(|(p, _)| p) {
            deltas.entry(prompt_id).or_default();
        }
        let prompts = deltas
            .into_iter()
            .map(|(id, d)| {
                let slot = self.figures.slot(&id);
                slot.begin();
                (slot, d)
            })
            .collect();
        Writing { prompts }
    }

    /// Makes the next request read the prompt's figures again.
    pub fn invalidate(&self, prompt_id: i64) {
        let slot = self.figures.slot(&prompt_id);
        slot.begin();
        slot.end(None);
    }
}

/// A prompt's Fenwick deltas in one batch: `(category, position, delta)`.
type Deltas = Vec<(Category, u32, i64)>;

/// The prompts a batch of this process is committing.
pub struct Writing {
    prompts: Vec<(Arc<Slot<Figures>>, Deltas)>,
}

impl Writing {
    /// The commit is over: `committed` tells whether it succeeded.
    pub fn end(self, committed: bool) {
        for (slot, deltas) in &self.prompts {
            slot.end(committed.then_some(deltas.as_slice()));
        }
    }
}

#[cfg(test)]
mod tests;
