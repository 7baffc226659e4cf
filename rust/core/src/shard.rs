//! Per-asset parallel replay (DESIGN section 3: assets never meet before the output).
//!
//! An option's inventory, as-of vol and underlying, and its asset's spot depend
//! only on rows of the same asset, so an update can be replayed asset by asset
//! on separate threads: each asset gets its own rows (in time order), a copy
//! of the state holding only its live options, pending trades and activity,
//! and the update's last bucket (so every replay evaluates the same grid
//! steps). The states are merged back per asset and the output rows are
//! interleaved per step in asset-name order — the canonical order a replay of
//! every row writes — so the result is bit-identical to the serial replay.
//!
//! Used only where it pays: two or more assets, results kept for the last
//! step only (`keep_inventory="last"`, `keep_aggregates="last"`), where the
//! per-asset outputs are small and merging them costs nothing next to the
//! replay, and either two or more threads or rows that a serial replay would
//! have to sort (each asset's in time order, not all of them: a dataset read
//! asset by asset). A shard that fails (a
//! missing price or vol) makes the caller replay serially, which raises the
//! error a serial replay meets first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::batch::{PartCursor, UpdateBatch};
use crate::config::Config;
use crate::grid::bucket_label;
use crate::output::{Keep, Output};
use crate::registry::Registry;
use crate::state::{EngineState, ExpiryGroup};
use crate::stream::{self, RowSet};
use crate::validate::{RowRuns, Validated};

/// One asset's replay: its state and output, or `None` if it failed.
type ShardResult = Option<(u16, EngineState, Output)>;

/// Whether an update with these options may be replayed asset by asset (so
/// validation looks for each asset's rows in time order).
pub fn possible(cfg: &Config) -> bool {
    cfg.keep.inventory == Keep::Last && cfg.keep.aggregates == Keep::Last
}

/// Whether to replay asset by asset: on two or more threads, or on one when
/// each asset's rows are in time order but not all rows (`unsorted_assets`,
/// validation's `deferred`): the replays then read each asset's rows as they
/// lie, where a serial replay would first sort every row by time.
pub fn applies(cfg: &Config, unsorted_assets: bool) -> bool {
    possible(cfg) && (rayon::current_num_threads() >= 2 || unsorted_assets)
}

/// Replays the update asset by asset in parallel. `None` when there are fewer
/// than two assets to replay or a shard failed (the caller replays serially).
pub fn process(
    st: &EngineState,
    reg: &Registry,
    cfg: &Config,
    batch: &UpdateBatch,
    v: &Validated,
    trades_by_asset: Option<Vec<RowRuns>>,
) -> Option<(EngineState, Output)> {
    let rows = split_rows(reg, batch, v, trades_by_asset);
    let assets: Vec<u16> = (0..reg.assets.len() as u16)
        .filter(|&a| has_state(st, reg, a) || rows[a as usize].is_some())
        .collect();
    if assets.len() < 2 {
        return None;
    }
    // Largest first, each thread taking the next asset when it is free (the
    // longest-processing-time rule: BTC, ETH, SOL, XRP at 45/35/12/8% of the
    // rows split 53/47 on two threads; rayon's own splitting would pair the
    // first two).
    let weight = |a: u16| {
        let r = rows[a as usize].as_ref();
        r.map_or(0, |r| r.trades.rows() + r.chain.len() + r.spot.len())
            + st.groups
                .iter()
                .filter(|g| g.asset == a)
                .map(|g| g.count as usize)
                .sum::<usize>()
    };
    // The grid starts at the update's first trade and results are kept from its
    // last trade, whichever asset traded: every replay starts from both.
    let label = |r: Option<usize>| {
        let b = batch.trades.as_ref()?;
        Some(bucket_label(b.ts_at(r?), cfg.resolution))
    };
    let (first, last) = (label(v.trades.first_row()), label(v.trades.last_row()));
    let mut order = assets;
    order.sort_by_key(|&a| std::cmp::Reverse(weight(a)));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<ShardResult>>> = order.iter().map(|_| Mutex::new(None)).collect();
    (0..rayon::current_num_threads())
        .into_par_iter()
        .for_each(|_| loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&a) = order.get(k) else { break };
            let mut s = for_asset(st, reg, a, first, last);
            let mut out = Output::default();
            let empty = RowSet::default();
            let mine = rows[a as usize].as_ref().unwrap_or(&empty);
            let ok = stream::process(&mut s, reg, cfg, batch, v, Some(mine), &mut out).is_ok();
            *slots[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(ok.then_some((a, s, out)));
        });
    let done = slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()).flatten());
    let mut done: Vec<(u16, EngineState, Output)> = done.collect::<Option<_>>()?;
    done.sort_by(|x, y| reg.assets[x.0 as usize].cmp(&reg.assets[y.0 as usize]));
    let merged = merge_states(st, reg, &done);
    let outs: Vec<Output> = done.into_iter().map(|(_, _, o)| o).collect();
    Some((merged, Output::interleave(outs)))
}

/// Each asset's accepted rows of the three tables, in time order. The trades'
/// come from validation when it found each asset's rows in time order already
/// (`trades_by_asset`, indexed by asset id), else from the time order of every row.
fn split_rows(
    reg: &Registry,
    batch: &UpdateBatch,
    v: &Validated,
    trades_by_asset: Option<Vec<RowRuns>>,
) -> Vec<Option<RowSet>> {
    let mut sets: Vec<Option<RowSet>> = (0..reg.assets.len()).map(|_| None).collect();
    fn at(sets: &mut [Option<RowSet>], a: u16) -> &mut RowSet {
        sets[a as usize].get_or_insert_with(RowSet::default)
    }
    if let Some(by_asset) = trades_by_asset {
        for (a, rows) in by_asset.into_iter().enumerate() {
            if !rows.0.is_empty() {
                at(&mut sets, a as u16).trades = rows;
            }
        }
    } else if let Some(b) = &batch.trades {
        let mut c = v.trades.cursor();
        let mut part_of = PartCursor::default();
        while let Some(r) = c.peek() {
            let (p, j) = part_of.locate(b, r);
            let id = v.trade_ids[b.parts[p].code(j) as usize];
            at(&mut sets, reg.consts[id as usize].asset)
                .trades
                .push(r as u32);
            c.advance();
        }
    }
    if let Some(b) = &batch.chain {
        let mut c = v.chain.cursor();
        while let Some(r) = c.peek() {
            let id = v.chain_ids[b.inst[r] as usize];
            at(&mut sets, reg.consts[id as usize].asset)
                .chain
                .push(r as u32);
            c.advance();
        }
    }
    if let Some(b) = &batch.spot {
        let mut c = v.spot.cursor();
        while let Some(r) = c.peek() {
            at(&mut sets, v.spot_assets[b.asset[r] as usize])
                .spot
                .push(r as u32);
            c.advance();
        }
    }
    sets
}

/// Whether asset `a` has state a step can report: live options, pending
/// trades, or a total row already (active).
fn has_state(st: &EngineState, reg: &Registry, a: u16) -> bool {
    st.assets.get(a as usize).is_some_and(|s| s.active)
        || st.groups.iter().any(|g| g.asset == a)
        || st
            .pending
            .iter()
            .any(|p| reg.consts[p.inst as usize].asset == a)
}

/// A copy of the state that holds only asset `a`'s live options, expiry
/// groups, pending trades and activity (the rest is carried but unused), and
/// the update's grid start and last trade (set by any asset's trades).
fn for_asset(
    st: &EngineState,
    reg: &Registry,
    a: u16,
    first_trade: Option<i64>,
    last_trade: Option<i64>,
) -> EngineState {
    let mut s = st.clone();
    if let Some(e) = first_trade {
        s.next_eval.get_or_insert(e);
    }
    s.last_trade_label = s.last_trade_label.max(last_trade);
    let mut remap = vec![u32::MAX; st.groups.len()];
    s.groups.clear();
    for (g, grp) in st.groups.iter().enumerate() {
        if grp.asset == a {
            remap[g] = s.groups.len() as u32;
            s.groups.push(*grp);
        }
    }
    s.live.clear();
    s.live_group.clear();
    for (&id, &g) in st.live.iter().zip(&st.live_group) {
        if reg.consts[id as usize].asset == a {
            s.live.push(id);
            s.live_group.push(remap[g as usize]);
        }
    }
    s.pending.retain(|p| reg.consts[p.inst as usize].asset == a);
    for (b, asset) in s.assets.iter_mut().enumerate() {
        if b != a as usize {
            asset.active = false;
        }
    }
    s
}

/// The state a serial replay would have: each asset's options and asset state
/// from its shard, live sets and groups concatenated in asset-name order
/// (canonical order is asset first), pending trades and open ids united.
fn merge_states(
    base: &EngineState,
    reg: &Registry,
    done: &[(u16, EngineState, Output)],
) -> EngineState {
    let mut m = base.clone();
    let mut owner = vec![usize::MAX; reg.assets.len()];
    for (k, (a, _, _)) in done.iter().enumerate() {
        owner[*a as usize] = k;
    }
    for (id, c) in reg.consts.iter().enumerate() {
        let k = owner[c.asset as usize];
        if k != usize::MAX {
            m.inst[id] = done[k].1.inst[id].clone();
        }
    }
    m.live.clear();
    m.live_group.clear();
    m.groups = Vec::<ExpiryGroup>::new();
    m.pending.clear();
    m.open_ids.clear();
    for (a, s, _) in done {
        m.assets[*a as usize] = s.assets[*a as usize].clone();
        let offset = m.groups.len() as u32;
        m.groups.extend_from_slice(&s.groups);
        m.live.extend_from_slice(&s.live);
        m.live_group.extend(s.live_group.iter().map(|g| g + offset));
        m.pending.extend_from_slice(&s.pending);
        m.open_ids.extend(s.open_ids.iter().copied());
        m.counters.traded_instruments +=
            s.counters.traded_instruments - base.counters.traded_instruments;
        m.open_label = m.open_label.max(s.open_label);
        m.next_eval = m.next_eval.max(s.next_eval);
        m.last_trade_label = m.last_trade_label.max(s.last_trade_label);
    }
    m
}
