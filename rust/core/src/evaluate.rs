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

use crate::error::{fmt_time, CoreError, Result};
use crate::exposure::{gex, Unit};
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
    /// Per row: position within its step in (asset, expiry) order.
    pub expiry_order: Vec<u32>,
    /// End offset (into the total columns) of each step; assets in name order.
    pub total_end: Vec<usize>,
    pub total_asset: Vec<u16>,
    pub total_spot: Vec<f64>,
    pub counts: Vec<SourceCounts>,
    /// Chain gamma overriding the model's at the evaluation spot (classic mode).
    pub gamma_override: Option<Vec<f64>>,
}

impl StepBatch {
    pub fn rows(&self) -> usize {
        self.inst.len()
    }

    /// Room for `rows` more rows (amortised: vectors at least double).
    fn reserve(&mut self, rows: usize) {
        if self.inst.capacity() - self.inst.len() < rows {
            let extra = rows.max(self.inst.len()).min(FLUSH_ROWS);
            self.inst.reserve(extra);
            self.inventory.reserve(extra);
            self.spot.reserve(extra);
            self.vol.reserve(extra);
            self.tau.reserve(extra);
            self.expiry_order.reserve(extra);
        }
    }
}

/// Rows gathered before a block is flushed; bounds memory for long replays.
pub const FLUSH_ROWS: usize = 1 << 20;

/// Gathers step `t` from the replay state (which must hold every event with τ < t).
pub fn gather_step(
    st: &mut EngineState,
    reg: &Registry,
    cfg: &EvalConfig,
    t: i64,
    batch: &mut StepBatch,
) -> Result<()> {
    st.roll_off(reg, t);
    for &id in &st.live {
        st.assets[reg.info(id).asset as usize].active = true;
    }
    let mut assets: Vec<u16> = (0..st.assets.len() as u16)
        .filter(|&a| st.assets[a as usize].active)
        .collect();
    if st.live.is_empty() && assets.is_empty() {
        return Ok(());
    }
    let mut counts = SourceCounts::default();
    batch.reserve(st.live.len());
    for &id in &st.live {
        let info = &reg.consts[id as usize];
        let is = &st.inst[id as usize];
        let asset = &st.assets[info.asset as usize];
        let spot = if let Some(o) = is.chain_underlying {
            counts.spot_chain += 1;
            o.value
        } else if let Some(o) = asset.spot {
            counts.spot_table += 1;
            o.value
        } else if let Some(o) = asset.index {
            counts.spot_index += 1;
            o.value
        } else {
            counts.spot_missing += 1;
            match cfg.missing_spot {
                MissingSpot::Error => {
                    return Err(CoreError::MissingSpot {
                        instrument: reg.info(id).name.clone(),
                        time: fmt_time(t),
                    })
                }
                MissingSpot::Skip => 0.0,
            }
        };
        let vol = if let Some(o) = is.chain_iv {
            counts.vol_chain += 1;
            o.value
        } else if let Some(o) = is.trade_iv {
            counts.vol_trade += 1;
            o.value
        } else {
            counts.vol_missing += 1;
            match cfg.missing_vol {
                MissingVol::Error => {
                    return Err(CoreError::MissingVol {
                        instrument: reg.info(id).name.clone(),
                        time: fmt_time(t),
                    })
                }
                MissingVol::Skip => 0.0,
                MissingVol::Fill(v) => v,
            }
        };
        batch.inst.push(id);
        batch.inventory.push(is.inventory);
        batch.spot.push(spot);
        batch.vol.push(vol);
        batch.tau.push(year_fraction(info.expiry_ns, t));
    }
    batch.expiry_order.extend_from_slice(&st.live_by_expiry);
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
    batch.counts.push(counts);
    Ok(())
}

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
            },
            expiry: ExpiryRows {
                time: Vec::with_capacity(r),
                asset: Vec::with_capacity(r),
                expiry: Vec::with_capacity(r),
                gex: Vec::with_capacity(r),
            },
            total: TotalRows {
                time: Vec::with_capacity(a),
                asset: Vec::with_capacity(a),
                spot: Vec::with_capacity(a),
                gex: Vec::with_capacity(a),
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
        *batch = StepBatch::default();
        return;
    }
    let b = std::mem::take(batch);
    let n = b.inst.len();
    let mut gamma = vec![0.0f64; n];
    let mut gexv = vec![0.0f64; n];
    let consts = &reg.consts;
    gamma
        .par_chunks_mut(CHUNK)
        .zip(gexv.par_chunks_mut(CHUNK))
        .enumerate()
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

    let steps = b.step_time.len();
    let last = b.step_time[steps - 1];
    let aggs: Vec<StepAgg> = (0..steps)
        .into_par_iter()
        .with_min_len(64)
        .map(|s| {
            let lo = if s == 0 { 0 } else { b.row_end[s - 1] };
            let tlo = if s == 0 { 0 } else { b.total_end[s - 1] };
            aggregate_step(
                reg,
                b.step_time[s],
                &b.inst[lo..b.row_end[s]],
                &gexv[lo..b.row_end[s]],
                &b.expiry_order[lo..b.row_end[s]],
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
        counts: b.counts,
    });

    let mut time = Vec::with_capacity(n);
    let mut lo = 0;
    for (s, &end) in b.row_end.iter().enumerate() {
        time.extend(std::iter::repeat_n(b.step_time[s], end - lo));
        lo = end;
    }
    out.inventory.append(InventoryRows {
        time,
        inst: b.inst,
        inventory: b.inventory,
        spot: b.spot,
        vol: b.vol,
        gamma,
        gex: gexv,
    });
    keep.trim(out, retain_from);
}

/// Aggregates one step whose rows are in canonical order (asset, strike, expiry, kind, quote).
#[allow(clippy::too_many_arguments)]
fn aggregate_step(
    reg: &Registry,
    t: i64,
    inst: &[u32],
    gexv: &[f64],
    expiry_order: &[u32],
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
            i += 1;
        }
        let s = &mut agg.strike;
        s.time.push(t);
        s.asset.push(first.asset);
        s.strike.push(first.strike);
        s.call_gex.push(call);
        s.put_gex.push(put);
        s.gex.push(call + put);
    }
    // By expiry: walk the (asset, expiry) permutation.
    let mut j = if strikes_and_expiries {
        0
    } else {
        expiry_order.len()
    };
    while j < expiry_order.len() {
        let first = c[inst[expiry_order[j] as usize] as usize];
        let mut sum = 0.0;
        while j < expiry_order.len() {
            let q = expiry_order[j] as usize;
            let cq = c[inst[q] as usize];
            if cq.asset != first.asset || cq.expiry_ns != first.expiry_ns {
                break;
            }
            sum += gexv[q];
            j += 1;
        }
        let e = &mut agg.expiry;
        e.time.push(t);
        e.asset.push(first.asset);
        e.expiry.push(first.expiry_ns);
        e.gex.push(sum);
    }
    // Totals: active assets in name order; the canonical order groups rows by asset in the same order.
    let mut i = 0;
    for (k, &asset) in total_asset.iter().enumerate() {
        let mut sum = 0.0;
        while i < n && c[inst[i] as usize].asset == asset {
            sum += gexv[i];
            i += 1;
        }
        let tr = &mut agg.total;
        tr.time.push(t);
        tr.asset.push(asset);
        tr.spot.push(total_spot[k]);
        tr.gex.push(sum);
    }
    debug_assert_eq!(i, n, "every live row belongs to an active asset");
    agg
}
