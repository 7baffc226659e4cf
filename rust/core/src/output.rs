//! Columnar result buffers: inventory rows, the three aggregates and per-step
//! statistics. Every table is sorted by time (grid steps are appended in
//! order), so selecting, trimming or draining a time range is a binary search.

use serde::{Deserialize, Serialize};

use crate::exposure::GreekSet;

/// One row per (grid time, live instrument): DESIGN section 4 `inventory`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InventoryRows {
    pub time: Vec<i64>,
    pub inst: Vec<u32>,
    pub inventory: Vec<f64>,
    pub spot: Vec<f64>,
    pub vol: Vec<f64>,
    pub gamma: Vec<f64>,
    pub gex: Vec<f64>,
    /// Delta, vanna and charm exposure (DESIGN rule 16): empty unless that greek was asked for.
    pub dex: Vec<f64>,
    pub vex: Vec<f64>,
    pub cex: Vec<f64>,
}

/// The strike chart: one row per (time, asset, strike), both legs and all maturities summed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StrikeRows {
    pub time: Vec<i64>,
    pub asset: Vec<u16>,
    pub strike: Vec<f64>,
    pub call_gex: Vec<f64>,
    pub put_gex: Vec<f64>,
    pub gex: Vec<f64>,
    pub dex: Vec<f64>,
    pub vex: Vec<f64>,
    pub cex: Vec<f64>,
}

/// One row per (time, asset, expiry).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExpiryRows {
    pub time: Vec<i64>,
    pub asset: Vec<u16>,
    pub expiry: Vec<i64>,
    pub gex: Vec<f64>,
    pub dex: Vec<f64>,
    pub vex: Vec<f64>,
    pub cex: Vec<f64>,
}

/// One row per (time, asset): the asset's spot and total GEX.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TotalRows {
    pub time: Vec<i64>,
    pub asset: Vec<u16>,
    pub spot: Vec<f64>,
    pub gex: Vec<f64>,
    pub dex: Vec<f64>,
    pub vex: Vec<f64>,
    pub cex: Vec<f64>,
}

/// Where the underlying price and the volatility of each live row came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounts {
    pub spot_chain: u64,
    pub spot_table: u64,
    pub spot_index: u64,
    pub spot_missing: u64,
    pub vol_chain: u64,
    pub vol_trade: u64,
    pub vol_missing: u64,
}

impl SourceCounts {
    pub fn add(&mut self, o: &SourceCounts) {
        self.spot_chain += o.spot_chain;
        self.spot_table += o.spot_table;
        self.spot_index += o.spot_index;
        self.spot_missing += o.spot_missing;
        self.vol_chain += o.vol_chain;
        self.vol_trade += o.vol_trade;
        self.vol_missing += o.vol_missing;
    }
}

/// Per-step statistics, kept for every reported step (tiny), so diagnostics
/// can be recomputed exactly for any trimmed or drained range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    pub time: Vec<i64>,
    pub counts: Vec<SourceCounts>,
}

/// Whether inventory rows are kept for every step or only for the latest one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Keep {
    All,
    Last,
}

/// What a long replay keeps: inventory rows and strike/expiry aggregates for
/// every step, or only for the last one (totals are always kept for every step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub inventory: Keep,
    pub aggregates: Keep,
}

impl Retention {
    pub const ALL: Retention = Retention {
        inventory: Keep::All,
        aggregates: Keep::All,
    };

    /// Whether step `t` needs its strike/expiry aggregates, given the batch's last
    /// step and the earliest step that may still be reported (`retain_from`).
    pub fn aggregates_needed(&self, t: i64, last: i64, retain_from: i64) -> bool {
        self.aggregates == Keep::All || t >= last.min(retain_from)
    }

    /// Drops rows superseded by later steps, keeping those at or after min(last step, `retain_from`).
    pub fn trim(&self, out: &mut Output, retain_from: i64) {
        let Some(last) = out.last_time() else { return };
        let from = last.min(retain_from);
        if self.inventory == Keep::Last {
            out.inventory.drop_before(from);
        }
        if self.aggregates == Keep::Last {
            out.by_strike.drop_before(from);
            out.by_expiry.drop_before(from);
        }
    }
}

/// All result tables for a range of grid steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub inventory: InventoryRows,
    pub by_strike: StrikeRows,
    pub by_expiry: ExpiryRows,
    pub total: TotalRows,
    pub stats: StepStats,
}

/// Implements range operations for a struct of equally long, time-sorted columns.
/// The optional columns (after `;`) are either as long as `time` or empty (a greek
/// that was not asked for): every operation leaves an empty one empty.
macro_rules! columns {
    ($ty:ident { $($col:ident),* $(; $($opt:ident),*)? }) => {
        impl $ty {
            pub fn len(&self) -> usize { self.time.len() }
            pub fn is_empty(&self) -> bool { self.time.is_empty() }
            /// Index of the first row with time > `t`.
            fn split_after(&self, t: i64) -> usize { self.time.partition_point(|&x| x <= t) }
            /// Index of the first row with time >= `t`.
            fn split_before(&self, t: i64) -> usize { self.time.partition_point(|&x| x < t) }
            pub fn append(&mut self, mut other: Self) {
                if self.time.is_empty() {
                    *self = other; // move, don't copy
                    return;
                }
                self.time.append(&mut other.time);
                $( self.$col.append(&mut other.$col); )*
                $($( self.$opt.append(&mut other.$opt); )*)?
            }
            /// Removes and returns the rows with time <= `t`.
            pub fn take_through(&mut self, t: i64) -> Self {
                let n = self.split_after(t);
                let mut head = Self::default();
                head.time = self.time.drain(..n).collect();
                $( head.$col = self.$col.drain(..n).collect(); )*
                $($( if !self.$opt.is_empty() { head.$opt = self.$opt.drain(..n).collect(); } )*)?
                head
            }
            /// Drops the rows with time < `t`.
            pub fn drop_before(&mut self, t: i64) {
                let n = self.split_before(t);
                self.time.drain(..n);
                $( self.$col.drain(..n); )*
                $($( if !self.$opt.is_empty() { self.$opt.drain(..n); } )*)?
            }
            /// Drops the rows with time > `t`.
            pub fn truncate_after(&mut self, t: i64) {
                let n = self.split_after(t);
                self.time.truncate(n);
                $( self.$col.truncate(n); )*
                $($( self.$opt.truncate(n); )*)?
            }
            /// Rows `(part, row)` of `parts`, in the order given.
            #[allow(dead_code)] // not for StepStats: its counts are summed per step
            fn pick(parts: &[&Self], picks: &[(u32, u32)]) -> Self {
                let at = |&(p, r): &(u32, u32)| (p as usize, r as usize);
                Self {
                    time: picks.iter().map(|x| { let (p, r) = at(x); parts[p].time[r] }).collect(),
                    $( $col: picks.iter().map(|x| { let (p, r) = at(x); parts[p].$col[r] }).collect(), )*
                    // Every part was computed with the same greeks: a column is empty in all or none.
                    $($( $opt: if parts.iter().all(|p| p.$opt.is_empty()) { Vec::new() } else {
                        picks.iter().map(|x| { let (p, r) = at(x); parts[p].$opt[r] }).collect()
                    }, )*)?
                }
            }
            /// A copy of the rows with time <= `t`.
            pub fn clone_through(&self, t: i64) -> Self {
                let n = self.split_after(t);
                Self {
                    time: self.time[..n].to_vec(),
                    $( $col: self.$col[..n].to_vec(), )*
                    $($( $opt: self.$opt[..n.min(self.$opt.len())].to_vec(), )*)?
                }
            }
        }
    };
}

columns!(InventoryRows {
    inst,
    inventory,
    spot,
    vol,
    gamma,
    gex;
    dex,
    vex,
    cex
});
columns!(StrikeRows {
    asset,
    strike,
    call_gex,
    put_gex,
    gex;
    dex,
    vex,
    cex
});
columns!(ExpiryRows { asset, expiry, gex; dex, vex, cex });
columns!(TotalRows { asset, spot, gex; dex, vex, cex });
columns!(StepStats { counts });

impl Output {
    /// The columns of each table line up, with an exposure column exactly for each
    /// greek asked for (checked on snapshot restore).
    pub fn check_lengths(&self, greeks: GreekSet) -> std::result::Result<(), &'static str> {
        let i = &self.inventory;
        let k = &self.by_strike;
        let e = &self.by_expiry;
        let t = &self.total;
        let same = |lens: &[usize]| lens.iter().all(|&l| l == lens[0]);
        let ok = same(&[
            i.time.len(),
            i.inst.len(),
            i.inventory.len(),
            i.spot.len(),
            i.vol.len(),
            i.gamma.len(),
            i.gex.len(),
        ]) && same(&[
            k.time.len(),
            k.asset.len(),
            k.strike.len(),
            k.call_gex.len(),
            k.put_gex.len(),
            k.gex.len(),
        ]) && same(&[e.time.len(), e.asset.len(), e.expiry.len(), e.gex.len()])
            && same(&[t.time.len(), t.asset.len(), t.spot.len(), t.gex.len()])
            && same(&[self.stats.time.len(), self.stats.counts.len()]);
        // A greek's exposure column is as long as its table when asked for, else empty.
        let greek = |n: usize, cols: [&Vec<f64>; 3]| {
            [greeks.delta, greeks.vanna, greeks.charm]
                .iter()
                .zip(cols)
                .all(|(&on, c)| c.len() == if on { n } else { 0 })
        };
        let ok = ok
            && greek(i.time.len(), [&i.dex, &i.vex, &i.cex])
            && greek(k.time.len(), [&k.dex, &k.vex, &k.cex])
            && greek(e.time.len(), [&e.dex, &e.vex, &e.cex])
            && greek(t.time.len(), [&t.dex, &t.vex, &t.cex]);
        if ok {
            Ok(())
        } else {
            Err("result columns do not line up")
        }
    }

    pub fn append(&mut self, other: Output) {
        self.inventory.append(other.inventory);
        self.by_strike.append(other.by_strike);
        self.by_expiry.append(other.by_expiry);
        self.total.append(other.total);
        self.stats.append(other.stats);
    }

    /// Removes and returns every row with time <= `t`.
    pub fn take_through(&mut self, t: i64) -> Output {
        Output {
            inventory: self.inventory.take_through(t),
            by_strike: self.by_strike.take_through(t),
            by_expiry: self.by_expiry.take_through(t),
            total: self.total.take_through(t),
            stats: self.stats.take_through(t),
        }
    }

    pub fn clone_through(&self, t: i64) -> Output {
        Output {
            inventory: self.inventory.clone_through(t),
            by_strike: self.by_strike.clone_through(t),
            by_expiry: self.by_expiry.clone_through(t),
            total: self.total.clone_through(t),
            stats: self.stats.clone_through(t),
        }
    }

    pub fn truncate_after(&mut self, t: i64) {
        self.inventory.truncate_after(t);
        self.by_strike.truncate_after(t);
        self.by_expiry.truncate_after(t);
        self.total.truncate_after(t);
        self.stats.truncate_after(t);
    }

    /// One output from per-asset outputs given in asset-name order: each step's
    /// rows part by part (the canonical order is asset first), each step's
    /// source counts summed.
    pub fn interleave(parts: Vec<Output>) -> Output {
        macro_rules! merged {
            ($table:ident, $ty:ident) => {{
                let tables: Vec<&$ty> = parts.iter().map(|o| &o.$table).collect();
                $ty::pick(&tables, &by_time(tables.iter().map(|t| &t.time[..])))
            }};
        }
        let mut out = Output {
            inventory: merged!(inventory, InventoryRows),
            by_strike: merged!(by_strike, StrikeRows),
            by_expiry: merged!(by_expiry, ExpiryRows),
            total: merged!(total, TotalRows),
            stats: StepStats::default(),
        };
        for (p, r) in by_time(parts.iter().map(|o| &o.stats.time[..])) {
            let stats = &parts[p as usize].stats;
            let (t, c) = (stats.time[r as usize], stats.counts[r as usize]);
            if out.stats.time.last() == Some(&t) {
                if let Some(last) = out.stats.counts.last_mut() {
                    last.add(&c);
                }
            } else {
                out.stats.time.push(t);
                out.stats.counts.push(c);
            }
        }
        out
    }

    /// The last reported step, if any.
    pub fn last_time(&self) -> Option<i64> {
        self.stats.time.last().copied()
    }

    /// Source counts summed over every step held.
    pub fn source_counts(&self) -> SourceCounts {
        let mut total = SourceCounts::default();
        for c in &self.stats.counts {
            total.add(c);
        }
        total
    }
}

/// `(part, row)` of every row of time-sorted parts: times ascending, and at
/// each time the parts in order, each part's rows in its own order.
fn by_time<'a>(times: impl Iterator<Item = &'a [i64]>) -> Vec<(u32, u32)> {
    let times: Vec<&[i64]> = times.collect();
    let mut pos = vec![0usize; times.len()];
    let mut out = Vec::with_capacity(times.iter().map(|t| t.len()).sum());
    while let Some(t) = times
        .iter()
        .zip(&pos)
        .filter_map(|(ts, &i)| ts.get(i).copied())
        .min()
    {
        for (p, ts) in times.iter().enumerate() {
            while pos[p] < ts.len() && ts[pos[p]] == t {
                out.push((p as u32, pos[p] as u32));
                pos[p] += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(times: &[i64]) -> TotalRows {
        TotalRows {
            time: times.to_vec(),
            asset: vec![0; times.len()],
            spot: times.iter().map(|&t| t as f64).collect(),
            gex: vec![1.0; times.len()],
            ..Default::default()
        }
    }

    #[test]
    fn range_operations_follow_time() {
        let mut t = totals(&[1, 2, 2, 3, 5]);
        let head = t.take_through(2);
        assert_eq!(head.time, vec![1, 2, 2]);
        assert_eq!(t.time, vec![3, 5]);
        assert_eq!(t.clone_through(4).time, vec![3]);
        t.drop_before(5);
        assert_eq!(t.spot, vec![5.0]);
        let mut u = totals(&[1, 2, 3]);
        u.truncate_after(1);
        assert_eq!(u.len(), 1);
        u.append(totals(&[7]));
        assert_eq!(u.time, vec![1, 7]);
    }

    #[test]
    fn exposure_columns_stay_empty_or_full() {
        let g = |delta| GreekSet {
            delta,
            ..GreekSet::default()
        };
        // Not asked: every range operation leaves the column empty.
        let mut t = totals(&[1, 2, 3]);
        let head = t.take_through(1);
        assert!(head.dex.is_empty() && t.dex.is_empty());
        t.drop_before(3);
        assert_eq!(t.clone_through(5).dex.len(), 0);
        let picked = TotalRows::pick(&[&totals(&[1]), &totals(&[1, 2])], &[(0, 0), (1, 1)]);
        assert!(picked.dex.is_empty() && picked.time == vec![1, 2]);
        // Asked: the column follows the rows.
        let mut a = totals(&[1, 2, 3]);
        a.dex = vec![10.0, 20.0, 30.0];
        assert_eq!(a.take_through(2).dex, vec![10.0, 20.0]);
        assert_eq!(a.dex, vec![30.0]);
        let b = TotalRows {
            dex: vec![5.0],
            ..totals(&[4])
        };
        assert_eq!(
            TotalRows::pick(&[&a, &b], &[(1, 0), (0, 0)]).dex,
            vec![5.0, 30.0]
        );
        // check_lengths: a column exactly when its greek was asked for.
        let mut out = Output {
            total: a,
            ..Output::default()
        };
        out.stats = StepStats::default();
        assert!(out.check_lengths(g(true)).is_ok());
        assert!(out.check_lengths(g(false)).is_err());
        out.total.dex.clear();
        assert!(out.check_lengths(g(true)).is_err());
        assert!(out.check_lengths(g(false)).is_ok());
    }
}
