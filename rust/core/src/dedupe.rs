//! Trade-id de-duplication: among accepted rows, in time order, the first
//! occurrence of an (asset, trade id) is kept and later ones become
//! `duplicate_trade_id`.
//!
//! Ids are keyed by asset because venues number trades per currency (Deribit's
//! BTC and ETH ids are separate sequences): the same number in two assets is two
//! trades. Those sequences grow with time, so the common case is checked in one
//! pass with no hashing: if every asset's ids are strictly increasing in time
//! order, nothing repeats. Otherwise a hash set of 128-bit keys decides; string
//! ids are hashed with xxh3 (seeded by the asset). Ids accepted in the open
//! bucket of an earlier chunk (`open`) count as seen.

use rustc_hash::{FxBuildHasher, FxHashSet};

use crate::batch::TradeIds;
use crate::rejects::Reason;

/// The 128-bit key of row `i`'s trade id within `asset`; `None` for a null id.
#[inline]
pub fn key(ids: &TradeIds, i: usize, asset: u16) -> Option<u128> {
    match *ids {
        TradeIds::Int { values, valid } => {
            if valid.is_some_and(|v| !v[i]) {
                return None;
            }
            Some((1u128 << 127) | ((asset as u128) << 64) | values[i] as u64 as u128)
        }
        TradeIds::Str {
            offsets,
            data,
            valid,
        } => {
            if valid.is_some_and(|v| !v[i]) {
                return None;
            }
            let bytes = &data[offsets[i] as usize..offsets[i + 1] as usize];
            Some(xxhash_rust::xxh3::xxh3_128_with_seed(bytes, asset as u64) & !(1u128 << 127))
        }
    }
}

/// Marks repeated (asset, trade id) pairs in `reason` (0 = accepted), walking
/// rows in time order (`order`, or input order when `None`).
pub fn dedupe_trade_ids(
    ids: &TradeIds,
    asset_of: impl Fn(usize) -> u16,
    reason: &mut [u8],
    order: Option<&[u32]>,
    open: &FxHashSet<u128>,
) {
    // Input order is walked without a vector of row numbers (4 fresh bytes a row).
    match order {
        Some(o) => walk(ids, &asset_of, reason, o.iter().map(|&r| r as usize), open),
        None => walk(ids, &asset_of, reason, 0..reason.len(), open),
    }
}

fn walk(
    ids: &TradeIds,
    asset_of: &impl Fn(usize) -> u16,
    reason: &mut [u8],
    rows: impl Iterator<Item = usize> + Clone,
    open: &FxHashSet<u128>,
) {
    let n = reason.len();
    if let TradeIds::Int { values, valid } = *ids {
        if increasing_per_asset(values, valid, asset_of, reason, rows.clone(), open) {
            return;
        }
    }
    let dup = Reason::DuplicateTradeId.byte();
    let mut seen: FxHashSet<u128> = FxHashSet::with_capacity_and_hasher(n, FxBuildHasher);
    for i in rows {
        if reason[i] != 0 {
            continue;
        }
        if let Some(k) = key(ids, i, asset_of(i)) {
            if open.contains(&k) || !seen.insert(k) {
                reason[i] = dup;
            }
        }
    }
}

/// True when each asset's integer ids strictly increase in time order and
/// none can equal an open-bucket id (all of which are below the asset's first id).
fn increasing_per_asset(
    values: &[i64],
    valid: Option<&[bool]>,
    asset_of: &impl Fn(usize) -> u16,
    reason: &[u8],
    rows: impl Iterator<Item = usize>,
    open: &FxHashSet<u128>,
) -> bool {
    let mut first: Vec<Option<i64>> = Vec::new();
    let mut last: Vec<i64> = Vec::new();
    for i in rows {
        if reason[i] != 0 || valid.is_some_and(|v| !v[i]) {
            continue;
        }
        let a = asset_of(i) as usize;
        if a >= last.len() {
            last.resize(a + 1, i64::MIN);
            first.resize(a + 1, None);
        }
        if values[i] <= last[a] {
            return false;
        }
        last[a] = values[i];
        first[a].get_or_insert(values[i]);
    }
    open.iter().all(|k| {
        let asset = ((k >> 64) & 0xffff) as usize;
        let id = *k as u64 as i64;
        (k >> 127) == 1 && first.get(asset).copied().flatten().is_none_or(|f| id < f)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[i64], assets: &[u16], order: Option<&[u32]>, open: &[(u16, i64)]) -> Vec<u8> {
        let ids = TradeIds::Int {
            values,
            valid: None,
        };
        let open: FxHashSet<u128> = open
            .iter()
            .map(|&(a, v)| key(&ids_of(&[v]), 0, a).unwrap())
            .collect();
        let mut reason = vec![0u8; values.len()];
        dedupe_trade_ids(&ids, |i| assets[i], &mut reason, order, &open);
        reason
    }

    fn ids_of(v: &[i64]) -> TradeIds<'_> {
        TradeIds::Int {
            values: v,
            valid: None,
        }
    }

    #[test]
    fn repeats_within_an_asset_are_duplicates_across_assets_are_not() {
        let d = Reason::DuplicateTradeId.byte();
        assert_eq!(
            run(&[5, 6, 5, 7, 6], &[0; 5], None, &[]),
            vec![0, 0, d, 0, d]
        );
        assert_eq!(
            run(&[5, 5, 6], &[0, 1, 0], None, &[]),
            vec![0, 0, 0],
            "BTC 5 and ETH 5 are two trades"
        );
        let sparse = [5, 1 << 40, 5, -(1 << 50), 1 << 40];
        assert_eq!(run(&sparse, &[0; 5], None, &[]), vec![0, 0, d, 0, d]);
        // In time order 2, 0, 1: row 2 comes first, so row 0 (same id) is the repeat.
        assert_eq!(
            run(&[9, 8, 9], &[0; 3], Some(&[2, 0, 1]), &[]),
            vec![d, 0, 0]
        );
    }

    #[test]
    fn the_fast_path_still_checks_the_open_bucket() {
        let d = Reason::DuplicateTradeId.byte();
        // Interleaved per-asset sequences, increasing within each asset.
        assert_eq!(
            run(&[10, 500, 11, 501], &[0, 1, 0, 1], None, &[(0, 7)]),
            vec![0; 4]
        );
        assert_eq!(
            run(&[10, 500, 11, 501], &[0, 1, 0, 1], None, &[(1, 500)]),
            vec![0, d, 0, 0]
        );
        assert_eq!(run(&[3, 4], &[0, 0], None, &[(0, 4)]), vec![0, d]);
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
        dedupe_trade_ids(&ids, |_| 0, &mut reason, None, &FxHashSet::default());
        assert_eq!(reason, vec![0, 0, d, 0], "a null id is never a duplicate");
        let mut reason = vec![0u8; 4];
        dedupe_trade_ids(&ids, |i| i as u16, &mut reason, None, &FxHashSet::default());
        assert_eq!(
            reason,
            vec![0; 4],
            "the same string in another asset is another trade"
        );
    }
}
