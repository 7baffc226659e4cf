//! Row validation and ordering (DESIGN section 5).
//!
//! Every row of an update is either accepted or gets exactly one reason, in a
//! fixed precedence (the first failing check wins), so nothing is dropped
//! without being counted. Validation does not copy rows: it yields one reason
//! byte per row and, only when the accepted rows are not already in time
//! order, a sorted list of row numbers; the replay then reads the input
//! columns directly. Ties in time keep input order, and `seq` (rows consumed
//! so far + row) extends that order across chunks, which is what makes any
//! chunking of a time-ordered stream replay bit-identically.

use rayon::prelude::*;
use rustc_hash::FxHashSet;

use crate::batch::{ChainBatch, SpotBatch, TradeBatch, TradeCols, NULL_TS};
use crate::dedupe::{dedupe_trade_ids, IdPart};
use crate::limits::{amount_ok, gamma_ok, iv_ok, open_interest_ok, price_ok, ts_limit};
use crate::registry::Registry;
pub use crate::rejects::{Reason, Reject, Table, IGNORED};

/// What validation needs to know about the engine before this update.
pub struct Frontier<'a> {
    /// Label of the open bucket: rows in earlier buckets are late.
    pub open_label: Option<i64>,
    /// Trade ids already accepted in the open bucket.
    pub open_ids: &'a FxHashSet<u128>,
    /// Rows consumed so far per table (the base of `seq`).
    pub seq_base: [u64; 3],
    pub resolution: i64,
    /// The user's multipliers: rows of an asset with none known are bad rows.
    pub multipliers: &'a [(String, f64)],
    /// The update will be replayed asset by asset (see `shard`): when each
    /// asset's trades are already in time order, validation hands out each
    /// asset's rows instead of sorting every row into one time order.
    pub per_asset: bool,
}

/// The accepted rows of one table: a reason byte per row (0 = accepted) and
/// the time order of the rows (`None`: the input order already is).
#[derive(Debug, Default)]
pub struct Accepted {
    pub reason: Vec<u8>,
    pub order: Option<Vec<u32>>,
    /// `seq` of row `i` is `seq_base + i`.
    pub seq_base: u64,
    /// Set instead of `order` when the rows are not in time order but each
    /// asset's are (see [`Frontier::per_asset`]): each asset's accepted rows in
    /// input order, which is their time order. Taken by the per-asset replay;
    /// [`Accepted::sort`] makes `order` when a serial replay needs it.
    pub by_asset: Option<Vec<RowRuns>>,
    /// With `by_asset`: the first and last accepted rows in time order.
    pub ends: Option<(usize, usize)>,
    /// `order` is still to be made (see `by_asset`): `cursor` must not be used.
    pub deferred: bool,
}

impl Accepted {
    pub fn cursor(&self) -> Cursor<'_> {
        assert!(
            !self.deferred,
            "the time order of these rows is not made yet"
        );
        let len = self.order.as_ref().map_or(self.reason.len(), Vec::len);
        Cursor {
            order: self.order.as_deref(),
            runs: None,
            run: 0,
            reason: &self.reason,
            pos: 0,
            len,
        }
    }

    /// A cursor over `rows`: accepted rows of this table in time order.
    pub fn cursor_over<'a>(&'a self, rows: &'a [u32]) -> Cursor<'a> {
        Cursor {
            order: Some(rows),
            runs: None,
            run: 0,
            reason: &self.reason,
            pos: 0,
            len: rows.len(),
        }
    }

    /// A cursor over the rows of `runs`, in their order.
    pub fn cursor_runs<'a>(&'a self, runs: &'a RowRuns) -> Cursor<'a> {
        Cursor {
            order: None,
            runs: Some(&runs.0),
            run: 0,
            reason: &self.reason,
            pos: runs.0.first().map_or(0, |r| r.0 as usize),
            len: 0,
        }
    }

    /// The accepted row that comes first in time, if any.
    pub fn first_row(&self) -> Option<usize> {
        if self.deferred {
            return self.ends.map(|e| e.0);
        }
        self.cursor().peek()
    }

    /// Makes `order` (the time order of every accepted row) when it was
    /// deferred; a no-op otherwise.
    pub fn sort(&mut self, ts: &[i64]) {
        if self.deferred {
            self.order = order_of(ts, &self.reason);
            self.deferred = false;
        }
    }

    /// The accepted row that comes last in time, if any.
    pub fn last_row(&self) -> Option<usize> {
        if self.deferred {
            return self.ends.map(|e| e.1);
        }
        let mut c = self.cursor();
        c.pos = c.len;
        while c.pos > 0 {
            c.pos -= 1;
            let row = c.row_at(c.pos);
            if self.reason[row] == 0 {
                return Some(row);
            }
        }
        None
    }

    fn rejects(&self, table: Table, out: &mut Vec<Reject>) {
        out.extend(
            self.reason
                .iter()
                .enumerate()
                .filter(|(_, &r)| r != 0 && r != IGNORED)
                .map(|(row, &r)| Reject {
                    table,
                    row,
                    reason: Reason::from_byte(r),
                }),
        );
    }
}

/// Rows as half-open runs `(start, end)`, in the order given: each asset's
/// rows of a dataset read file by file are a few long runs, which this holds
/// in a few pairs where a list of rows took 4 fresh bytes a row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowRuns(pub Vec<(u32, u32)>);

impl RowRuns {
    #[inline(always)]
    pub fn push(&mut self, row: u32) {
        match self.0.last_mut() {
            Some(last) if last.1 == row => last.1 += 1,
            _ => self.0.push((row, row + 1)),
        }
    }

    /// How many rows.
    pub fn rows(&self) -> usize {
        self.0.iter().map(|r| (r.1 - r.0) as usize).sum()
    }

    pub fn first(&self) -> Option<u32> {
        self.0.first().map(|r| r.0)
    }

    pub fn last(&self) -> Option<u32> {
        self.0.last().map(|r| r.1 - 1)
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|r| r.0..r.1)
    }
}

/// Walks the accepted rows of a table in time order: every row, a list of
/// rows (`order`), or the rows of `runs`.
pub struct Cursor<'a> {
    order: Option<&'a [u32]>,
    runs: Option<&'a [(u32, u32)]>,
    /// With `runs`: the current run; `pos` is then the current row.
    run: usize,
    reason: &'a [u8],
    pos: usize,
    len: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn row_at(&self, pos: usize) -> usize {
        match self.order {
            Some(o) => o[pos] as usize,
            None => pos,
        }
    }

    /// The next accepted row, without consuming it.
    #[inline]
    pub fn peek(&mut self) -> Option<usize> {
        if let Some(runs) = self.runs {
            loop {
                let &(_, end) = runs.get(self.run)?;
                if self.pos < end as usize {
                    if self.reason[self.pos] == 0 {
                        return Some(self.pos);
                    }
                    self.pos += 1;
                } else {
                    self.run += 1;
                    self.pos = runs.get(self.run).map_or(self.pos, |r| r.0 as usize);
                }
            }
        }
        while self.pos < self.len {
            let row = self.row_at(self.pos);
            if self.reason[row] == 0 {
                return Some(row);
            }
            self.pos += 1;
        }
        None
    }

    #[inline]
    pub fn advance(&mut self) {
        self.pos += 1;
    }

    /// The row `d` positions ahead in time order (accepted or not), for
    /// prefetching; with runs, only within the current run.
    #[inline]
    pub fn ahead(&self, d: usize) -> Option<usize> {
        let p = self.pos + d;
        match self.runs {
            Some(runs) => runs
                .get(self.run)
                .and_then(|r| (p < r.1 as usize).then_some(p)),
            None => (p < self.len).then(|| self.row_at(p)),
        }
    }
}

/// One block of a trades part, for [`trade_reasons`].
struct TradeBlock<'a> {
    ts: &'a [i64],
    inst: &'a [i32],
    side: &'a [i8],
    amount: &'a [f64],
    iv: OptBlock<'a>,
    index_price: OptBlock<'a>,
}

/// An optional float column over one block.
#[derive(Clone, Copy)]
enum OptBlock<'a> {
    Absent,
    Values(&'a [f64]),
    Masked(&'a [f64], &'a [bool]),
}

impl<'a> OptBlock<'a> {
    fn of(col: &Option<crate::batch::OptF64<'a>>, lo: usize, hi: usize) -> Self {
        match col {
            None => OptBlock::Absent,
            Some(c) => match c.valid {
                None => OptBlock::Values(&c.values[lo..hi]),
                Some(v) => OptBlock::Masked(&c.values[lo..hi], &v[lo..hi]),
            },
        }
    }

    /// Row `i` holds a value (not null) that fails `ok`.
    #[inline(always)]
    fn bad(self, i: usize, ok: impl Fn(f64) -> bool) -> bool {
        match self {
            OptBlock::Absent => false,
            OptBlock::Values(v) => !ok(v[i]),
            OptBlock::Masked(v, m) => m[i] & !ok(v[i]),
        }
    }
}

/// Every trade check of one block in one pass over its rows (each column
/// read once, where a pass per check read the block's reasons eight times).
/// The checks are applied in reverse precedence, each overwriting the last,
/// so a row keeps its first failing check — the order of DESIGN section 5:
/// timestamp, name (unparseable / no multiplier), side, amount, price, iv,
/// expired, late. `expiry` and `name` are indexed by dictionary code + 1.
#[inline(always)]
fn trade_reasons(
    r: &mut [u8],
    c: &TradeBlock,
    expiry: &[i64],
    name: &[u8],
    late: i64,
    ts_max: i64,
) {
    let n = r.len();
    let (ts, inst, side, amount) = (&c.ts[..n], &c.inst[..n], &c.side[..n], &c.amount[..n]);
    let byte = Reason::byte;
    let (b_late, b_expired, b_iv) = (
        byte(Reason::Late),
        byte(Reason::Expired),
        byte(Reason::BadIv),
    );
    let (b_price, b_amount) = (byte(Reason::BadPrice), byte(Reason::BadAmount));
    let (b_side, b_ts) = (byte(Reason::UnknownSide), byte(Reason::BadTimestamp));
    for i in 0..n {
        let t = ts[i];
        let k = (inst[i] + 1) as usize;
        let mut x = if t < late { b_late } else { 0 };
        x = if t >= expiry[k] { b_expired } else { x };
        x = if c.iv.bad(i, |v| zero_or(v, iv_ok)) {
            b_iv
        } else {
            x
        };
        x = if c.index_price.bad(i, |v| zero_or(v, price_ok)) {
            b_price
        } else {
            x
        };
        x = if !amount_ok(amount[i]) { b_amount } else { x };
        let s = side[i];
        x = if (s != 1) & (s != -1) { b_side } else { x };
        let v = name[k];
        x = if v != 0 { v } else { x };
        x = if (t == NULL_TS) | (t >= ts_max) {
            b_ts
        } else {
            x
        };
        r[i] = x;
    }
}

/// A trade's iv or index price: 0 is "no observation" (DESIGN section 5, amended).
#[inline(always)]
fn zero_or(x: f64, ok: impl Fn(f64) -> bool) -> bool {
    (x == 0.0) | ok(x)
}

/// Validation of one update: the accepted rows of each table, and the rejects.
#[derive(Default)]
pub struct Validated {
    pub trades: Accepted,
    pub chain: Accepted,
    pub spot: Accepted,
    /// Global instrument id per dictionary code of the trades / chain tables (`u32::MAX`: unparseable).
    pub trade_ids: Vec<u32>,
    pub chain_ids: Vec<u32>,
    /// Asset id per code of the spot table (`u16::MAX`: missing).
    pub spot_assets: Vec<u16>,
    pub rejects: Vec<Reject>,
    pub rows: [u64; 3],
    /// Chain rows at or after their option's expiry: ignored, counted.
    pub chain_after_expiry: u64,
}

/// Rows per parallel validation task.
const ROWS_PER_TASK: usize = 64 * 1024;

/// Sets `reason[i] = r` where `bad(i)`. Passes run in reverse precedence, so a
/// later pass overwrites an earlier one and each row keeps its first failing
/// check.
#[inline(always)]
fn pass(reason: &mut [u8], lo: usize, r: Reason, bad: impl Fn(usize) -> bool) {
    let b = r.byte();
    for (j, x) in reason.iter_mut().enumerate() {
        if bad(lo + j) {
            *x = b;
        }
    }
}

/// A pass over one column of the block, as a select-store over equal-length
/// slices so the compiler can vectorise it.
#[inline(always)]
fn pass_col<T: Copy>(reason: &mut [u8], col: &[T], r: Reason, bad: impl Fn(T) -> bool) {
    let b = r.byte();
    for (x, &v) in reason.iter_mut().zip(col) {
        *x = if bad(v) { b } else { *x };
    }
}

/// Runs `fill(block, first_row)` over the reason vector in parallel blocks.
fn reasons(n: usize, fill: impl Fn(&mut [u8], usize) + Sync) -> Vec<u8> {
    let mut reason = vec![0u8; n];
    reason
        .par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .for_each(|(c, block)| fill(block, c * ROWS_PER_TASK));
    reason
}

/// Like [`reasons`] for the trades' parts: `fill(block, part number, part,
/// first row in the part)` over blocks that never straddle two parts.
fn part_reasons(
    b: &TradeBatch,
    fill: impl Fn(&mut [u8], usize, &TradeCols, usize) + Sync,
) -> Vec<u8> {
    let mut reason = vec![0u8; b.len()];
    let mut blocks: Vec<(usize, usize, &mut [u8])> = Vec::new();
    let mut rest: &mut [u8] = &mut reason;
    for (p, c) in b.parts.iter().enumerate() {
        let (mine, tail) = rest.split_at_mut(c.ts.len());
        rest = tail;
        for (k, block) in mine.chunks_mut(ROWS_PER_TASK).enumerate() {
            blocks.push((p, k * ROWS_PER_TASK, block));
        }
    }
    blocks
        .into_par_iter()
        .for_each(|(p, lo, block)| fill(block, p, &b.parts[p], lo));
    reason
}

/// The pass for an optional column: rows that hold a value failing `ok`.
/// The column/validity match happens once per block, not once per row.
#[inline(always)]
fn pass_opt(
    reason: &mut [u8],
    lo: usize,
    r: Reason,
    col: &Option<crate::batch::OptF64>,
    ok: impl Fn(f64) -> bool,
) {
    let Some(col) = col else { return };
    let values = &col.values[lo..lo + reason.len()];
    match col.valid {
        None => pass_col(reason, values, r, |x| !ok(x)),
        Some(v) => {
            let v = &v[lo..lo + reason.len()];
            pass(reason, 0, r, |i| v[i] && !ok(values[i]))
        }
    }
}

/// Rows whose bucket closes before `open_label` are late: label(τ) < L ⟺ τ < L − Δ.
fn late_before(fr: &Frontier) -> i64 {
    fr.open_label.map_or(i64::MIN, |l| l - fr.resolution)
}

/// Whether the accepted rows are in time order as they are, given as
/// consecutive (times, reasons) segments.
fn in_time_order<'a>(segments: impl IntoIterator<Item = (&'a [i64], &'a [u8])>) -> bool {
    let mut last = i64::MIN;
    let mut sorted = true;
    for (ts, reason) in segments {
        for (t, &r) in ts.iter().zip(reason) {
            if r == 0 {
                sorted &= *t >= last;
                last = last.max(*t);
            }
        }
    }
    sorted
}

/// One pass over the accepted rows: whether they are in time order as they
/// are, and whether each asset's are.
struct Runs {
    sorted: bool,
    per_asset: bool,
}

fn runs(b: &TradeBatch, reason: &[u8], code_asset: &[u16], n_assets: usize) -> Runs {
    let mut last_asset = vec![i64::MIN; n_assets];
    let (mut last, mut sorted, mut per_asset) = (i64::MIN, true, true);
    for (start, c) in b.iter_parts() {
        let reason = &reason[start..start + c.ts.len()];
        let asset_of = c.shifted(code_asset);
        for ((&t, &r), &k) in c.ts.iter().zip(reason).zip(c.inst) {
            if r == 0 {
                sorted &= t >= last;
                last = last.max(t);
                // An accepted row has a parsed name, so a known asset.
                let a = asset_of[(k + 1) as usize] as usize;
                let Some(l) = last_asset.get_mut(a) else {
                    per_asset = false;
                    continue;
                };
                per_asset &= t >= *l;
                *l = t;
            }
        }
    }
    Runs { sorted, per_asset }
}

/// Each asset's accepted rows (input order: their time order, see [`runs`])
/// as runs of consecutive rows, and the first and last accepted rows of the
/// stable time order of every row: least (time, row) and greatest (time, row).
fn rows_by_asset(
    b: &TradeBatch,
    reason: &[u8],
    code_asset: &[u16],
    n_assets: usize,
) -> (Vec<RowRuns>, Option<(usize, usize)>) {
    let mut rows: Vec<RowRuns> = vec![RowRuns::default(); n_assets];
    for (start, c) in b.iter_parts() {
        let reason = &reason[start..start + c.ts.len()];
        let asset_of = c.shifted(code_asset);
        for (j, (&r, &k)) in reason.iter().zip(c.inst).enumerate() {
            if r == 0 {
                rows[asset_of[(k + 1) as usize] as usize].push((start + j) as u32);
            }
        }
    }
    let key = |r: &u32| (b.ts_at(*r as usize), *r);
    let first = rows.iter().filter_map(RowRuns::first).min_by_key(key);
    let last = rows.iter().filter_map(RowRuns::last).max_by_key(key);
    let ends = first.zip(last).map(|(f, l)| (f as usize, l as usize));
    (rows, ends)
}

/// The time order of the accepted rows, or `None` when the input order already is.
fn order_of(ts: &[i64], reason: &[u8]) -> Option<Vec<u32>> {
    (!in_time_order([(ts, reason)])).then(|| time_sorted_rows(ts, reason))
}

/// The accepted rows' numbers in stable time order.
fn time_sorted_rows(ts: &[i64], reason: &[u8]) -> Vec<u32> {
    // Row numbers sorted by time with rayon's parallel stable merge sort: ties
    // keep row order, and each thread's part is sorted by finding natural runs
    // (a Parquet dataset read per asset or per file is a few sorted runs
    // concatenated), so `ts` is read run by run and the indirect key stays
    // cache-friendly. 4 bytes a row plus as much scratch: inline (time, row)
    // pairs needed 16 + 8, and on a fresh process the kernel's page zeroing
    // was most of the sort's cost.
    // Sized for every row up front: a filter gives no length hint, and growing
    // by doubling would copy (and fault in) the vector several times over.
    let mut rows: Vec<u32> = Vec::with_capacity(reason.len());
    rows.extend(
        reason
            .iter()
            .enumerate()
            .filter(|(_, &r)| r == 0)
            .map(|(i, _)| i as u32),
    );
    rows.par_sort_by_key(|&i| ts[i as usize]);
    rows
}

/// What validation needs per dictionary entry of a table, shifted by one so
/// that code −1 (null) reads entry 0: the expiry (`i64::MAX` when unparseable)
/// and the verdict on the name itself (0, or the reason byte of
/// `unparseable_instrument` / `unknown_multiplier`), so both checks of the
/// name cost one pass over the rows.
struct Resolved {
    ids: Vec<u32>,
    expiry: Vec<i64>,
    name: Vec<u8>,
}

impl Resolved {
    /// Sets each row's name verdict (it outranks every check of a later pass
    /// before it, and is outranked by the timestamp check after it).
    #[inline(always)]
    fn pass_name(&self, r: &mut [u8], inst: &[i32]) {
        for (x, &c) in r.iter_mut().zip(inst) {
            let v = self.name[(c + 1) as usize];
            *x = if v != 0 { v } else { *x };
        }
    }
}

fn resolve(
    reg: &mut Registry,
    dict: &crate::registry::InstrumentDict,
    multipliers: &[(String, f64)],
) -> Resolved {
    let ids: Vec<u32> = reg
        .resolve_dict(dict)
        .into_iter()
        .map(|r| r.unwrap_or(u32::MAX))
        .collect();
    let mut expiry = vec![i64::MAX];
    let mut name = vec![Reason::UnparseableInstrument.byte()];
    for &id in &ids {
        if id == u32::MAX {
            expiry.push(i64::MAX);
            name.push(Reason::UnparseableInstrument.byte());
        } else {
            expiry.push(reg.info(id).inst.expiry_ns);
            let priced = reg.multiplier(id, multipliers).is_ok();
            name.push(if priced {
                0
            } else {
                Reason::UnknownMultiplier.byte()
            });
        }
    }
    Resolved { ids, expiry, name }
}

/// Validates the trades of an update. Returns `false`, leaving `out` as it
/// was, when the rows are in several parts and must be put in time order by a
/// sort (the caller joins the parts into one and validates again): parts are
/// read in row order only.
#[must_use]
pub fn trades(reg: &mut Registry, fr: &Frontier, b: &TradeBatch, out: &mut Validated) -> bool {
    let rs = resolve(reg, b.dict, fr.multipliers);
    let late = late_before(fr);
    let ts_max = ts_limit(fr.resolution);
    let local: Vec<_> = b
        .parts
        .iter()
        .map(|c| (c.shifted(&rs.expiry), c.shifted(&rs.name)))
        .collect();
    let mut reason = part_reasons(b, |r, p, c, lo| {
        let hi = lo + r.len();
        let cols = TradeBlock {
            ts: &c.ts[lo..hi],
            inst: &c.inst[lo..hi],
            side: &c.side[lo..hi],
            amount: &c.amount[lo..hi],
            iv: OptBlock::of(&c.iv, lo, hi),
            index_price: OptBlock::of(&c.index_price, lo, hi),
        };
        trade_reasons(r, &cols, &local[p].0, &local[p].1, late, ts_max);
    });
    // Asset per dictionary code, shifted by one so that code -1 (null) reads entry 0.
    let code_asset: Vec<u16> = std::iter::once(u16::MAX)
        .chain(rs.ids.iter().map(|&id| match id {
            u32::MAX => u16::MAX,
            id => reg.consts[id as usize].asset,
        }))
        .collect();
    // Each asset's rows already in time order (a dataset read file by file,
    // each file sorted): the per-asset replay takes them as they are, and the
    // time order of every row is made only if a serial replay needs it.
    let (per_asset, needs_sort) = if fr.per_asset {
        let r = runs(b, &reason, &code_asset, reg.assets.len());
        let per_asset = !r.sorted && r.per_asset;
        (per_asset, !r.sorted && !per_asset)
    } else {
        let sorted = in_time_order(
            b.iter_parts()
                .map(|(start, c)| (c.ts, &reason[start..start + c.ts.len()])),
        );
        (false, !sorted)
    };
    if needs_sort && b.parts.len() > 1 {
        return false;
    }
    let order = needs_sort.then(|| time_sorted_rows(b.parts[0].ts, &reason));
    if b.parts.iter().any(|c| c.trade_id.is_some()) {
        // Ids are keyed by asset, so only each asset's order matters: with
        // `per_asset`, input order walks every asset's rows in time order.
        let assets: Vec<_> = b.parts.iter().map(|c| c.shifted(&code_asset)).collect();
        let ids: Vec<IdPart> = b
            .parts
            .iter()
            .zip(&assets)
            .map(|(c, a)| IdPart {
                ids: c.trade_id,
                codes: c.inst,
                assets: a,
            })
            .collect();
        dedupe_trade_ids(&ids, &mut reason, order.as_deref(), fr.open_ids);
    }
    let (by_asset, ends) = if per_asset {
        let (rows, ends) = rows_by_asset(b, &reason, &code_asset, reg.assets.len());
        (Some(rows), ends)
    } else {
        (None, None)
    };
    out.trades = Accepted {
        reason,
        order,
        seq_base: fr.seq_base[Table::Trades as usize],
        deferred: per_asset,
        by_asset,
        ends,
    };
    out.trades.rejects(Table::Trades, &mut out.rejects);
    out.trade_ids = rs.ids;
    out.rows[Table::Trades as usize] = b.len() as u64;
    true
}

pub fn chain(reg: &mut Registry, fr: &Frontier, b: &ChainBatch, out: &mut Validated) {
    let rs = resolve(reg, b.dict, fr.multipliers);
    let late = late_before(fr);
    let ts_max = ts_limit(fr.resolution);
    let (ts, inst) = (b.ts, b.inst);
    let reason = reasons(ts.len(), |r, lo| {
        let hi = lo + r.len();
        let (ts, inst) = (&ts[lo..hi], &inst[lo..hi]);
        pass(r, 0, Reason::Late, |i| ts[i] < late);
        // A snapshot of an expiring option is not bad input: ignored and counted.
        for (i, x) in r.iter_mut().enumerate() {
            if ts[i] >= rs.expiry[(inst[i] + 1) as usize] {
                *x = IGNORED;
            }
        }
        pass_opt(r, lo, Reason::BadGamma, &b.gamma, gamma_ok);
        pass_opt(
            r,
            lo,
            Reason::BadOpenInterest,
            &b.open_interest,
            open_interest_ok,
        );
        pass_opt(r, lo, Reason::BadIv, &b.mark_iv, iv_ok);
        pass_opt(r, lo, Reason::BadPrice, &b.underlying_price, price_ok);
        rs.pass_name(r, inst);
        pass(r, 0, Reason::BadTimestamp, |i| {
            (ts[i] == NULL_TS) | (ts[i] >= ts_max)
        });
    });
    let order = order_of(b.ts, &reason);
    out.chain_after_expiry = reason.iter().filter(|&&r| r == IGNORED).count() as u64;
    out.chain = Accepted {
        reason,
        order,
        seq_base: fr.seq_base[Table::Chain as usize],
        ..Accepted::default()
    };
    out.chain.rejects(Table::Chain, &mut out.rejects);
    out.chain_ids = rs.ids;
    out.rows[Table::Chain as usize] = b.ts.len() as u64;
}

pub fn spot(reg: &mut Registry, fr: &Frontier, b: &SpotBatch, out: &mut Validated) {
    let assets: Vec<u16> = b
        .assets
        .iter()
        .map(|a| {
            if a.trim().is_empty() {
                u16::MAX
            } else {
                reg.asset_id(a.trim())
            }
        })
        .collect();
    let late = late_before(fr);
    let ts_max = ts_limit(fr.resolution);
    let (ts, asset, price) = (b.ts, b.asset, b.price);
    let reason = reasons(ts.len(), |r, lo| {
        let hi = lo + r.len();
        let (ts, asset, price) = (&ts[lo..hi], &asset[lo..hi], &price[lo..hi]);
        pass(r, 0, Reason::Late, |i| ts[i] < late);
        pass(r, 0, Reason::BadPrice, |i| !price_ok(price[i]));
        pass(r, 0, Reason::BadAsset, |i| {
            asset[i] < 0 || assets[asset[i] as usize] == u16::MAX
        });
        pass(r, 0, Reason::BadTimestamp, |i| {
            (ts[i] == NULL_TS) | (ts[i] >= ts_max)
        });
    });
    let order = order_of(b.ts, &reason);
    out.spot = Accepted {
        reason,
        order,
        seq_base: fr.seq_base[Table::Spot as usize],
        ..Accepted::default()
    };
    out.spot.rejects(Table::Spot, &mut out.rejects);
    out.spot_assets = assets;
    out.rows[Table::Spot as usize] = b.ts.len() as u64;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{OptF64, TradeCols, TradeIds};
    use crate::registry::InstrumentDict;

    const MIN: i64 = 60_000_000_000;
    const T0: i64 = 1_700_000_000_000_000_000 / MIN * MIN;

    fn accepted_in_order(a: &Accepted) -> Vec<usize> {
        let mut c = a.cursor();
        let mut rows = Vec::new();
        while let Some(r) = c.peek() {
            rows.push(r);
            c.advance();
        }
        rows
    }

    #[test]
    fn each_bad_trade_gets_one_reason_and_good_rows_are_sorted() {
        let dict = InstrumentDict::Names(vec![
            "BTC-27DEC24-100000-C".into(),
            "garbage".into(),
            "BTC-1JAN20-1000-C".into(),
        ]);
        let ts = [
            T0 + 5 * MIN,
            NULL_TS,
            T0,
            T0 + MIN,
            T0,
            T0,
            T0,
            T0 + 2 * MIN,
            T0 + 3 * MIN,
            T0,
        ];
        let inst = [0, 0, 1, 0, 0, 0, 0, 2, 0, 0];
        let side = [1i8, 1, 1, 0, 1, 1, 1, 1, -1, 1];
        let amount = [1.0, 1.0, 1.0, 1.0, -2.0, 1.0, 1.0, 1.0, 3.0, 1.0];
        let px = [1.0, 1.0, 1.0, 1.0, 1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0];
        let iv = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0.5, 0.5];
        let ids = [1i64, 2, 3, 4, 5, 6, 7, 8, 9, 9];
        let b = TradeBatch::one(
            &dict,
            TradeCols {
                ts: &ts,
                inst: &inst,
                inst_lut: None,
                side: &side,
                amount: &amount,
                index_price: Some(OptF64 {
                    values: &px,
                    valid: None,
                }),
                iv: Some(OptF64 {
                    values: &iv,
                    valid: None,
                }),
                trade_id: Some(TradeIds::Int {
                    values: &ids,
                    valid: None,
                }),
            },
        );
        let mut reg = Registry::default();
        let open = FxHashSet::default();
        let fr = Frontier {
            open_label: None,
            open_ids: &open,
            seq_base: [0; 3],
            resolution: MIN,
            multipliers: &[],
            per_asset: false,
        };
        let mut v = Validated::default();
        assert!(trades(&mut reg, &fr, &b, &mut v));
        let got: Vec<(usize, &str)> = v.rejects.iter().map(|r| (r.row, r.reason.name())).collect();
        assert_eq!(
            got,
            vec![
                (1, "bad_timestamp"),
                (2, "unparseable_instrument"),
                (3, "unknown_side"),
                (4, "bad_amount"),
                (5, "bad_price"),
                (6, "bad_iv"),
                (7, "expired"),
                (8, "duplicate_trade_id"),
            ]
        );
        // Row 9 (t0) is kept and row 8 (t0+3min, same id, later in time) is the duplicate.
        assert_eq!(accepted_in_order(&v.trades), vec![9, 0]);
        assert_eq!(v.trades.last_row(), Some(0));
        assert_eq!(v.rows[0], 10);
    }

    #[test]
    fn rows_older_than_the_open_bucket_are_late() {
        let dict = InstrumentDict::Names(vec!["BTC-27DEC24-100000-C".into()]);
        let ts = [T0 - 1, T0, T0 + MIN];
        let b = TradeBatch::one(
            &dict,
            TradeCols {
                ts: &ts,
                inst: &[0, 0, 0],
                inst_lut: None,
                side: &[1, 1, 1],
                amount: &[1.0, 1.0, 1.0],
                index_price: None,
                iv: None,
                trade_id: None,
            },
        );
        let mut reg = Registry::default();
        let open = FxHashSet::default();
        let fr = Frontier {
            open_label: Some(T0 + MIN),
            open_ids: &open,
            seq_base: [100, 0, 0],
            resolution: MIN,
            multipliers: &[],
            per_asset: false,
        };
        let mut v = Validated::default();
        assert!(trades(&mut reg, &fr, &b, &mut v));
        assert_eq!(
            v.rejects,
            vec![Reject {
                table: Table::Trades,
                row: 0,
                reason: Reason::Late
            }]
        );
        assert_eq!(accepted_in_order(&v.trades), vec![1, 2]);
        assert!(
            v.trades.order.is_none(),
            "already sorted input needs no order vector"
        );
        assert_eq!(v.trades.seq_base, 100);
    }

    /// Validates `ts`/`inst` (dictionary: a BTC, an ETH option, a bad name)
    /// with integer ids `ids`, for a per-asset replay or not.
    fn validated(ts: &[i64], inst: &[i32], ids: &[i64], per_asset: bool) -> Validated {
        let dict = InstrumentDict::Names(vec![
            "BTC-27DEC24-100000-C".into(),
            "ETH-27DEC24-3000-P".into(),
            "garbage".into(),
        ]);
        let n = ts.len();
        let (side, amount) = (vec![1i8; n], vec![1.0; n]);
        let b = TradeBatch::one(
            &dict,
            TradeCols {
                ts,
                inst,
                inst_lut: None,
                side: &side,
                amount: &amount,
                index_price: None,
                iv: None,
                trade_id: Some(TradeIds::Int {
                    values: ids,
                    valid: None,
                }),
            },
        );
        let mut reg = Registry::default();
        let open = FxHashSet::default();
        let fr = Frontier {
            open_label: None,
            open_ids: &open,
            seq_base: [0; 3],
            resolution: MIN,
            multipliers: &[],
            per_asset,
        };
        let mut v = Validated::default();
        assert!(trades(&mut reg, &fr, &b, &mut v));
        v
    }

    #[test]
    fn rows_of_each_asset_in_time_order_are_handed_out_unsorted() {
        // ETH's block first, then BTC's (a bad name inside it); the first and
        // last times tie across assets; BTC's id 11 comes twice.
        let ts = [
            T0,
            T0 + 5 * MIN,
            T0 + 9 * MIN,
            T0,
            T0 + 2 * MIN,
            T0 + 2 * MIN,
            T0 + 3 * MIN,
            T0 + 9 * MIN,
        ];
        let inst = [1, 1, 1, 0, 0, 2, 0, 0];
        let ids = [10, 11, 12, 10, 11, 99, 11, 12];
        let mut v = validated(&ts, &inst, &ids, true);
        let dup = Reason::DuplicateTradeId;
        let reasons: Vec<Reason> = v.rejects.iter().map(|r| r.reason).collect();
        assert_eq!(reasons, vec![Reason::UnparseableInstrument, dup]);
        assert_eq!(v.rejects[1].row, 6, "BTC's second id 11 is the repeat");
        assert!(v.trades.deferred && v.trades.order.is_none());
        let by_asset = v.trades.by_asset.clone().unwrap();
        let mut lists: Vec<Vec<u32>> = by_asset
            .iter()
            .map(|l| l.iter().collect::<Vec<u32>>())
            .filter(|l| !l.is_empty())
            .collect();
        lists.sort();
        assert_eq!(lists, vec![vec![0, 1, 2], vec![3, 4, 7]]);
        // The first accepted row in time is the least (time, row), the last the greatest.
        assert_eq!(
            (v.trades.first_row(), v.trades.last_row()),
            (Some(0), Some(7))
        );
        // What a serial replay gets: the stable time order of every accepted row.
        v.trades.sort(&ts);
        assert!(!v.trades.deferred);
        assert_eq!(accepted_in_order(&v.trades), vec![0, 3, 4, 1, 2, 7]);
        // Without a per-asset replay, the same rows get the same verdicts and order.
        let w = validated(&ts, &inst, &ids, false);
        assert_eq!(w.rejects, v.rejects);
        assert_eq!(accepted_in_order(&w.trades), accepted_in_order(&v.trades));
        assert!(w.trades.by_asset.is_none());
    }

    #[test]
    fn a_cursor_over_runs_walks_their_accepted_rows_in_order() {
        let mut runs = RowRuns::default();
        for r in [3u32, 4, 5, 9, 2, 10, 11] {
            runs.push(r);
        }
        assert_eq!(runs.0, vec![(3, 6), (9, 10), (2, 3), (10, 12)]);
        assert_eq!(
            (runs.rows(), runs.first(), runs.last()),
            (7, Some(3), Some(11))
        );
        let mut reason = vec![0u8; 12];
        reason[5] = 1;
        reason[9] = 1;
        let acc = Accepted {
            reason,
            ..Accepted::default()
        };
        let mut c = acc.cursor_runs(&runs);
        assert_eq!(c.ahead(2), Some(5), "ahead stays within the run");
        assert_eq!(c.ahead(3), None);
        let mut seen = Vec::new();
        while let Some(r) = c.peek() {
            seen.push(r);
            c.advance();
        }
        assert_eq!(seen, vec![3, 4, 2, 10, 11]);
        let none = RowRuns::default();
        assert_eq!(acc.cursor_runs(&none).peek(), None);
    }

    #[test]
    fn an_asset_out_of_time_order_takes_the_full_sort() {
        let ts = [T0 + MIN, T0, T0 + 3 * MIN, T0 + 2 * MIN];
        let v = validated(&ts, &[0, 1, 0, 0], &[1, 1, 3, 2], true);
        assert!(v.trades.by_asset.is_none() && !v.trades.deferred);
        assert_eq!(accepted_in_order(&v.trades), vec![1, 0, 3, 2]);
        // Input already in time order: neither a sort nor per-asset lists.
        let v = validated(&[T0, T0, T0 + MIN], &[1, 0, 1], &[1, 1, 2], true);
        assert!(v.trades.by_asset.is_none() && v.trades.order.is_none() && !v.trades.deferred);
    }
}
