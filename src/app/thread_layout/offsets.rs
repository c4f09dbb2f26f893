//! The line offsets of a thread's blocks: a Fenwick tree of their line
//! counts, so one block's count changes, a block is appended and a line is
//! found in O(log n), not by re-adding every block.

#[derive(Debug, Clone, Default)]
pub(super) struct Offsets {
    /// Node k (1-based) at `tree[k - 1]`: the sum of the counts (k - lowbit(k), k].
    tree: Vec<usize>,
}

fn lowbit(k: usize) -> usize {
    k & k.wrapping_neg()
}

impl Offsets {
    /// In O(n).
    pub(super) fn build(counts: impl Iterator<Item = usize>) -> Offsets {
        let mut tree: Vec<usize> = counts.collect();
        let n = tree.len();
        for k in 1..=n {
            let parent = k + lowbit(k);
            if parent <= n {
                tree[parent - 1] += tree[k - 1];
            }
        }
        Offsets { tree }
    }

    /// The sum of the counts of blocks [0, i).
    pub(super) fn prefix(&self, i: usize) -> usize {
        let (mut k, mut s) = (i.min(self.tree.len()), 0);
        while k > 0 {
            s += self.tree[k - 1];
            k &= k - 1;
        }
        s
    }

    pub(super) fn total(&self) -> usize {
        self.prefix(self.tree.len())
    }

    pub(super) fn push(&mut self, count: usize) {
        let k = self.tree.len() + 1;
        let covered = self.prefix(k - 1) - self.prefix(k - lowbit(k));
        self.tree.push(covered + count);
    }

    /// Block `i`'s count changes from `old` to `new`.
    pub(super) fn set(&mut self, i: usize, old: usize, new: usize) {
        let mut k = i + 1;
        while k <= self.tree.len() {
            self.tree[k - 1] = self.tree[k - 1] + new - old;
            k += lowbit(k);
        }
    }

    /// The block holding line `line` (counted from the first block's first
    /// line; below `total()`) and the line its block starts at. Blocks
    /// never have zero lines.
    pub(super) fn find(&self, line: usize) -> (usize, usize) {
        let n = self.tree.len();
        let (mut pos, mut rest) = (0, line);
        let mut step = if n == 0 { 0 } else { 1 << n.ilog2() };
        while step > 0 {
            if pos + step <= n && self.tree[pos + step - 1] <= rest {
                pos += step;
                rest -= self.tree[pos - 1];
            }
            step >>= 1;
        }
        (pos, line - rest)
    }
}

#[cfg(test)]
mod tests {
    use super::Offsets;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn offsets_match_running_sums(
            counts in prop::collection::vec(1usize..6, 0..80),
            more in prop::collection::vec(1usize..6, 0..10),
            changes in prop::collection::vec((0usize..90, 1usize..9), 0..20),
        ) {
            let mut counts = counts;
            let mut o = Offsets::build(counts.iter().copied());
            for c in more {
                o.push(c);
                counts.push(c);
            }
            for (i, new) in changes {
                if let Some(old) = counts.get_mut(i) {
                    o.set(i, *old, new);
                    *old = new;
                }
            }
            let mut sum = 0;
            for (i, c) in counts.iter().enumerate() {
                prop_assert_eq!(o.prefix(i), sum);
                for l in sum..sum + c {
                    prop_assert_eq!(o.find(l), (i, sum));
                }
                sum += c;
            }
            prop_assert_eq!(o.total(), sum);
        }
    }
}
