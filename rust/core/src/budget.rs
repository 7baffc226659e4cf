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
use crate::error::{fmt_time, CoreError, Result};
use crate::grid::bucket_label;
use crate::registry::Registry;
use crate::replay::Config;
use crate::state::EngineState;
use crate::validate::{Reason, Reject, Table, Validated};

/// The least a grid step costs, in cells.
pub const STEP_CELLS: u128 = 40;

/// Grid times t in [from, to] with t < expiry.
fn live_steps(from: i64, to: i64, expiry: i64, res: i64) -> u128 {
    let last = to.min(expiry.saturating_sub(1));
    if last < from {
        0
    } else {
        ((last as i128 - from as i128) / res as i128 + 1) as u128
    }
}

/// Cells of evaluating [from, to] with the options live now.
pub fn live_cells(st: &EngineState, reg: &Registry, from: i64, to: i64, res: i64) -> u128 {
    if to < from {
        return 0;
    }
    let steps = ((to as i128 - from as i128) / res as i128 + 1) as u128;
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

/// An accepted row: its time, table and row number.
#[derive(Clone, Copy)]
struct At {
    ts: i64,
    table: Table,
    row: usize,
}

fn accepted_rows(batch: &UpdateBatch, v: &Validated) -> Vec<At> {
    let mut rows = Vec::new();
    let mut add = |ts: &[i64], reason: &[u8], table: Table| {
        rows.extend(
            ts.iter()
                .zip(reason)
                .enumerate()
                .filter(|(_, (_, &r))| r == 0)
                .map(|(row, (&ts, _))| At { ts, table, row }),
        )
    };
    if let Some(b) = &batch.trades {
        add(b.ts, &v.trades.reason, Table::Trades);
    }
    if let Some(b) = &batch.chain {
        add(b.ts, &v.chain.reason, Table::Chain);
    }
    if let Some(b) = &batch.spot {
        add(b.ts, &v.spot.reason, Table::Spot);
    }
    rows
}

/// Cells the update would evaluate, and the span that explains them.
fn update_cells(
    st: &EngineState,
    reg: &Registry,
    cfg: &Config,
    batch: &UpdateBatch,
    v: &Validated,
) -> (u128, String) {
    let res = cfg.resolution;
    let rows = accepted_rows(batch, v);
    let (Some(first), Some(last)) = (
        rows.iter().min_by_key(|a| a.ts).copied(),
        rows.iter().max_by_key(|a| a.ts).copied(),
    ) else {
        return (0, String::new());
    };
    // First trade of each instrument in this update (rows in any order).
    let mut first_trade: rustc_hash::FxHashMap<u32, i64> = Default::default();
    if let Some(b) = &batch.trades {
        for (row, &r) in v.trades.reason.iter().enumerate() {
            if r == 0 {
                let id = v.trade_ids[b.inst[row] as usize];
                let e = first_trade.entry(id).or_insert(i64::MAX);
                *e = (*e).min(b.ts[row]);
            }
        }
    }
    let Some(from) = st
        .next_eval
        .or_else(|| first_trade.values().min().map(|&t| bucket_label(t, res)))
    else {
        return (0, String::new());
    };
    let to = cfg.end.map_or(bucket_label(last.ts, res), |e| {
        e.min(bucket_label(last.ts, res))
    });
    let mut cells = live_cells(st, reg, from, to, res);
    let traded_before = |id: u32| st.inst.get(id as usize).is_some_and(|s| s.traded);
    let fresh: u128 = first_trade
        .iter()
        .filter(|(&id, _)| !traded_before(id))
        .map(|(&id, &t)| {
            live_steps(
                bucket_label(t, res).max(from),
                to,
                reg.consts[id as usize].expiry_ns,
                res,
            )
        })
        .sum();
    cells = cells.max(cells.saturating_add(fresh));
    let name = |a: At| match a.table {
        Table::Trades => "trades",
        Table::Chain => "chain",
        Table::Spot => "spot",
    };
    let cause = format!(
        "the rows run from {} ({} row {}) to {} ({} row {}), evaluated from {} at a \
         resolution of {} ns",
        fmt_time(first.ts),
        name(first),
        first.row,
        fmt_time(last.ts),
        name(last),
        last.row,
        fmt_time(from),
        res
    );
    (cells, cause)
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
    let (cells, cause) = update_cells(st, reg, cfg, batch, v);
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
fn quarantine_outliers(cfg: &Config, batch: &UpdateBatch, v: &mut Validated) -> bool {
    let Some(gap) = cfg.outlier_gap else {
        return false;
    };
    let mut rows = accepted_rows(batch, v);
    rows.sort_by_key(|a| a.ts);
    // Clusters as [start, end) ranges of `rows`.
    let mut best = (0usize, 0usize);
    let mut start = 0;
    for i in 1..=rows.len() {
        if i == rows.len() || (rows[i].ts as i128 - rows[i - 1].ts as i128) > gap as i128 {
            if i - start >= best.1 - best.0 {
                best = (start, i);
            }
            start = i;
        }
    }
    let outside = rows.len() - (best.1 - best.0);
    if outside == 0 || outside * 100 > rows.len() {
        return false;
    }
    let b = Reason::OutlierTimestamp.byte();
    for (i, a) in rows.iter().enumerate() {
        if i >= best.0 && i < best.1 {
            continue;
        }
        let reason = match a.table {
            Table::Trades => &mut v.trades.reason,
            Table::Chain => &mut v.chain.reason,
            Table::Spot => &mut v.spot.reason,
        };
        reason[a.row] = b;
        v.rejects.push(Reject {
            table: a.table,
            row: a.row,
            reason: Reason::OutlierTimestamp,
        });
    }
    v.rejects.sort_by_key(|r| (r.table as u8, r.row));
    true
}
