//! Evaluating grid steps: gamma and GEX per live instrument (rules 5–10) and
//! the three aggregates (rule 11).
//!
//! The sequential replay only *gathers* each step's inputs (inventory, as-of
//! spot and vol, time to expiry) into a [`StepBatch`]; [`flush`] then computes
//! gamma and GEX for the whole block in parallel and aggregates every step in
//! parallel. Each step is summed sequentially in canonical instrument order,
//! so the output does not depend on the number of threads or on chunking.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::batch::prefetch;
use crate::error::{fmt_time, CoreError, Result};
use crate::exposure::{first_order_exposure, gex, GreekSet, Unit, CEX_SCALE, DEX_SCALE, VEX_SCALE};
use crate::greeks::block_out::GreeksOut;
use crate::greeks::first_order::greeks_block;
use crate::greeks::{gamma_block, CHUNK};
use crate::grid::year_fraction;
use crate::output::{
    ExpiryRows, InventoryRows, Output, Retention, SourceCounts, StepStats, StrikeRows, TotalRows,
};
use crate::registry::Registry;
use crate::state::EngineState;

/// Policy for a live instrument with no volatility (DESIGN rule 6).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum MissingVol {
    Error,
    /// Gamma 0 for that row (the row stays, with vol 0), counted.
    Skip,
    /// Use this volatility, counted.
    Fill(f64),
}

/// Policy for a live instrument with no underlying price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MissingSpot {
    Error,
    /// Spot 0 for that row, so gamma and GEX are 0, counted.
    Skip,
}

/// What evaluation needs from the engine configuration.
#[derive(Clone, Copy, Debug)]
pub struct EvalConfig {
    pub unit: Unit,
    pub rate: f64,
    pub missing_vol: MissingVol,
    pub missing_spot: MissingSpot,
    /// Greeks beyond gamma whose exposures are computed (rule 16).
    pub greeks: GreekSet,
}

/// Inputs of a block of steps, gathered by the sequential replay.
#[derive(Default)]
pub struct StepBatch {
    pub step_time: Vec<i64>,
    /// End offset (into the row columns) of each step.
    pub row_end: Vec<usize>,
    pub inst: Vec<u32>,
    pub inventory: Vec<f64>,
    pub spot: Vec<f64>,
    pub vol: Vec<f64>,
    pub tau: Vec<f64>,
    /// Per row: its (asset, expiry) group within the step.
    pub group: Vec<u32>,
    /// The groups of each step (asset, expiry), in output order; `group_end` offsets.
    pub group_end: Vec<usize>,
    pub group_asset: Vec<u16>,
    pub group_expiry: Vec<i64>,
    /// End offset (into the total columns) of each step; assets in name order.
    pub total_end: Vec<usize>,
    pub total_asset: Vec<u16>,
    pub total_spot: Vec<f64>,
    pub counts: Vec<SourceCounts>,
    /// Chain gamma overriding the model's at the evaluation spot (classic mode).
    pub gamma_override: Option<Vec<f64>>,
    /// Scratch for [`flush`]'s gamma and GEX columns, kept across flushes.
    gamma: Vec<f64>,
    gexv: Vec<f64>,
    /// Scratch for DEX, VEX and CEX (left empty when not asked for).
    firstv: [Vec<f64>; 3],
    /// Filled by one asset's replay of the per-asset parallel replay (`shard`):
    /// every thread already replays an asset, so blocks are small and flushed
    /// on this thread (see [`FLUSH_ROWS_SHARD`]).
    pub in_shard: bool,
}

impl StepBatch {
    pub fn rows(&self) -> usize {
        self.inst.len()
    }

    /// Empties the batch but keeps every allocation: a long replay flushes
    /// hundreds of blocks, and reusing the same pages avoids a kernel page
    /// fault (and zeroing) for every byte of every block.
    fn clear(&mut self) {
        let StepBatch {
            step_time,
            row_end,
            inst,
            inventory,
            spot,
            vol,
            tau,
            group,
            group_end,
            group_asset,
            group_expiry,
            total_end,
            total_asset,
            total_spot,
            counts,
            gamma_override,
            gamma: _,
            gexv: _,
            firstv: _,
            in_shard: _,
        } = self;
        step_time.clear();
        row_end.clear();
        inst.clear();
        group.clear();
        group_end.clear();
        group_asset.clear();
        group_expiry.clear();
        total_end.clear();
        total_asset.clear();
        counts.clear();
        for v in [inventory, spot, vol, tau, total_spot] {
            v.clear();
        }
        *gamma_override = None;
    }

    /// Room for about `rows` more rows (capped at a flush's worth), so a block
    /// of steps fills its vectors without reallocating.
    /// Rows gathered before a block is flushed.
    pub fn flush_rows(&self) -> usize {
        if self.in_shard {
            FLUSH_ROWS_SHARD
        } else {
            FLUSH_ROWS
        }
    }

    /// Rayon's least rows per task in a flush: one task (no fork, no join)
    /// inside a shard.
    fn min_task(&self, parallel: usize) -> usize {
        if self.in_shard {
            usize::MAX
        } else {
            parallel
        }
    }

    pub fn reserve_rows(&mut self, rows: usize) {
        // A block that will fill up takes a whole flush's worth at once: growing by
        // doubling would copy every vector several times (large allocations are
        // mapped lazily, so unused capacity costs nothing).
        let cap = self.flush_rows() + 65_536;
        let rows = if self.inst.capacity() == 0 {
            cap
        } else {
            rows.min(cap)
        };
        if self.inst.capacity() - self.inst.len() < rows {
            self.inst.reserve(rows);
            self.group.reserve(rows);
            for v in [
                &mut self.inventory,
                &mut self.spot,
                &mut self.vol,
                &mut self.tau,
            ] {
                v.reserve(rows);
            }
        }
    }
}

/// Rows gathered before a block is flushed; bounds memory for long replays.
pub const FLUSH_ROWS: usize = 1 << 20;

/// The same inside one asset's replay of the per-asset parallel replay: 64 Ki
/// rows (about 4 MB of step columns, gamma and GEX) instead of 1 Mi, flushed
/// serially on the shard's thread. A block is read back from cache instead of
/// memory, each shard faults in 16 times fewer fresh pages (~4 s per GiB on a
/// VM with free page reporting), and no flush forks work to a thread that is
/// busy with another asset (a join waits for it: on a loaded machine, a
/// scheduler quantum per flush). Blocks hold whole steps, so the size changes
/// no result (issue 17).
pub const FLUSH_ROWS_SHARD: usize = 1 << 16;

/// How many live options ahead `gather_step` prefetches their state: live ids
/// are in canonical order, not memory order, so each row would be a cache miss.
const GATHER_AHEAD: usize = 8;

/// Gathers step `t` from the replay state (which must hold every event with τ < t).
pub fn gather_step(
    st: &mut EngineState,
    reg: &Registry,
    cfg: &EvalConfig,
    t: i64,
    batch: &mut StepBatch,
) -> Result<()> {
    st.roll_off(reg, t);
    // Every live option belongs to a group, so the groups name the assets with live options.
    for g in &st.groups {
        st.assets[g.asset as usize].active = true;
    }
    let mut assets: Vec<u16> = (0..st.assets.len() as u16)
        .filter(|&a| st.assets[a as usize].active)
        .collect();
    if st.live.is_empty() && assets.is_empty() {
        return Ok(());
    }
    // The asset-level spot (spot table, else index price) once per asset, not per row.
    let asset_spot: Vec<(f64, u8)> = st
        .assets
        .iter()
        .map(|a| match (a.spot, a.index) {
            (Some(o), _) => (o.value, SRC_TABLE),
            (None, Some(o)) => (o.value, SRC_INDEX),
            (None, None) => (0.0, SRC_MISSING),
        })
        .collect();
    let n = st.live.len();
    batch.reserve_rows(n);
    let base = batch.inst.len();
    let mut spot_src = [0u64; 4];
    let mut vol_src = [0u64; 3];
    {
        // Rows are written into spare capacity (no zero-fill first); lengths are set
        // only after every row is written, so an error leaves the batch unchanged.
        let inv = &mut batch.inventory.spare_capacity_mut()[..n];
        let spot = &mut batch.spot.spare_capacity_mut()[..n];
        let vol = &mut batch.vol.spare_capacity_mut()[..n];
        let tau = &mut batch.tau.spare_capacity_mut()[..n];
        for (j, &id) in st.live.iter().enumerate() {
            if let Some(&next) = st.live.get(j + GATHER_AHEAD) {
                prefetch(&st.inst, next as usize);
                prefetch(&reg.consts, next as usize);
            }
            let c = &reg.consts[id as usize];
            let is = &st.inst[id as usize];
            let (s, ss) = match is.chain_underlying {
                Some(o) => (o.value, SRC_CHAIN),
                None => asset_spot[c.asset as usize],
            };
            spot_src[ss as usize] += 1;
            if ss == SRC_MISSING && cfg.missing_spot == MissingSpot::Error {
                return Err(CoreError::MissingSpot {
                    instrument: reg.info(id).name.clone(),
                    time: fmt_time(t),
                    time_ns: t,
                });
            }
            let (v, vs) = match (is.chain_iv, is.trade_iv) {
                (Some(o), _) => (o.value, 0),
                (None, Some(o)) => (o.value, 1),
                (None, None) => match cfg.missing_vol {
                    MissingVol::Error => {
                        return Err(CoreError::MissingVol {
                            instrument: reg.info(id).name.clone(),
                            time: fmt_time(t),
                            time_ns: t,
                        })
                    }
                    MissingVol::Skip => (0.0, 2),
                    MissingVol::Fill(f) => (f, 2),
                },
            };
            vol_src[vs] += 1;
            inv[j].write(is.inventory);
            spot[j].write(s);
            vol[j].write(v);
            tau[j].write(year_fraction(c.expiry_ns, t));
        }
    }
    // SAFETY: the loop above initialised rows base..base+n of the four vectors.
    unsafe {
        batch.inventory.set_len(base + n);
        batch.spot.set_len(base + n);
        batch.vol.set_len(base + n);
        batch.tau.set_len(base + n);
    }
    batch.inst.extend_from_slice(&st.live);
    batch.group.extend_from_slice(&st.live_group);
    for g in &st.groups {
        batch.group_asset.push(g.asset);
        batch.group_expiry.push(g.expiry_ns);
    }
    batch.group_end.push(batch.group_asset.len());
    assets.sort_by(|&a, &b| reg.assets[a as usize].cmp(&reg.assets[b as usize]));
    for a in assets {
        batch.total_asset.push(a);
        batch
            .total_spot
            .push(st.assets[a as usize].spot_value().unwrap_or(0.0));
    }
    batch.step_time.push(t);
    batch.row_end.push(batch.inst.len());
    batch.total_end.push(batch.total_asset.len());
    batch.counts.push(SourceCounts {
        spot_chain: spot_src[SRC_CHAIN as usize],
        spot_table: spot_src[SRC_TABLE as usize],
        spot_index: spot_src[SRC_INDEX as usize],
        spot_missing: spot_src[SRC_MISSING as usize],
        vol_chain: vol_src[0],
        vol_trade: vol_src[1],
        vol_missing: vol_src[2],
    });
    Ok(())
}

const SRC_CHAIN: u8 = 0;
const SRC_TABLE: u8 = 1;
const SRC_INDEX: u8 = 2;
const SRC_MISSING: u8 = 3;

/// One step's aggregates.
#[derive(Default)]
struct StepAgg {
    strike: StrikeRows,
    expiry: ExpiryRows,
    total: TotalRows,
}

impl StepAgg {
    /// At most one strike or expiry row per live row, one total per active asset.
    fn with_capacity(rows: usize, assets: usize) -> StepAgg {
        let (r, a) = (rows, assets);
        StepAgg {
            strike: StrikeRows {
                time: Vec::with_capacity(r),
                asset: Vec::with_capacity(r),
                strike: Vec::with_capacity(r),
                call_gex: Vec::with_capacity(r),
                put_gex: Vec::with_capacity(r),
                gex: Vec::with_capacity(r),
                ..Default::default()
            },
            expiry: ExpiryRows {
                time: Vec::with_capacity(r),
                asset: Vec::with_capacity(r),
                expiry: Vec::with_capacity(r),
                gex: Vec::with_capacity(r),
                ..Default::default()
            },
            total: TotalRows {
                time: Vec::with_capacity(a),
                asset: Vec::with_capacity(a),
                spot: Vec::with_capacity(a),
                gex: Vec::with_capacity(a),
                ..Default::default()
            },
        }
    }
}

/// Computes gamma and GEX for every gathered row and aggregates every step,
/// appending to `out`. Under `Keep::Last` rows before min(last step,
/// `retain_from`) are dropped, and their strike/expiry aggregates are never built.
pub fn flush(
    batch: &mut StepBatch,
    reg: &Registry,
    cfg: &EvalConfig,
    keep: Retention,
    retain_from: i64,
    out: &mut Output,
) {
    if batch.step_time.is_empty() {
        batch.clear();
        return;
    }
    let mut gamma = std::mem::take(&mut batch.gamma);
    let mut gexv = std::mem::take(&mut batch.gexv);
    let b = &*batch;
    let n = b.inst.len();
    for v in [&mut gamma, &mut gexv] {
        v.clear();
        v.resize(n, 0.0);
    }
    let consts = &reg.consts;
    gamma
        .par_chunks_mut(CHUNK)
        .zip(gexv.par_chunks_mut(CHUNK))
        .enumerate()
        .with_min_len(b.min_task(1))
        .for_each(|(c, (g, x))| {
            let lo = c * CHUNK;
            let hi = lo + g.len();
            match &b.gamma_override {
                Some(over) => g.copy_from_slice(&over[lo..hi]),
                None => {
                    let k: Vec<f64> = b.inst[lo..hi]
                        .iter()
                        .map(|&id| consts[id as usize].strike)
                        .collect();
                    gamma_block(
                        g,
                        &b.spot[lo..hi],
                        &k,
                        &b.tau[lo..hi],
                        &b.vol[lo..hi],
                        cfg.rate,
                    );
                }
            }
            let (inv, spot, inst) = (&b.inventory[lo..hi], &b.spot[lo..hi], &b.inst[lo..hi]);
            let m = |j: usize| consts[inst[j] as usize].multiplier;
            // One loop per unit, so the unit is not matched per row.
            match cfg.unit {
                Unit::UsdPer1Pct => (0..g.len())
                    .for_each(|j| x[j] = gex(g[j], inv[j], m(j), spot[j], Unit::UsdPer1Pct)),
                Unit::UsdPerPoint => (0..g.len())
                    .for_each(|j| x[j] = gex(g[j], inv[j], m(j), spot[j], Unit::UsdPerPoint)),
                Unit::Underlying => (0..g.len())
                    .for_each(|j| x[j] = gex(g[j], inv[j], m(j), spot[j], Unit::Underlying)),
            }
        });

    let mut firstv = std::mem::take(&mut batch.firstv);
    first_order_pass(batch, reg, cfg, &mut firstv);
    let b = &*batch;

    let steps = b.step_time.len();
    let last = b.step_time[steps - 1];
    let asked = [cfg.greeks.delta, cfg.greeks.vanna, cfg.greeks.charm];
    let aggs: Vec<StepAgg> = (0..steps)
        .into_par_iter()
        .with_min_len(b.min_task(64))
        .map(|s| {
            let lo = if s == 0 { 0 } else { b.row_end[s - 1] };
            let tlo = if s == 0 { 0 } else { b.total_end[s - 1] };
            let glo = if s == 0 { 0 } else { b.group_end[s - 1] };
            aggregate_step(
                reg,
                b.step_time[s],
                &b.inst[lo..b.row_end[s]],
                &gexv[lo..b.row_end[s]],
                // A greek asked for has a column even when no option is live at this step
                // (its totals are then 0): decided by the options, not by the rows.
                std::array::from_fn(|j| asked[j].then(|| &firstv[j][lo..b.row_end[s]])),
                &b.group[lo..b.row_end[s]],
                (
                    &b.group_asset[glo..b.group_end[s]],
                    &b.group_expiry[glo..b.group_end[s]],
                ),
                &b.total_asset[tlo..b.total_end[s]],
                &b.total_spot[tlo..b.total_end[s]],
                keep.aggregates_needed(b.step_time[s], last, retain_from),
            )
        })
        .collect();
    for a in aggs {
        out.by_strike.append(a.strike);
        out.by_expiry.append(a.expiry);
        out.total.append(a.total);
    }
    out.stats.append(StepStats {
        time: b.step_time.clone(),
        counts: b.counts.clone(),
    });

    // Under keep_inventory="last" only the rows of steps at or after min(last, retain_from) can
    // be reported: move just those (the head of the batch is dropped, never copied).
    let first_step = match keep.inventory {
        crate::output::Keep::All => 0,
        crate::output::Keep::Last => b.step_time.partition_point(|&t| t < last.min(retain_from)),
    };
    let row0 = if first_step == 0 {
        0
    } else {
        b.row_end[first_step - 1]
    };
    let mut time = Vec::with_capacity(n - row0);
    let mut lo = row0;
    for s in first_step..steps {
        let end = b.row_end[s];
        time.extend(std::iter::repeat_n(b.step_time[s], end - lo));
        lo = end;
    }
    if row0 == 0 {
        // Every row is reported: the columns move to the output (no copy).
        out.inventory.append(InventoryRows {
            time,
            inst: std::mem::take(&mut batch.inst),
            inventory: std::mem::take(&mut batch.inventory),
            spot: std::mem::take(&mut batch.spot),
            vol: std::mem::take(&mut batch.vol),
            gamma,
            gex: gexv,
            dex: std::mem::take(&mut firstv[0]),
            vex: std::mem::take(&mut firstv[1]),
            cex: std::mem::take(&mut firstv[2]),
        });
    } else {
        // Only the tail is reported: copy it and keep the block's pages for the next one.
        out.inventory.append(InventoryRows {
            time,
            inst: b.inst[row0..].to_vec(),
            inventory: b.inventory[row0..].to_vec(),
            spot: b.spot[row0..].to_vec(),
            vol: b.vol[row0..].to_vec(),
            gamma: gamma[row0..].to_vec(),
            gex: gexv[row0..].to_vec(),
            dex: firstv[0].get(row0..).unwrap_or_default().to_vec(),
            vex: firstv[1].get(row0..).unwrap_or_default().to_vec(),
            cex: firstv[2].get(row0..).unwrap_or_default().to_vec(),
        });
        batch.gamma = gamma;
        batch.gexv = gexv;
        batch.firstv = firstv;
    }
    batch.clear();
    keep.trim(out, retain_from);
}

/// Aggregates one step whose rows are in canonical order (asset, strike, expiry, kind, quote).
#[allow(clippy::too_many_arguments)]
fn aggregate_step(
    reg: &Registry,
    t: i64,
    inst: &[u32],
    gexv: &[f64],
    fx: [Option<&[f64]>; 3],
    group: &[u32],
    groups: (&[u16], &[i64]),
    total_asset: &[u16],
    total_spot: &[f64],
    strikes_and_expiries: bool,
) -> StepAgg {
    let c = &reg.consts;
    let n = inst.len();
    let mut agg =
        StepAgg::with_capacity(if strikes_and_expiries { n } else { 0 }, total_asset.len());
    // By strike: canonical order makes (asset, strike) groups contiguous.
    let mut i = if strikes_and_expiries { 0 } else { n };
    while i < n {
        let first = c[inst[i] as usize];
        let (mut call, mut put) = (0.0, 0.0);
        let mut f = [0.0f64; 3];
        while i < n {
            let ci = c[inst[i] as usize];
            if ci.asset != first.asset || ci.strike != first.strike {
                break;
            }
            if ci.is_call {
                call += gexv[i];
            } else {
                put += gexv[i];
            }
            add_first(&mut f, &fx, i);
            i += 1;
        }
        let s = &mut agg.strike;
        s.time.push(t);
        s.asset.push(first.asset);
        s.strike.push(first.strike);
        s.call_gex.push(call);
        s.put_gex.push(put);
        s.gex.push(call + put);
        push_first([&mut s.dex, &mut s.vex, &mut s.cex], &fx, f);
    }
    // By expiry: each row adds to its group's slot, in canonical order.
    if strikes_and_expiries {
        let (g_asset, g_expiry) = groups;
        let mut sums = vec![0.0f64; g_asset.len()];
        for (g, x) in group.iter().zip(gexv) {
            sums[*g as usize] += x;
        }
        let mut fsums = vec![
            [0.0f64; 3];
            if fx.iter().any(Option::is_some) {
                g_asset.len()
            } else {
                0
            }
        ];
        if !fsums.is_empty() {
            for (i, g) in group.iter().enumerate() {
                add_first(&mut fsums[*g as usize], &fx, i);
            }
        }
        let e = &mut agg.expiry;
        for (k, sum) in sums.into_iter().enumerate() {
            e.time.push(t);
            e.asset.push(g_asset[k]);
            e.expiry.push(g_expiry[k]);
            e.gex.push(sum);
            push_first(
                [&mut e.dex, &mut e.vex, &mut e.cex],
                &fx,
                fsums.get(k).copied().unwrap_or_default(),
            );
        }
    }
    // Totals: active assets in name order; the canonical order groups rows by asset in the same order.
    let mut i = 0;
    for (k, &asset) in total_asset.iter().enumerate() {
        let mut sum = 0.0;
        let mut f = [0.0f64; 3];
        while i < n && c[inst[i] as usize].asset == asset {
            sum += gexv[i];
            add_first(&mut f, &fx, i);
            i += 1;
        }
        let tr = &mut agg.total;
        tr.time.push(t);
        tr.asset.push(asset);
        tr.spot.push(total_spot[k]);
        tr.gex.push(sum);
        push_first([&mut tr.dex, &mut tr.vex, &mut tr.cex], &fx, f);
    }
    debug_assert_eq!(i, n, "every live row belongs to an active asset");
    agg
}

/// Adds row `i` of each asked-for exposure column (`first`: DEX, VEX, CEX; None when not asked).
#[inline]
fn add_first(acc: &mut [f64; 3], first: &[Option<&[f64]>; 3], i: usize) {
    for (a, col) in acc.iter_mut().zip(first) {
        if let Some(col) = col {
            *a += col[i];
        }
    }
}

/// Pushes each asked-for exposure sum onto its output column.
#[inline]
fn push_first(cols: [&mut Vec<f64>; 3], first: &[Option<&[f64]>; 3], sums: [f64; 3]) {
    for ((col, src), x) in cols.into_iter().zip(first).zip(sums) {
        if src.is_some() {
            col.push(x);
        }
    }
}

/// DEX, VEX and CEX of every gathered row into `firstv` (each left empty unless
/// asked for): delta, vanna and charm from the one-pass kernel sharing d₁, then
/// scaled per rule 16. Nothing runs for a gamma-only run.
fn first_order_pass(b: &StepBatch, reg: &Registry, cfg: &EvalConfig, firstv: &mut [Vec<f64>; 3]) {
    let g = cfg.greeks;
    let n = b.inst.len();
    for (v, on) in firstv.iter_mut().zip([g.delta, g.vanna, g.charm]) {
        v.clear();
        if on {
            v.resize(n, 0.0);
        }
    }
    if !g.any() || n == 0 {
        return;
    }
    let chunks = n.div_ceil(CHUNK);
    fn split(v: &mut [f64], chunks: usize) -> Vec<Option<&mut [f64]>> {
        if v.is_empty() {
            (0..chunks).map(|_| None).collect()
        } else {
            v.chunks_mut(CHUNK).map(Some).collect()
        }
    }
    let [dv, vv, cv] = firstv;
    let (d, v, c) = (split(dv, chunks), split(vv, chunks), split(cv, chunks));
    let consts = &reg.consts;
    d.into_par_iter()
        .zip(v)
        .zip(c)
        .enumerate()
        .with_min_len(b.min_task(1))
        .for_each(|(ci, ((mut d, mut v), mut c))| {
            let lo = ci * CHUNK;
            let hi = (lo + CHUNK).min(n);
            let inst = &b.inst[lo..hi];
            let k: Vec<f64> = inst.iter().map(|&id| consts[id as usize].strike).collect();
            let is_call: Vec<bool> = inst.iter().map(|&id| consts[id as usize].is_call).collect();
            greeks_block(
                GreeksOut {
                    gamma: None,
                    delta: d.as_deref_mut(),
                    vanna: v.as_deref_mut(),
                    charm: c.as_deref_mut(),
                },
                &b.spot[lo..hi],
                &k,
                &b.tau[lo..hi],
                &b.vol[lo..hi],
                &[cfg.rate],
                &is_call,
            );
            let (inv, spot) = (&b.inventory[lo..hi], &b.spot[lo..hi]);
            for (col, scale) in [(d, DEX_SCALE), (v, VEX_SCALE), (c, CEX_SCALE)] {
                if let Some(x) = col {
                    for j in 0..x.len() {
                        let m = consts[inst[j] as usize].multiplier;
                        x[j] = first_order_exposure(x[j], inv[j], m, spot[j], scale, cfg.unit);
                    }
                }
            }
        });
}
