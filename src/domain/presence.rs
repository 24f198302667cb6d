//! Who is here (docs/api.md, "Who is here"; docs/rules.md, "Presence"):
//! the 2-second steps of a prompt at which each session was in the room,
//! kept as the nodes of a segment tree over the steps, so that who was
//! there at one step is read from the few nodes above it, never by
//! scanning the prompt's sessions.
//!
//! A session is in the room at prompt time `t` when it joined at or
//! before `t` and has not left by `t`: `join ≤ t < leave` (no `leave`: to
//! the end). Sampled at the steps `t = 2k`, a session joined at `j` and
//! left at `l` is in the room at the steps `⌈j/2⌉ … ⌈l/2⌉ − 1` (without a
//! leave, to the prompt's last step, `⌊duration/2⌋`).
//!
//! The tree has [`LEAVES`] leaves (one per step, enough for the longest
//! prompt) numbered like a heap: node 1 is the root, node `v` has children
//! `2v` and `2v + 1`, and step `s` is the leaf `LEAVES + s`. A run of steps
//! is stored as its canonical cover: the fewest nodes whose leaves are
//! exactly the run (at most two per level). A step lies under exactly one
//! node of each run that holds it, so the sessions in the room at step `s`
//! are the union, without repeats, of the nodes on the path from leaf `s`
//! to the root ([`path`]).

use super::event::EventKind;

/// Seconds between two sampled prompt times.
pub const STEP_SECONDS: f64 = 2.0;
/// Leaves of the tree: a power of two above the steps of the longest
/// prompt (86,400 s → 43,201 steps).
pub const LEAVES: i64 = 1 << 16;
/// Nodes on the path from a leaf to the root.
pub const DEPTH: usize = 17;

/// The step a prompt time falls in (rounded down to a multiple of 2 s).
pub fn step_of(prompt_time: f64) -> i64 {
    (prompt_time / STEP_SECONDS).floor() as i64
}

/// The last step of a prompt of `duration_seconds`.
pub fn last_step(duration_seconds: i64) -> i64 {
    duration_seconds.div_euclid(2)
}

/// The first step at or after prompt time `t`.
fn first_step_from(t: f64) -> i64 {
    (t / STEP_SECONDS).ceil() as i64
}

/// The steps a session is in the room: joined at `join`, left at `leave`
/// (if it did), of a prompt of `duration_seconds`. `None`: no step.
pub fn steps_present(join: f64, leave: Option<f64>, duration_seconds: i64) -> Option<(i64, i64)> {
    let first = first_step_from(join);
    let last = match leave {
        Some(l) => first_step_from(l) - 1,
        None => last_step(duration_seconds),
    }
    .min(LEAVES - 1);
    (first <= last).then_some((first, last))
}

/// The canonical cover of the steps `first ..= last`, bottom-up.
pub fn cover(first: i64, last: i64) -> Vec<i64> {
    let mut nodes = Vec::new();
    let (mut l, mut r) = (first + LEAVES, last + LEAVES + 1);
    while l < r {
        if l & 1 == 1 {
            nodes.push(l);
            l += 1;
        }
        if r & 1 == 1 {
            r -= 1;
            nodes.push(r);
        }
        l >>= 1;
        r >>= 1;
    }
    nodes
}

/// The nodes whose runs may hold step `step`: its leaf and every ancestor.
pub fn path(step: i64) -> [i64; DEPTH] {
    let mut nodes = [0; DEPTH];
    let mut v = LEAVES + step.clamp(0, LEAVES - 1);
    for node in &mut nodes {
        *node = v;
        v >>= 1;
    }
    nodes
}

/// What an accepted event does to its session's presence rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceWrite {
    /// Remove the session's stored rows first (a `leave` shortens its run).
    pub clear: bool,
    /// The nodes the session is stored under from now on.
    pub nodes: Vec<i64>,
}

/// The presence rows an accepted event of a session that joined at
/// `joined` (None before its `join`) writes; `None` for other events.
pub fn write_for(
    kind: EventKind,
    t: f64,
    joined: Option<f64>,
    duration_seconds: i64,
) -> Option<PresenceWrite> {
    let (join, leave) = match (kind, joined) {
        (EventKind::Join, _) => (t, None),
        (EventKind::Leave, Some(j)) => (j, Some(t)),
        _ => return None,
    };
    let nodes = steps_present(join, leave, duration_seconds)
        .map(|(first, last)| cover(first, last))
        .unwrap_or_default();
    Some(PresenceWrite {
        clear: leave.is_some(),
        nodes,
    })
}

/// The rows `(session id, node)` a prompt's events give, from its events
/// as `(session id, kind, prompt time)` grouped by session in acceptance
/// order (what `chorus check` compares with the stored rows).
pub fn expected_rows(duration_seconds: i64, events: &[(i64, EventKind, f64)]) -> Vec<(i64, i64)> {
    let mut rows = Vec::new();
    let mut joined: Option<(i64, f64)> = None;
    let mut current: Vec<i64> = Vec::new();
    let mut flush = |session: Option<(i64, f64)>, nodes: &mut Vec<i64>| {
        if let Some((id, _)) = session {
            rows.extend(nodes.drain(..).map(|n| (id, n)));
        }
    };
    for &(session, kind, t) in events {
        if joined.is_some_and(|(id, _)| id != session) {
            flush(joined.take(), &mut current);
        }
        let join = joined.map(|(_, j)| j);
        if let Some(write) = write_for(kind, t, join, duration_seconds) {
            current = write.nodes;
            if kind == EventKind::Join {
                joined = Some((session, t));
            }
        }
    }
    flush(joined, &mut current);
    rows.sort_unstable();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps under a node.
    fn leaves(node: i64) -> std::ops::Range<i64> {
        let mut lo = node;
        let mut hi = node;
        while lo < LEAVES {
            lo *= 2;
            hi = hi * 2 + 1;
        }
        lo - LEAVES..hi - LEAVES + 1
    }

    #[test]
    fn a_cover_holds_exactly_its_steps_each_once_and_is_small() {
        let cases = [
            (0, 0),
            (0, 43_200),
            (3, 17),
            (1, 2),
            (5, 5),
            (4_095, 4_097),
            (0, LEAVES - 1),
        ];
        for (first, last) in cases {
            let nodes = cover(first, last);
            assert!(nodes.len() <= 2 * 16, "{first}..{last}: {nodes:?}");
            let mut steps: Vec<i64> = nodes.iter().flat_map(|&n| leaves(n)).collect();
            steps.sort_unstable();
            assert_eq!(
                steps,
                (first..=last).collect::<Vec<_>>(),
                "{first}..={last}"
            );
            for s in [first, last, (first + last) / 2] {
                let on_path = path(s).iter().filter(|n| nodes.contains(n)).count();
                assert_eq!(on_path, 1, "step {s} lies under one node of the cover");
            }
            if first > 0 {
                assert!(path(first - 1).iter().all(|n| !nodes.contains(n)));
            }
        }
    }

    #[test]
    fn presence_is_joined_at_or_before_and_not_yet_left() {
        assert_eq!(steps_present(0.0, None, 20), Some((0, 10)));
        assert_eq!(steps_present(0.0, None, 21), Some((0, 10)));
        assert_eq!(steps_present(2.0, Some(6.0), 20), Some((1, 2)));
        assert_eq!(steps_present(1.5, Some(6.5), 20), Some((1, 3)));
        // Joined and left between two sampled times: never seen.
        assert_eq!(steps_present(2.5, Some(3.5), 20), None);
        // Left at the very time it joined.
        assert_eq!(steps_present(4.0, Some(4.0), 20), None);
        assert_eq!(step_of(5.99), 2);
        assert_eq!(step_of(6.0), 3);
        assert_eq!(last_step(86_400), 43_200);
        assert!(last_step(86_400) < LEAVES);
    }

    #[test]
    fn only_joins_and_leaves_write_and_a_leave_replaces_the_run() {
        let join = write_for(EventKind::Join, 3.0, None, 20).unwrap();
        assert!(!join.clear);
        assert_eq!(join.nodes, cover(2, 10));
        let leave = write_for(EventKind::Leave, 9.0, Some(3.0), 20).unwrap();
        assert!(leave.clear);
        assert_eq!(leave.nodes, cover(2, 4));
        assert_eq!(write_for(EventKind::Like, 5.0, Some(3.0), 20), None);
        let expected = expected_rows(
            20,
            &[
                (7, EventKind::Join, 3.0),
                (7, EventKind::Like, 4.0),
                (7, EventKind::Leave, 9.0),
                (8, EventKind::Join, 0.0),
            ],
        );
        let mut want: Vec<(i64, i64)> = cover(2, 4).into_iter().map(|n| (7, n)).collect();
        want.extend(cover(0, 10).into_iter().map(|n| (8, n)));
        want.sort_unstable();
        assert_eq!(expected, want);
    }
}
