//! The replay state: dealer inventories, as-of registers, the live set and the
//! open bucket. Small (proportional to instruments, not trades), cloneable so
//! an update is all-or-nothing, and serialisable for snapshots.

use std::cmp::Ordering;

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::registry::Registry;

/// An as-of observation. The latest by (timestamp, input sequence) wins, so
/// the value does not depend on how the stream was split into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Obs {
    pub ts: i64,
    pub seq: u64,
    pub value: f64,
}

/// Records `value` observed at (ts, seq) if it is at least as recent as `slot`.
#[inline]
pub fn observe(slot: &mut Option<Obs>, ts: i64, seq: u64, value: f64) {
    if slot.is_none_or(|o| (ts, seq) >= (o.ts, o.seq)) {
        *slot = Some(Obs { ts, seq, value });
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstState {
    /// Dealer inventory I(i,t) in contracts (positive = dealers long).
    pub inventory: f64,
    /// Has traded or been seeded: it joins the live set once its bucket closes.
    pub traded: bool,
    pub chain_underlying: Option<Obs>,
    pub chain_iv: Option<Obs>,
    pub trade_iv: Option<Obs>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AssetState {
    /// From the spot table.
    pub spot: Option<Obs>,
    /// From the trades' index_price.
    pub index: Option<Obs>,
    /// Latest chain underlying_price of any of the asset's options (fallback for the asset's spot).
    pub chain_underlying: Option<Obs>,
    /// Has had a live instrument at a reported step: from then on it has a total row every step.
    pub active: bool,
}

impl AssetState {
    /// The asset's spot at the current step: spot table, else index price, else chain.
    pub fn spot_value(&self) -> Option<f64> {
        self.spot
            .or(self.index)
            .or(self.chain_underlying)
            .map(|o| o.value)
    }
}

/// Live options sharing an asset and an expiry (one by-expiry row per step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryGroup {
    pub asset: u16,
    pub expiry_ns: i64,
    /// Live options in the group (groups are dropped when this reaches 0).
    pub count: u32,
}

/// A trade of the open bucket, summed into flows when the bucket closes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct PendingTrade {
    pub ts: i64,
    pub seq: u64,
    pub inst: u32,
    pub signed: f64,
}

impl EngineState {
    /// Adds one trade's signed contracts to its instrument's flow in this bucket.
    #[inline]
    pub fn add_flow(&mut self, id: u32, signed: f64) {
        let i = id as usize;
        self.flow[i] += signed;
        if !self.touched_flag[i] {
            self.touched_flag[i] = true;
            self.touched.push(id);
        }
    }
}

/// Counters that are not per step.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counters {
    pub rows_read: [u64; 3],
    pub rejected: [[u64; crate::rejects::Reason::COUNT]; 3],
    /// Instruments traded or seeded that expired at or before the last reported step
    /// (computed when a result is made).
    pub expired: u64,
    /// Distinct instruments that have traded or been seeded.
    pub traded_instruments: u64,
    /// Chain rows at or after their option's expiry (ignored, DESIGN section 5).
    pub chain_after_expiry: u64,
    /// Source counts of the steps already handed out by `Engine::drain`, so
    /// diagnostics of a drained stream still cover every step.
    pub drained_sources: crate::output::SourceCounts,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EngineState {
    pub inst: Vec<InstState>,
    pub assets: Vec<AssetState>,
    /// Live instrument ids, in canonical order (asset, strike, expiry, kind, quote).
    pub live: Vec<u32>,
    /// The (asset, expiry) group of each live position, indexing `groups`.
    pub live_group: Vec<u32>,
    /// The live (asset, expiry) groups, in (asset name, expiry) order, with member counts.
    pub groups: Vec<ExpiryGroup>,
    pub pending: Vec<PendingTrade>,
    /// Label of the open (not yet complete) bucket.
    pub open_label: Option<i64>,
    /// Next grid time to evaluate; `None` until the first trade (or `start`).
    pub next_eval: Option<i64>,
    pub last_trade_label: Option<i64>,
    pub open_ids: FxHashSet<u128>,
    pub counters: Counters,
    /// Flow accumulators of the bucket being summed (all zero between buckets).
    #[serde(skip)]
    pub flow: Vec<f64>,
    #[serde(skip)]
    pub touched: Vec<u32>,
    #[serde(skip)]
    pub touched_flag: Vec<bool>,
}

impl EngineState {
    /// Grows the per-instrument and per-asset vectors to cover the registry.
    pub fn fit(&mut self, reg: &Registry) {
        if self.inst.len() < reg.instruments.len() {
            self.inst
                .resize_with(reg.instruments.len(), InstState::default);
        }
        if self.assets.len() < reg.assets.len() {
            self.assets
                .resize_with(reg.assets.len(), AssetState::default);
        }
        if self.flow.len() < reg.instruments.len() {
            self.flow.resize(reg.instruments.len(), 0.0);
            self.touched_flag.resize(reg.instruments.len(), false);
        }
    }

    /// Inserts `id` into the live set at its canonical position, and into its
    /// (asset, expiry) group (kept up to date incrementally: the live set changes
    /// at almost every step of a real market, so nothing is re-sorted).
    pub fn insert_live(&mut self, reg: &Registry, id: u32) {
        let inst = &reg.info(id).inst;
        let pos = self
            .live
            .partition_point(|&o| reg.info(o).inst.canonical_cmp(inst) == Ordering::Less);
        self.live.insert(pos, id);
        let c = reg.consts[id as usize];
        let key = |g: &ExpiryGroup| (reg.assets[g.asset as usize].as_str(), g.expiry_ns);
        let want = (reg.assets[c.asset as usize].as_str(), c.expiry_ns);
        let g = match self.groups.binary_search_by(|g| key(g).cmp(&want)) {
            Ok(g) => g,
            Err(g) => {
                self.groups.insert(
                    g,
                    ExpiryGroup {
                        asset: c.asset,
                        expiry_ns: c.expiry_ns,
                        count: 0,
                    },
                );
                for x in self.live_group.iter_mut().filter(|x| **x as usize >= g) {
                    *x += 1;
                }
                g
            }
        };
        self.groups[g].count += 1;
        self.live_group.insert(pos, g as u32);
    }

    /// Removes the live instruments expired at `t` (DESIGN rule 4).
    pub fn roll_off(&mut self, reg: &Registry, t: i64) {
        if self
            .live
            .iter()
            .all(|&id| reg.consts[id as usize].expiry_ns > t)
        {
            return;
        }
        let mut keep = 0;
        for p in 0..self.live.len() {
            let (id, g) = (self.live[p], self.live_group[p]);
            if reg.consts[id as usize].expiry_ns > t {
                self.live[keep] = id;
                self.live_group[keep] = g;
                keep += 1;
            } else {
                self.groups[g as usize].count -= 1;
            }
        }
        self.live.truncate(keep);
        self.live_group.truncate(keep);
        // Drop emptied groups and renumber the rest.
        let mut remap = vec![u32::MAX; self.groups.len()];
        let mut next = 0u32;
        for (g, grp) in self.groups.iter().enumerate() {
            if grp.count > 0 {
                remap[g] = next;
                next += 1;
            }
        }
        self.groups.retain(|g| g.count > 0);
        for g in &mut self.live_group {
            *g = remap[*g as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_observation_wins_by_time_then_sequence() {
        let mut slot = None;
        observe(&mut slot, 10, 5, 1.0);
        observe(&mut slot, 9, 9, 2.0);
        assert_eq!(slot.unwrap().value, 1.0);
        observe(&mut slot, 10, 6, 3.0);
        assert_eq!(slot.unwrap().value, 3.0);
    }
}
