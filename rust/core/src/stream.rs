//! Applying one validated update to the replay state, bucket by bucket.
//!
//! The three tables are merged by bucket label. Before the events of bucket
//! `e` are applied, the open bucket closes (its flows become inventory) and
//! every grid step before `e` is evaluated, so a step never sees a later
//! event. Trades of a bucket inside the update are summed straight into the
//! per-instrument flow vector in time order; only the bucket carried over from
//! the previous update and the update's last bucket go through `pending`,
//! which is re-sorted by (time, sequence) if a later chunk brings earlier
//! trades, so every bucket is summed in the same order as a one-shot run.

use crate::batch::{PartCursor, UpdateBatch};
use crate::config::Config;
use crate::dedupe;
use crate::error::Result;
use crate::evaluate::{flush, gather_step, StepBatch};
use crate::grid::bucket_label;
use crate::output::Output;
use crate::registry::Registry;
use crate::state::{observe, EngineState, PendingTrade};
use crate::validate::{RowRuns, Validated};

/// How far ahead (in time order) the trade loop prefetches rows: trades of
/// different assets interleave in time but are stored in per-file runs, so the
/// loop reads several columns from several places at once and the hardware
/// prefetcher loses track.
const PREFETCH_ROWS: usize = 16;

/// Applies every accepted row of `v`, evaluating the steps that become complete.
///
/// With `rows`, only those accepted rows (one asset's, see the `shard` module) are
/// applied; the update's last bucket is still the whole update's, and the open
/// bucket moves to it at the end, as it does for a replay of every row.
pub fn process(
    st: &mut EngineState,
    reg: &Registry,
    cfg: &Config,
    batch: &UpdateBatch,
    v: &Validated,
    rows: Option<&RowSet>,
    out: &mut Output,
) -> Result<()> {
    let res = cfg.resolution;
    let mut steps = StepBatch::default();
    steps.in_shard = rows.is_some();
    let trades = batch.trades.as_ref();
    let chain = batch.chain.as_ref();
    let spot = batch.spot.as_ref();
    let (mut tc, mut cc, mut sc) = match rows {
        Some(r) => (
            v.trades.cursor_runs(&r.trades),
            v.chain.cursor_over(&r.chain),
            v.spot.cursor_over(&r.spot),
        ),
        None => (v.trades.cursor(), v.chain.cursor(), v.spot.cursor()),
    };
    // The update's last bucket keeps its trades pending (a later chunk may add to it).
    let last_label = [
        trades.and_then(|b| v.trades.last_row().map(|r| b.ts_at(r))),
        chain.and_then(|b| v.chain.last_row().map(|r| b.ts[r])),
        spot.and_then(|b| v.spot.last_row().map(|r| b.ts[r])),
    ]
    .into_iter()
    .flatten()
    .max()
    .map(|ts| bucket_label(ts, res));
    let carried = st.open_label;
    // Trade rows come in increasing row order (one asset's, or input order) or
    // in time order through a sort of one part: either way a cursor finds each
    // row's part without a search.
    let mut at = PartCursor::default();
    // Instrument id by each part's own code + 1 (composed once per part).
    let shifted_ids: Vec<u32> = std::iter::once(u32::MAX)
        .chain(v.trade_ids.iter().copied())
        .collect();
    let part_ids: Vec<_> = trades.map_or(Vec::new(), |b| {
        b.parts.iter().map(|c| c.shifted(&shifted_ids)).collect()
    });

    loop {
        let next_ts = [
            trades.and_then(|b| {
                tc.peek().map(|r| {
                    let (p, j) = at.locate(b, r);
                    b.parts[p].ts[j]
                })
            }),
            chain.and_then(|b| cc.peek().map(|r| b.ts[r])),
            spot.and_then(|b| sc.peek().map(|r| b.ts[r])),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(first) = next_ts else { break };
        let e = bucket_label(first, res);
        advance(st, reg, cfg, e, &mut steps, out)?;
        let pending_mode = Some(e) == last_label || Some(e) == carried;

        if let Some(b) = trades {
            let base = v.trades.seq_base;
            while let Some(row) = tc.peek() {
                let (p, j) = at.locate(b, row);
                let c = &b.parts[p];
                let ts = c.ts[j];
                if ts >= e {
                    break;
                }
                // (Not across a part boundary: a few rows a part go unfetched.)
                if let Some(k) = tc.ahead(PREFETCH_ROWS).and_then(|r| at.within(r)) {
                    c.prefetch_row(k);
                }
                let id = part_ids[p][(c.inst[j] + 1) as usize];
                let seq = base + row as u64;
                let signed = c.side[j] as f64 * c.amount[j];
                if pending_mode {
                    st.pending.push(PendingTrade {
                        ts,
                        seq,
                        inst: id,
                        signed,
                    });
                    if let Some(key) = c
                        .trade_id
                        .and_then(|t| dedupe::key(&t, j, reg.consts[id as usize].asset))
                    {
                        st.open_ids.insert(key);
                    }
                } else {
                    st.add_flow(id, signed);
                }
                // A zero iv or index price is "no observation" (DESIGN section 5).
                if let Some(iv) = c.iv.and_then(|c| c.get(j)).filter(|&x| x != 0.0) {
                    observe(&mut st.inst[id as usize].trade_iv, ts, seq, iv);
                }
                if let Some(px) = c.index_price.and_then(|c| c.get(j)).filter(|&x| x != 0.0) {
                    observe(
                        &mut st.assets[reg.consts[id as usize].asset as usize].index,
                        ts,
                        seq,
                        px,
                    );
                }
                if st.last_trade_label.is_none_or(|l| l < e) {
                    st.last_trade_label = Some(e);
                    // The first trade starts the grid (unless `start` already did).
                    st.next_eval.get_or_insert(e);
                }
                tc.advance();
            }
        }
        if let Some(b) = chain {
            let base = v.chain.seq_base;
            while let Some(row) = cc.peek() {
                let ts = b.ts[row];
                if ts >= e {
                    break;
                }
                let id = v.chain_ids[b.inst[row] as usize];
                let seq = base + row as u64;
                let s = &mut st.inst[id as usize];
                if let Some(iv) = b.mark_iv.and_then(|c| c.get(row)) {
                    observe(&mut s.chain_iv, ts, seq, iv);
                }
                if let Some(u) = b.underlying_price.and_then(|c| c.get(row)) {
                    observe(&mut s.chain_underlying, ts, seq, u);
                    observe(
                        &mut st.assets[reg.consts[id as usize].asset as usize].chain_underlying,
                        ts,
                        seq,
                        u,
                    );
                }
                cc.advance();
            }
        }
        if let Some(b) = spot {
            let base = v.spot.seq_base;
            while let Some(row) = sc.peek() {
                let ts = b.ts[row];
                if ts >= e {
                    break;
                }
                let asset = v.spot_assets[b.asset[row] as usize];
                observe(
                    &mut st.assets[asset as usize].spot,
                    ts,
                    base + row as u64,
                    b.price[row],
                );
                sc.advance();
            }
        }
    }
    // Every row applied: the open bucket is the update's last (a no-op when this
    // replay saw the row that comes last; a subset of the rows may end earlier).
    if let Some(e) = last_label {
        advance(st, reg, cfg, e, &mut steps, out)?;
    }
    flush(
        &mut steps,
        reg,
        &cfg.eval(),
        cfg.keep,
        retain_from(cfg, st),
        out,
    );
    Ok(())
}

/// Accepted rows of each table, in time order (a subset of an update's rows).
#[derive(Debug, Default)]
pub struct RowSet {
    pub trades: RowRuns,
    pub chain: Vec<u32>,
    pub spot: Vec<u32>,
}

/// With `keep_inventory="last"`, inventory rows at or after this time are kept.
pub fn retain_from(cfg: &Config, st: &EngineState) -> i64 {
    match cfg.end {
        Some(_) => i64::MAX,
        None => st.last_trade_label.unwrap_or(i64::MAX),
    }
}

/// The clock has reached bucket `e` without a row (DESIGN rule 19: grid time t
/// is final once a message stamped at or after t has arrived): the open bucket
/// closes and every step before `e` is evaluated, exactly as a row of bucket
/// `e` would do, but nothing is observed. A no-op when `e` is not later than
/// the open bucket.
pub fn advance_clock(
    st: &mut EngineState,
    reg: &Registry,
    cfg: &Config,
    e: i64,
    out: &mut Output,
) -> Result<()> {
    let mut steps = StepBatch::default();
    advance(st, reg, cfg, e, &mut steps, out)?;
    flush(
        &mut steps,
        reg,
        &cfg.eval(),
        cfg.keep,
        retain_from(cfg, st),
        out,
    );
    Ok(())
}

/// Moves the open bucket to `e`: closes the current one and evaluates every
/// step before `e` (those steps must not see the events of bucket `e`).
fn advance(
    st: &mut EngineState,
    reg: &Registry,
    cfg: &Config,
    e: i64,
    steps: &mut StepBatch,
    out: &mut Output,
) -> Result<()> {
    match st.open_label {
        Some(l) if e > l => {
            close_bucket(st, reg, l);
            eval_range(st, reg, cfg, e - cfg.resolution, steps, out)?;
            st.open_label = Some(e);
            st.open_ids.clear();
        }
        Some(_) => {}
        None => {
            eval_range(st, reg, cfg, e - cfg.resolution, steps, out)?;
            st.open_label = Some(e);
        }
    }
    Ok(())
}

/// Turns the bucket's flows into inventory: F(i,t) = Σ side·q in (time, sequence)
/// order, I(i,t) = I(i,t−Δ) + (−F(i,t)). Instruments trading for the first time go live.
pub fn close_bucket(st: &mut EngineState, reg: &Registry, label: i64) {
    if !st.pending.is_empty() {
        let mut pending = std::mem::take(&mut st.pending);
        if !pending
            .windows(2)
            .all(|w| (w[0].ts, w[0].seq) <= (w[1].ts, w[1].seq))
        {
            pending.sort_by_key(|p| (p.ts, p.seq));
        }
        for p in &pending {
            st.add_flow(p.inst, p.signed);
        }
        pending.clear();
        st.pending = pending;
    }
    let touched = std::mem::take(&mut st.touched);
    for &id in &touched {
        let i = id as usize;
        st.inst[i].inventory += -st.flow[i];
        st.flow[i] = 0.0;
        st.touched_flag[i] = false;
        if !st.inst[i].traded {
            st.inst[i].traded = true;
            st.counters.traded_instruments += 1;
            if reg.consts[i].expiry_ns > label {
                st.insert_live(reg, id);
            }
        }
    }
    st.touched = touched;
    st.touched.clear();
}

/// Evaluates steps from `next_eval` through `to` (capped at `end`).
pub fn eval_range(
    st: &mut EngineState,
    reg: &Registry,
    cfg: &Config,
    to: i64,
    steps: &mut StepBatch,
    out: &mut Output,
) -> Result<()> {
    let Some(from) = st.next_eval else {
        return Ok(());
    };
    if to < from {
        return Ok(());
    }
    let last = cfg.end.map_or(to, |e| e.min(to));
    crate::budget::check_range(st, reg, cfg, from, last)?;
    let ecfg = cfg.eval();
    if last >= from {
        let n_steps = ((last - from) / cfg.resolution + 1) as usize;
        steps.reserve_rows(n_steps.saturating_mul(st.live.len().max(1)));
    }
    let mut t = from;
    while t <= last {
        gather_step(st, reg, &ecfg, t, steps)?;
        if steps.rows() >= steps.flush_rows() {
            flush(steps, reg, &ecfg, cfg.keep, retain_from(cfg, st), out);
        }
        t += cfg.resolution;
    }
    st.next_eval = Some(to + cfg.resolution);
    Ok(())
}
