//! Trade-id de-duplication: among accepted rows, in time order, the first
//! occurrence of an id is kept and later ones become `duplicate_trade_id`.
//!
//! Venue trade ids are integers that grow with time, so they usually fill a
//! dense range: a bitmap over that range tests and marks an id in a couple of
//! nanoseconds. Sparse integer ids use a hash set, and string ids a set of
//! their 128-bit xxh3 hashes. Ids already accepted in the open bucket of an
//! earlier chunk (`open`) count as seen.

use rustc_hash::{FxBuildHasher, FxHashSet};

use crate::batch::TradeIds;
use crate::validate::Reason;

/// Marks repeated trade ids in `reason` (0 = accepted), walking rows in time order.
pub fn dedupe_trade_ids(
    ids: &TradeIds,
    reason: &mut [u8],
    order: Option<&[u32]>,
    open: &FxHashSet<u128>,
) {
    let n = reason.len();
    // Rows in time order without dynamic dispatch per row.
    let by_index;
    let rows: &[u32] = match order {
        Some(o) => o,
        None => {
            by_index = (0..n as u32).collect::<Vec<u32>>();
            &by_index
        }
    };
    let dup = Reason::DuplicateTradeId.byte();
    match *ids {
        TradeIds::Int { values, valid } => {
            let present = |i: usize| reason[i] == 0 && valid.is_none_or(|v| v[i]);
            let (mut lo, mut hi, mut count) = (i64::MAX, i64::MIN, 0usize);
            for (i, &v) in values.iter().enumerate().take(n) {
                if present(i) {
                    lo = lo.min(v);
                    hi = hi.max(v);
                    count += 1;
                }
            }
            if count == 0 {
                return;
            }
            let span = (hi as i128 - lo as i128 + 1) as u128;
            let mut seen = Seen::new(lo, span, count);
            let check_open = !open.is_empty();
            for &r in rows {
                let i = r as usize;
                if !(reason[i] == 0 && valid.is_none_or(|v| v[i])) {
                    continue;
                }
                let v = values[i];
                let in_open = check_open && ids.key(i).is_some_and(|k| open.contains(&k));
                if in_open || !seen.insert(v) {
                    reason[i] = dup;
                }
            }
        }
        TradeIds::Str { .. } => {
            let mut seen: FxHashSet<u128> = FxHashSet::with_capacity_and_hasher(n, FxBuildHasher);
            for &r in rows {
                let i = r as usize;
                if reason[i] != 0 {
                    continue;
                }
                if let Some(k) = ids.key(i) {
                    if open.contains(&k) || !seen.insert(k) {
                        reason[i] = dup;
                    }
                }
            }
        }
    }
}

/// A set of integers: a bitmap when they are dense, a hash set otherwise.
enum Seen {
    Bits { lo: i64, words: Vec<u64> },
    Hash(FxHashSet<i64>),
}

impl Seen {
    fn new(lo: i64, span: u128, count: usize) -> Seen {
        if span <= 64 * count as u128 + 4096 {
            Seen::Bits {
                lo,
                words: vec![0u64; span.div_ceil(64) as usize],
            }
        } else {
            Seen::Hash(FxHashSet::with_capacity_and_hasher(count, FxBuildHasher))
        }
    }

    /// Inserts `v`; false when it was already present.
    #[inline]
    fn insert(&mut self, v: i64) -> bool {
        match self {
            Seen::Bits { lo, words } => {
                let off = (v as i128 - *lo as i128) as usize;
                let (w, b) = (off / 64, 1u64 << (off % 64));
                let fresh = words[w] & b == 0;
                words[w] |= b;
                fresh
            }
            Seen::Hash(set) => set.insert(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[i64], order: Option<&[u32]>, open: &[i64]) -> Vec<u8> {
        let ids = TradeIds::Int {
            values,
            valid: None,
        };
        let open: FxHashSet<u128> = open
            .iter()
            .map(|&v| (1u128 << 127) | v as u64 as u128)
            .collect();
        let mut reason = vec![0u8; values.len()];
        dedupe_trade_ids(&ids, &mut reason, order, &open);
        reason
    }

    #[test]
    fn dense_and_sparse_ids_agree() {
        let d = Reason::DuplicateTradeId.byte();
        assert_eq!(run(&[5, 6, 5, 7, 6], None, &[]), vec![0, 0, d, 0, d]);
        let sparse = [5, 1 << 40, 5, -(1 << 50), 1 << 40];
        assert_eq!(run(&sparse, None, &[]), vec![0, 0, d, 0, d]);
        // In time order 2, 0, 1: row 2 comes first, so row 0 (same id) is the repeat.
        assert_eq!(run(&[9, 8, 9], Some(&[2, 0, 1]), &[]), vec![d, 0, 0]);
        assert_eq!(run(&[3, 4], None, &[4]), vec![0, d]);
    }

    #[test]
    fn string_ids_and_nulls() {
        let d = Reason::DuplicateTradeId.byte();
        let data = b"aba".to_vec();
        let offsets = [0i64, 1, 2, 3, 3];
        let valid = [true, true, true, false];
        let ids = TradeIds::Str {
            offsets: &offsets,
            data: &data,
            valid: Some(&valid),
        };
        let mut reason = vec![0u8; 4];
        dedupe_trade_ids(&ids, &mut reason, None, &FxHashSet::default());
        assert_eq!(reason, vec![0, 0, d, 0], "a null id is never a duplicate");
    }
}
