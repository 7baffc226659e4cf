//! The grid budget (DESIGN section 5, amended): before an update or a result
//! evaluates any step, count the cells it would evaluate — grid steps, or
//! (step, live option) pairs when there are more — and refuse with a
//! [`CoreError::GridTooLarge`] naming the time span when the count exceeds the
//! configured limit. A stray row stamped in 1970, an `end` in 2262 or a
//! resolution of 1 ns then fails in microseconds instead of allocating until
//! the process aborts.
//!
//! A step costs at least [`STEP_CELLS`] cells (its totals, statistics and
//! bookkeeping), so a grid of many steps with few options is bounded too.
//!
//! Under `errors="quarantine"` an update first sets aside isolated outlier
//! times: its accepted rows are split into clusters wherever consecutive
//! times are more than `outlier_gap` apart; the cluster holding the most rows
//! is the data, and the rows of the other clusters — when they are at most 1%
//! of the update's rows — become `outlier_timestamp` bad rows. The rule looks
//! within one call (an update of the engine), and `outlier_gap=None` turns it off.

use crate::batch::UpdateBatch;
use crate::config::Config;
use crate::error::{fmt_time, CoreError, Result};
use crate::grid::bucket_label;
use crate::registry::Registry;
use crate::rejects::{Reason, Reject, Table};
use crate::state::EngineState;
use crate::validate::Validated;

/// The least a grid step costs, in cells.
pub const STEP_CELLS: u128 = 40;

/// Grid times in [from, to] (`from <= to`), in i64 arithmetic when the span fits.
fn steps(from: i64, to: i64, res: i64) -> u128 {
    match to.checked_sub(from) {
        Some(d) => (d / res + 1) as u128,
        None => ((to as i128 - from as i128) / res as i128 + 1) as u128,
    }
}

/// Grid times t in [from, to] with t < expiry.
fn live_steps(from: i64, to: i64, expiry: i64, res: i64) -> u128 {
    let last = to.min(expiry.saturating_sub(1));
    if last < from {
        0
    } else {
        steps(from, last, res)
    }
}

/// Cells of evaluating [from, to] with the options live now.
pub fn live_cells(st: &EngineState, reg: &Registry, from: i64, to: i64, res: i64) -> u128 {
    if to < from {
        return 0;
    }
    let steps = steps(from, to, res);
    let live: u128 = st
        .live
        .iter()
        .map(|&id| live_steps(from, to, reg.consts[id as usize].expiry_ns, res))
        .sum();
    (steps * STEP_CELLS).max(live)
}

fn too_large(cells: u128, limit: u64, cause: String) -> CoreError {
    CoreError::GridTooLarge {
        cells: cells.min(u64::MAX as u128) as u64,
        limit,
        cause,
    }
}

/// The guard of every evaluation of [from, to] (results up to `end` included).
pub fn check_range(
    st: &EngineState,
    reg: &Registry,
    cfg: &Config,
    from: i64,
    to: i64,
) -> Result<()> {
    // Each live option costs at most `steps` cells: when that bound is within
    // the limit the exact count (a pass over the live options with a 128-bit
    // division each, run at every bucket) cannot exceed it.
    if to < from
        || steps(from, to, cfg.resolution) * STEP_CELLS.max(st.live.len() as u128)
            <= cfg.grid_cells() as u128
    {
        return Ok(());
    }
    let cells = live_cells(st, reg, from, to, cfg.resolution);
    if cells > cfg.grid_cells() as u128 {
        return Err(too_large(
            cells,
            cfg.grid_cells(),
            format!(
                "evaluating {} to {} at a resolution of {} ns with {} live options",
                fmt_time(from),
                fmt_time(to),
                cfg.resolution,
                st.live.len()
            ),
        ));
    }
    Ok(())
}

/// The times of one table's rows, as (first row, times) segments in row order.
type Times<'a> = Vec<(usize, &'a [i64])>;

/// Each table's row times (trades in their parts) and reasons.
fn tables<'a>(batch: &'a UpdateBatch, v: &'a Validated) -> [(Table, Times<'a>, &'a [u8]); 3] {
    let one = |t: Option<&'a [i64]>| vec![(0, t.unwrap_or(&[]))];
    let trades = match &batch.trades {
        Some(b) => b.iter_parts().map(|(start, c)| (start, c.ts)).collect(),
        None => one(None),
    };
    [
        (Table::Trades, trades, &v.trades.reason[..]),
        (
            Table::Chain,
            one(batch.chain.as_ref().map(|b| b.ts)),
            &v.chain.reason[..],
        ),
        (
            Table::Spot,
            one(batch.spot.as_ref().map(|b| b.ts)),
            &v.spot.reason[..],
        ),
    ]
}

/// Row `row`'s time in `segments`.
fn time_at(segments: &Times, row: usize) -> i64 {
    let k = segments.partition_point(|&(start, _)| start <= row) - 1;
    let (start, ts) = segments[k];
    ts[row - start]
}

/// An accepted row: its time, table and row number.
type At = (i64, Table, usize);

/// The earliest and latest accepted rows.
/// Each table's accepted rows are in time order (through `order` when the
/// input is not), so this reads the first and last of each, not every row.
fn extremes(batch: &UpdateBatch, v: &Validated) -> Option<(At, At)> {
    let mut lo: Option<At> = None;
    let mut hi: Option<At> = None;
    for ((table, ts, _), acc) in tables(batch, v)
        .into_iter()
        .zip([&v.trades, &v.chain, &v.spot])
    {
        let (Some(first), Some(last)) = (acc.first_row(), acc.last_row()) else {
            continue;
        };
        let (t_first, t_last) = (time_at(&ts, first), time_at(&ts, last));
        if lo.is_none_or(|l| t_first < l.0) {
            lo = Some((t_first, table, first));
        }
        if hi.is_none_or(|h| t_last > h.0) {
            hi = Some((t_last, table, last));
        }
    }
    lo.zip(hi)
}

fn table_name(t: Table) -> &'static str {
    match t {
        Table::Trades => "trades",
        Table::Chain => "chain",
        Table::Spot => "spot",
    }
}

/// Cells the update would evaluate, and the span that explains them.
fn update_cells(
    st: &EngineState,
    reg: &Registry,
    cfg: &Config,
    batch: &UpdateBatch,
    v: &Validated,
    exact: bool,
) -> (u128, String) {
    let res = cfg.resolution;
    let Some((first, last)) = extremes(batch, v) else {
        return (0, String::new());
    };
    // First trade of each dictionary entry in this update: exactly (a pass over
    // the rows) only when the quick bound — every entry live from the first
    // accepted row — is over the limit.
    let mut first_trade: Vec<i64> = vec![i64::MAX; v.trade_ids.len()];
    if let Some(b) = &batch.trades {
        if exact {
            for (start, c) in b.iter_parts() {
                for ((&r, code), &t) in v.trades.reason[start..].iter().zip(c.codes()).zip(c.ts) {
                    if r == 0 {
                        let f = &mut first_trade[code as usize];
                        *f = (*f).min(t);
                    }
                }
            }
        } else if v.trades.first_row().is_some() {
            first_trade.fill(first.0);
        }
    }
    let earliest_trade = first_trade.iter().copied().min().filter(|&t| t != i64::MAX);
    let Some(from) = st
        .next_eval
        .or_else(|| earliest_trade.map(|t| bucket_label(t, res)))
    else {
        return (0, String::new());
    };
    let to = cfg.end.map_or(bucket_label(last.0, res), |e| {
        e.min(bucket_label(last.0, res))
    });
    let cells = live_cells(st, reg, from, to, res);
    // Options trading for the first time go live from their first bucket (an
    // option listed twice in the dictionary is counted twice: an upper bound).
    let traded_before = |id: u32| st.inst.get(id as usize).is_some_and(|s| s.traded);
    let fresh: u128 = first_trade
        .iter()
        .zip(&v.trade_ids)
        .filter(|(&t, &id)| t != i64::MAX && id != u32::MAX && !traded_before(id))
        .map(|(&t, &id)| {
            live_steps(
                bucket_label(t, res).max(from),
                to,
                reg.consts[id as usize].expiry_ns,
                res,
            )
        })
        .sum();
    let cause = format!(
        "the rows run from {} ({} row {}) to {} ({} row {}), evaluated from {} at a \
         resolution of {} ns",
        fmt_time(first.0),
        table_name(first.1),
        first.2,
        fmt_time(last.0),
        table_name(last.1),
        last.2,
        fmt_time(from),
        res
    );
    (cells.saturating_add(fresh), cause)
}

/// Under quarantine (`!strict`) sets isolated outlier times aside as
/// `outlier_timestamp` rows; then refuses an update over the grid limit.
pub fn check_update(
    st: &EngineState,
    reg: &Registry,
    cfg: &Config,
    batch: &UpdateBatch,
    v: &mut Validated,
    strict: bool,
) -> Result<()> {
    let limit = cfg.grid_cells();
    let set_aside = !strict && quarantine_outliers(cfg, batch, v);
    let (mut cells, mut cause) = update_cells(st, reg, cfg, batch, v, false);
    if cells > limit as u128 {
        (cells, cause) = update_cells(st, reg, cfg, batch, v, true);
    }
    if cells > limit as u128 {
        let cause = if set_aside {
            format!("{cause} (after setting isolated outliers aside)")
        } else {
            cause
        };
        return Err(too_large(cells, limit, cause));
    }
    Ok(())
}

/// Marks the rows outside the largest gap-separated cluster as outliers, when
/// they are at most 1% of the update's accepted rows. Returns whether it did.
/// Costs one pass when the update spans less than the gap (the usual case).
fn quarantine_outliers(cfg: &Config, batch: &UpdateBatch, v: &mut Validated) -> bool {
    let Some(gap) = cfg.outlier_gap else {
        return false;
    };
    let Some((lo, hi)) = extremes(batch, v) else {
        return false;
    };
    if (hi.0 as i128 - lo.0 as i128) <= gap as i128 {
        return false;
    }
    let mut ts: Vec<i64> = tables(batch, v)
        .iter()
        .flat_map(|(_, segments, reason)| {
            segments.iter().flat_map(move |&(start, ts)| {
                ts.iter()
                    .zip(reason[start..].iter())
                    .filter(|(_, &r)| r == 0)
                    .map(|(&t, _)| t)
            })
        })
        .collect();
    ts.sort_unstable();
    // The largest cluster, as a [start, end) range of the sorted times.
    let mut best = (0usize, 0usize);
    let mut start = 0;
    for i in 1..=ts.len() {
        if i == ts.len() || (ts[i] as i128 - ts[i - 1] as i128) > gap as i128 {
            if i - start >= best.1 - best.0 {
                best = (start, i);
            }
            start = i;
        }
    }
    let outside = ts.len() - (best.1 - best.0);
    if outside == 0 || outside * 100 > ts.len() {
        return false;
    }
    let (bulk_lo, bulk_hi) = (ts[best.0], ts[best.1 - 1]);
    let b = Reason::OutlierTimestamp.byte();
    let mut marked = Vec::new();
    for (table, segments, reason) in tables(batch, v) {
        for (start, times) in segments {
            for (j, (&t, &r)) in times.iter().zip(&reason[start..]).enumerate() {
                if r == 0 && (t < bulk_lo || t > bulk_hi) {
                    marked.push((table, start + j));
                }
            }
        }
    }
    for &(table, row) in &marked {
        let reason = match table {
            Table::Trades => &mut v.trades.reason,
            Table::Chain => &mut v.chain.reason,
            Table::Spot => &mut v.spot.reason,
        };
        reason[row] = b;
        v.rejects.push(Reject {
            table,
            row,
            reason: Reason::OutlierTimestamp,
        });
    }
    v.rejects.sort_by_key(|r| (r.table as u8, r.row));
    true
}
