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

/// The trade ids and dictionary codes of one part of an update's rows.
#[derive(Clone, Copy, Debug)]
pub struct IdPart<'a> {
    /// `None`: the part has no trade ids (every id null).
    pub ids: Option<TradeIds<'a>>,
    /// Each row's dictionary code (-1 for null).
    pub codes: &'a [i32],
    /// The asset of each code, shifted by one: row `j`'s is `assets[codes[j] + 1]`
    /// (see [`crate::batch::TradeCols::shifted`]).
    pub assets: &'a [u16],
}

impl IdPart<'_> {
    #[inline(always)]
    fn asset(&self, j: usize) -> u16 {
        self.assets[(self.codes[j] + 1) as usize]
    }
}

/// Marks repeated (asset, trade id) pairs in `reason` (0 = accepted), walking
/// rows in time order: `order` (row numbers, with one part only), or input
/// order when `None` (part after part).
pub fn dedupe_trade_ids(
    parts: &[IdPart],
    reason: &mut [u8],
    order: Option<&[u32]>,
    open: &FxHashSet<u128>,
) {
    assert!(
        order.is_none() || parts.len() == 1,
        "a time order over several parts"
    );
    let ints = parts
        .iter()
        .all(|p| matches!(p.ids, Some(TradeIds::Int { .. })));
    if ints && increasing_per_asset(parts, reason, order, open) {
        return;
    }
    let dup = Reason::DuplicateTradeId.byte();
    let mut seen: FxHashSet<u128> =
        FxHashSet::with_capacity_and_hasher(reason.len(), FxBuildHasher);
    visit(parts, order, |i, part, j| {
        if reason[i] == 0 {
            if let Some(k) = part.ids.and_then(|ids| key(&ids, j, part.asset(j))) {
                if open.contains(&k) || !seen.insert(k) {
                    reason[i] = dup;
                }
            }
        }
        true
    });
}

/// Calls `f(row, part, position in the part)` for rows in time order
/// (`order`, one part) or in input order, until `f` returns false; returns
/// whether every row was visited. Input order walks each part's slice in a
/// plain loop (no vector of row numbers: 4 fresh bytes a row).
#[inline(always)]
fn visit(
    parts: &[IdPart],
    order: Option<&[u32]>,
    mut f: impl FnMut(usize, &IdPart, usize) -> bool,
) -> bool {
    match order {
        Some(o) => o.iter().all(|&r| f(r as usize, &parts[0], r as usize)),
        None => {
            let mut start = 0;
            for part in parts {
                if !(0..part.codes.len()).all(|j| f(start + j, part, j)) {
                    return false;
                }
                start += part.codes.len();
            }
            true
        }
    }
}

/// True when each asset's integer ids strictly increase in time order and
/// none can equal an open-bucket id (all of which are below the asset's first id).
fn increasing_per_asset(
    parts: &[IdPart],
    reason: &[u8],
    order: Option<&[u32]>,
    open: &FxHashSet<u128>,
) -> bool {
    let mut seq = Increasing::default();
    let increasing = match order {
        Some(o) => {
            let part = &parts[0];
            let (values, valid) = int_ids(part);
            o.iter().all(|&r| {
                let i = r as usize;
                seq.next(
                    reason[i],
                    valid.is_none_or(|v| v[i]),
                    part.asset(i),
                    values[i],
                )
            })
        }
        // Input order: a plain loop over each part's slices.
        None => {
            let mut start = 0;
            parts.iter().all(|part| {
                let (values, valid) = int_ids(part);
                let n = part.codes.len();
                let reason = &reason[start..start + n];
                start += n;
                let assets = part.assets;
                match valid {
                    None => reason
                        .iter()
                        .zip(part.codes)
                        .zip(values)
                        .all(|((&r, &c), &x)| seq.next(r, true, assets[(c + 1) as usize], x)),
                    Some(v) => (0..n).all(|j| seq.next(reason[j], v[j], part.asset(j), values[j])),
                }
            })
        }
    };
    increasing
        && open.iter().all(|k| {
            let asset = ((k >> 64) & 0xffff) as usize;
            let id = *k as u64 as i64;
            (k >> 127) == 1
                && seq
                    .first
                    .get(asset)
                    .copied()
                    .flatten()
                    .is_none_or(|f| id < f)
        })
}

/// An integer-id part's (values, validity).
fn int_ids<'a>(part: &IdPart<'a>) -> (&'a [i64], Option<&'a [bool]>) {
    match part.ids {
        Some(TradeIds::Int { values, valid }) => (values, valid),
        _ => unreachable!("increasing_per_asset takes integer ids only"),
    }
}

/// Each asset's first and last id so far, in time order.
#[derive(Default)]
struct Increasing {
    first: Vec<Option<i64>>,
    last: Vec<i64>,
}

impl Increasing {
    /// Takes the next row (its reason, id validity, asset, id); false when the
    /// id does not increase within its asset.
    #[inline(always)]
    fn next(&mut self, reason: u8, valid: bool, asset: u16, id: i64) -> bool {
        if reason != 0 || !valid {
            return true;
        }
        let a = asset as usize;
        if a >= self.last.len() {
            self.last.resize(a + 1, i64::MIN);
            self.first.resize(a + 1, None);
        }
        if id <= self.last[a] {
            return false;
        }
        self.last[a] = id;
        self.first[a].get_or_insert(id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Code `c` is asset `c` (entry 0: null's).
    const IDENTITY: [u16; 5] = [u16::MAX, 0, 1, 2, 3];

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
        let codes: Vec<i32> = assets.iter().map(|&a| a as i32).collect();
        let parts = [IdPart {
            ids: Some(ids),
            codes: &codes,
            assets: &IDENTITY,
        }];
        dedupe_trade_ids(&parts, &mut reason, order, &open);
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
        let one = [IdPart {
            ids: Some(ids),
            codes: &[0; 4],
            assets: &IDENTITY,
        }];
        dedupe_trade_ids(&one, &mut reason, None, &FxHashSet::default());
        assert_eq!(reason, vec![0, 0, d, 0], "a null id is never a duplicate");
        let mut reason = vec![0u8; 4];
        let each = [IdPart {
            ids: Some(ids),
            codes: &[0, 1, 2, 3],
            assets: &IDENTITY,
        }];
        dedupe_trade_ids(&each, &mut reason, None, &FxHashSet::default());
        assert_eq!(
            reason,
            vec![0; 4],
            "the same string in another asset is another trade"
        );
    }
}
