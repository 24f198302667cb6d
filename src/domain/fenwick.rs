//! Fenwick (binary indexed) tree arithmetic over row positions.
//!
//! A tree of `n` cells is stored as rows `idx = 0..n` (the 1-based Fenwick
//! index minus one); missing rows are zero. These helpers only say *which*
//! positions an update or a prefix sum touches, so every engine stores the
//! tree the same way.

/// Positions to add to when bin `bin` changes, in a tree of `n` cells.
pub fn update_positions(bin: u32, n: u32) -> impl Iterator<Item = u32> {
    let mut i = bin as u64 + 1;
    std::iter::from_fn(move || {
        if i > n as u64 {
            return None;
        }
        let pos = (i - 1) as u32;
        i += i & i.wrapping_neg();
        Some(pos)
    })
}

/// Positions whose sum is the prefix sum through bin `bin`.
pub fn prefix_positions(bin: u32) -> impl Iterator<Item = u32> {
    let mut i = bin as u64 + 1;
    std::iter::from_fn(move || {
        if i == 0 {
            return None;
        }
        let pos = (i - 1) as u32;
        i -= i & i.wrapping_neg();
        Some(pos)
    })
}

/// Builds the Fenwick array of `n` cells from per-bin point values.
pub fn from_points(points: &[i64]) -> Vec<i64> {
    let n = points.len();
    let mut tree = points.to_vec();
    for i in 1..=n {
        let parent = i + (i & i.wrapping_neg());
        if parent <= n {
            tree[parent - 1] += tree[i - 1];
        }
    }
    tree
}

/// Every prefix sum (through bin 0, 1, …, n−1) of a stored Fenwick array.
pub fn all_prefix_sums(tree: &[i64]) -> Vec<i64> {
    // Recover point values, then accumulate: O(n).
    let n = tree.len();
    let mut points = tree.to_vec();
    for i in (1..=n).rev() {
        let parent = i + (i & i.wrapping_neg());
        if parent <= n {
            points[parent - 1] -= points[i - 1];
        }
    }
    let mut acc = 0;
    points
        .into_iter()
        .map(|p| {
            acc += p;
            acc
        })
        .collect()
}

/// Prefix sum through `bin` of a dense Fenwick array (used by tests and
/// the in-memory check).
pub fn prefix_sum(tree: &[i64], bin: u32) -> i64 {
    prefix_positions(bin).map(|p| tree[p as usize]).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_match_the_spec_loops() {
        assert_eq!(update_positions(0, 7).collect::<Vec<_>>(), vec![0, 1, 3]);
        assert_eq!(update_positions(2, 7).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(update_positions(6, 7).collect::<Vec<_>>(), vec![6]);
        assert_eq!(prefix_positions(6).collect::<Vec<_>>(), vec![6, 5, 3]);
        assert_eq!(prefix_positions(0).collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn updates_and_prefix_sums_agree_with_brute_force() {
        let n = 1023u32;
        let mut tree = vec![0i64; n as usize];
        let mut points = vec![0i64; n as usize];
        let mut seed = 12345u64;
        for _ in 0..2000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let bin = ((seed >> 33) % n as u64) as u32;
            let delta = ((seed >> 20) % 5) as i64 - 2;
            points[bin as usize] += delta;
            for p in update_positions(bin, n) {
                tree[p as usize] += delta;
            }
        }
        let mut acc = 0;
        for b in 0..n {
            acc += points[b as usize];
            assert_eq!(prefix_sum(&tree, b), acc);
        }
        assert_eq!(from_points(&points), tree);
        let sums = all_prefix_sums(&tree);
        assert_eq!(sums.last().copied(), Some(acc));
        assert_eq!(sums[17], prefix_sum(&tree, 17));
    }
}
