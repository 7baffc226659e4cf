//! Borrowed input columns of one update: the canonical trades, chain and spot
//! tables of DESIGN section 2, already turned into numbers by the Python side
//! (timestamps as ns with `i64::MIN` for null, instruments as dictionary codes
//! with -1 for null, sides as +1/-1/0, missing floats as NaN).

use std::borrow::Cow;

use crate::error::{CoreError, Result};
use crate::registry::InstrumentDict;

/// Null timestamp marker (numpy's NaT).
pub const NULL_TS: i64 = i64::MIN;

/// An optional float column: values plus a validity mask (`None` = all valid).
/// A null is "no observation"; a NaN that is not null is a bad value.
#[derive(Clone, Copy, Debug)]
pub struct OptF64<'a> {
    pub values: &'a [f64],
    pub valid: Option<&'a [bool]>,
}

impl<'a> OptF64<'a> {
    #[inline]
    pub fn get(&self, i: usize) -> Option<f64> {
        match self.valid {
            Some(v) if !v[i] => None,
            _ => Some(self.values[i]),
        }
    }
}

/// Trade ids, integer or string (Arrow large-string buffers).
#[derive(Clone, Copy, Debug)]
pub enum TradeIds<'a> {
    Int {
        values: &'a [i64],
        valid: Option<&'a [bool]>,
    },
    Str {
        offsets: &'a [i64],
        data: &'a [u8],
        valid: Option<&'a [bool]>,
    },
}

impl<'a> TradeIds<'a> {
    pub fn len(&self) -> usize {
        match self {
            TradeIds::Int { values, .. } => values.len(),
            TradeIds::Str { offsets, .. } => offsets.len().saturating_sub(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One contiguous run of trade rows: an Arrow record batch's columns, viewed
/// in place (the Python side copies nothing it does not have to; see
/// [`TradeBatch`]).
#[derive(Clone, Copy, Debug)]
pub struct TradeCols<'a> {
    pub ts: &'a [i64],
    /// Dictionary codes: the batch's own when `inst_lut` is given, else the update's.
    pub inst: &'a [i32],
    /// The update's code of each of the batch's own codes, shifted by one
    /// (entry 0 is null's, -1): a record batch's dictionary indices are used
    /// in place, renumbered through this small table instead of per row.
    pub inst_lut: Option<&'a [i32]>,
    pub side: &'a [i8],
    pub amount: &'a [f64],
    pub index_price: Option<OptF64<'a>>,
    pub iv: Option<OptF64<'a>>,
    pub trade_id: Option<TradeIds<'a>>,
}

/// The trades of one update: one or more parts of consecutive rows, sharing
/// one instrument dictionary. Row `i` of the update is row `i - starts[p]` of
/// the part `p` that holds it.
///
/// Why parts: a table read from a Parquet dataset arrives as hundreds of
/// record batches, and joining them into contiguous columns wrote 45 fresh
/// bytes a trade — on a fresh process the kernel's page faults made that
/// copy longer than the replay itself (issue 17). The per-asset replay walks
/// rows in increasing order, so it reads the parts where they are; the few
/// paths that need random access in time order join the parts first
/// ([`JoinedTrades`]).
#[derive(Clone, Debug)]
pub struct TradeBatch<'a> {
    pub dict: &'a InstrumentDict,
    pub parts: Vec<TradeCols<'a>>,
    /// The update's row number of each part's first row, then the row count.
    pub starts: Vec<usize>,
}

impl<'a> TradeBatch<'a> {
    /// A batch of one contiguous part.
    pub fn one(dict: &'a InstrumentDict, cols: TradeCols<'a>) -> Self {
        Self::new(dict, vec![cols])
    }

    /// A batch of consecutive parts (row numbers run on from part to part).
    pub fn new(dict: &'a InstrumentDict, parts: Vec<TradeCols<'a>>) -> Self {
        let mut starts = Vec::with_capacity(parts.len() + 1);
        let mut at = 0;
        starts.push(0);
        for p in &parts {
            at += p.ts.len();
            starts.push(at);
        }
        TradeBatch {
            dict,
            parts,
            starts,
        }
    }

    /// Rows in all parts.
    pub fn len(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The part holding row `row`, and the row's position in it.
    #[inline]
    pub fn locate(&self, row: usize) -> (usize, usize) {
        let p = self.starts.partition_point(|&s| s <= row) - 1;
        (p, row - self.starts[p])
    }

    /// Row `row`'s timestamp (random access: a binary search over the parts).
    #[inline]
    pub fn ts_at(&self, row: usize) -> i64 {
        let (p, j) = self.locate(row);
        self.parts[p].ts[j]
    }

    /// `(first row, part)` of each part, in row order.
    pub fn iter_parts(&self) -> impl Iterator<Item = (usize, &TradeCols<'a>)> + '_ {
        self.starts.iter().copied().zip(&self.parts)
    }
}

/// Finds the part of rows visited in (mostly) increasing order in O(1): the
/// replay loop's rows of one asset, or every row in input order. Holds the
/// current part's row range, so a row in it costs one comparison.
#[derive(Clone, Copy, Debug, Default)]
pub struct PartCursor {
    part: usize,
    lo: usize,
    hi: usize,
}

impl PartCursor {
    #[inline(always)]
    pub fn locate(&mut self, b: &TradeBatch, row: usize) -> (usize, usize) {
        if row.wrapping_sub(self.lo) < self.hi - self.lo {
            return (self.part, row - self.lo);
        }
        self.seek(b, row)
    }

    /// Whether `row` lies in the current part (its position there), without moving.
    #[inline(always)]
    pub fn within(&self, row: usize) -> Option<usize> {
        (row.wrapping_sub(self.lo) < self.hi - self.lo).then(|| row - self.lo)
    }

    #[cold]
    fn seek(&mut self, b: &TradeBatch, row: usize) -> (usize, usize) {
        let (p, j) = b.locate(row);
        *self = PartCursor {
            part: p,
            lo: b.starts[p],
            hi: b.starts[p + 1],
        };
        (p, j)
    }
}

/// The parts of a [`TradeBatch`] joined into contiguous columns (owned), for
/// the paths that read rows in an order other than the input's.
#[derive(Debug, Default)]
pub struct JoinedTrades {
    ts: Vec<i64>,
    inst: Vec<i32>,
    side: Vec<i8>,
    amount: Vec<f64>,
    index_price: Option<JoinedOpt>,
    iv: Option<JoinedOpt>,
    trade_id: Option<JoinedIds>,
}

#[derive(Debug, Default)]
struct JoinedOpt {
    values: Vec<f64>,
    valid: Option<Vec<bool>>,
}

#[derive(Debug)]
enum JoinedIds {
    Int {
        values: Vec<i64>,
        valid: Option<Vec<bool>>,
    },
    Str {
        offsets: Vec<i64>,
        data: Vec<u8>,
        valid: Option<Vec<bool>>,
    },
}

fn join_col<'a, T: Copy + 'a>(
    parts: &[TradeCols<'a>],
    col: impl Fn(&TradeCols<'a>) -> &'a [T],
) -> Vec<T> {
    let n = parts.iter().map(|p| col(p).len()).sum();
    let mut out = Vec::with_capacity(n);
    for p in parts {
        out.extend_from_slice(col(p));
    }
    out
}

fn join_opt<'a>(
    parts: &[TradeCols<'a>],
    col: impl Fn(&TradeCols<'a>) -> Option<OptF64<'a>>,
) -> Option<JoinedOpt> {
    let present = parts.iter().filter(|p| col(p).is_some()).count();
    if present == 0 {
        return None;
    }
    // A part without the column has no observation there: NaN flagged invalid.
    let mut values = Vec::new();
    for p in parts {
        match col(p) {
            Some(c) => values.extend_from_slice(c.values),
            None => values.resize(values.len() + p.ts.len(), f64::NAN),
        }
    }
    let valid = (present < parts.len()
        || parts
            .iter()
            .any(|p| col(p).is_some_and(|c| c.valid.is_some())))
    .then(|| {
        let mut out = Vec::new();
        for p in parts {
            match col(p) {
                Some(OptF64 { valid: Some(v), .. }) => out.extend_from_slice(v),
                Some(_) => out.resize(out.len() + p.ts.len(), true),
                None => out.resize(out.len() + p.ts.len(), false),
            }
        }
        out
    });
    Some(JoinedOpt { values, valid })
}

fn join_ids(parts: &[TradeCols]) -> Result<Option<JoinedIds>> {
    let kinds: Vec<Option<bool>> = parts
        .iter()
        .map(|p| p.trade_id.map(|t| matches!(t, TradeIds::Int { .. })))
        .collect();
    if kinds.iter().all(Option::is_none) {
        return Ok(None);
    }
    let id_valid = |p: &TradeCols| -> Option<Vec<bool>> {
        match p.trade_id {
            Some(TradeIds::Int { valid, .. }) | Some(TradeIds::Str { valid, .. }) => {
                valid.map(<[bool]>::to_vec)
            }
            None => Some(vec![false; p.ts.len()]),
        }
    };
    let valid = parts
        .iter()
        .any(|p| {
            !matches!(
                p.trade_id,
                Some(TradeIds::Int { valid: None, .. }) | Some(TradeIds::Str { valid: None, .. })
            )
        })
        .then(|| {
            let mut out = Vec::new();
            for p in parts {
                match id_valid(p) {
                    Some(v) => out.extend(v),
                    None => out.resize(out.len() + p.ts.len(), true),
                }
            }
            out
        });
    if kinds.iter().all(|k| k != &Some(false)) {
        let mut values = Vec::new();
        for p in parts {
            match p.trade_id {
                Some(TradeIds::Int { values: v, .. }) => values.extend_from_slice(v),
                _ => values.resize(values.len() + p.ts.len(), 0),
            }
        }
        return Ok(Some(JoinedIds::Int { values, valid }));
    }
    if kinds.iter().any(|k| k == &Some(true)) {
        return Err(CoreError::Shape {
            table: "trades".into(),
            why: "trade_id is an integer in some parts and a string in others".into(),
        });
    }
    let (mut offsets, mut data) = (vec![0i64], Vec::new());
    for p in parts {
        match p.trade_id {
            Some(TradeIds::Str {
                offsets: o,
                data: d,
                ..
            }) => {
                let (lo, hi) = (o[0] as usize, o[o.len() - 1] as usize);
                let base = data.len() as i64 - o[0];
                data.extend_from_slice(&d[lo..hi]);
                offsets.extend(o[1..].iter().map(|x| x + base));
            }
            _ => {
                let end = data.len() as i64;
                offsets.resize(offsets.len() + p.ts.len(), end);
            }
        }
    }
    Ok(Some(JoinedIds::Str {
        offsets,
        data,
        valid,
    }))
}

impl JoinedTrades {
    /// Copies the parts (already checked) into contiguous columns.
    pub fn of(b: &TradeBatch) -> Result<JoinedTrades> {
        let parts = &b.parts[..];
        Ok(JoinedTrades {
            ts: join_col(parts, |p| p.ts),
            inst: parts.iter().flat_map(|p| p.codes()).collect(),
            side: join_col(parts, |p| p.side),
            amount: join_col(parts, |p| p.amount),
            index_price: join_opt(parts, |p| p.index_price),
            iv: join_opt(parts, |p| p.iv),
            trade_id: join_ids(parts)?,
        })
    }

    /// A one-part batch over the joined columns.
    pub fn view<'a>(&'a self, dict: &'a InstrumentDict) -> TradeBatch<'a> {
        let opt = |c: &'a Option<JoinedOpt>| {
            c.as_ref().map(|c| OptF64 {
                values: &c.values,
                valid: c.valid.as_deref(),
            })
        };
        let trade_id = self.trade_id.as_ref().map(|t| match t {
            JoinedIds::Int { values, valid } => TradeIds::Int {
                values,
                valid: valid.as_deref(),
            },
            JoinedIds::Str {
                offsets,
                data,
                valid,
            } => TradeIds::Str {
                offsets,
                data,
                valid: valid.as_deref(),
            },
        });
        TradeBatch::one(
            dict,
            TradeCols {
                ts: &self.ts,
                inst: &self.inst,
                inst_lut: None,
                side: &self.side,
                amount: &self.amount,
                index_price: opt(&self.index_price),
                iv: opt(&self.iv),
                trade_id,
            },
        )
    }
}

#[derive(Clone, Debug)]
pub struct ChainBatch<'a> {
    pub dict: &'a InstrumentDict,
    pub ts: &'a [i64],
    pub inst: &'a [i32],
    pub mark_iv: Option<OptF64<'a>>,
    pub underlying_price: Option<OptF64<'a>>,
    pub open_interest: Option<OptF64<'a>>,
    pub gamma: Option<OptF64<'a>>,
}

#[derive(Clone, Debug)]
pub struct SpotBatch<'a> {
    /// Unique asset names; `asset` holds codes into it (-1 = null).
    pub assets: &'a [String],
    pub ts: &'a [i64],
    pub asset: &'a [i32],
    pub price: &'a [f64],
}

/// The tables of one `update` call; any may be absent.
#[derive(Clone, Debug, Default)]
pub struct UpdateBatch<'a> {
    pub trades: Option<TradeBatch<'a>>,
    pub chain: Option<ChainBatch<'a>>,
    pub spot: Option<SpotBatch<'a>>,
}

fn check_len(table: &str, column: &str, n: usize, got: usize) -> Result<()> {
    if got == n {
        Ok(())
    } else {
        Err(CoreError::Shape {
            table: table.into(),
            why: format!("column {column} has {got} rows, timestamp has {n}"),
        })
    }
}

fn check_opt(table: &str, column: &str, n: usize, c: &Option<OptF64>) -> Result<()> {
    if let Some(c) = c {
        check_len(table, column, n, c.values.len())?;
        if let Some(v) = c.valid {
            check_len(table, column, n, v.len())?;
        }
    }
    Ok(())
}

impl<'a> TradeCols<'a> {
    /// Row `j`'s code in the update's dictionary (-1 for null).
    #[inline(always)]
    pub fn code(&self, j: usize) -> i32 {
        let k = self.inst[j];
        match self.inst_lut {
            None => k,
            Some(lut) => lut[(k + 1) as usize],
        }
    }

    /// A table of the update's codes shifted by one (`global[code + 1]`, entry
    /// 0 for null) as this part's rows index it: `table[inst[j] + 1]`. The
    /// part's lookup is composed with the table once, so a row pays one
    /// lookup whichever codes it holds; borrowed when the part has no lookup.
    pub fn shifted<'t, T: Copy>(&self, global: &'t [T]) -> Cow<'t, [T]> {
        match self.inst_lut {
            None => Cow::Borrowed(global),
            Some(lut) => Cow::Owned(lut.iter().map(|&g| global[(g + 1) as usize]).collect()),
        }
    }

    /// Every row's code in the update's dictionary.
    #[inline(always)]
    pub fn codes(&self) -> impl Iterator<Item = i32> + '_ {
        let lut = self.inst_lut;
        self.inst.iter().map(move |&k| match lut {
            None => k,
            Some(lut) => lut[(k + 1) as usize],
        })
    }

    fn check(&self, dict_len: usize) -> Result<()> {
        let n = self.ts.len();
        check_len("trades", "instrument", n, self.inst.len())?;
        check_len("trades", "side", n, self.side.len())?;
        check_len("trades", "amount", n, self.amount.len())?;
        check_opt("trades", "index_price", n, &self.index_price)?;
        check_opt("trades", "iv", n, &self.iv)?;
        if let Some(ids) = &self.trade_id {
            check_len("trades", "trade_id", n, ids.len())?;
            if let TradeIds::Str { offsets, data, .. } = ids {
                let bad = offsets
                    .windows(2)
                    .any(|w| w[0] > w[1] || w[1] as usize > data.len() || w[0] < 0);
                if bad {
                    return Err(CoreError::Shape {
                        table: "trades".into(),
                        why: "trade_id offsets are not monotone within the data buffer".into(),
                    });
                }
            }
        }
        match self.inst_lut {
            None => check_codes("trades", self.inst, dict_len),
            Some(lut) if lut.first() == Some(&-1) => {
                check_codes("trades", self.inst, lut.len() - 1)?;
                check_codes("trades", &lut[1..], dict_len)
            }
            Some(_) => Err(CoreError::Shape {
                table: "trades".into(),
                why: "a code table must start with null's code, -1".into(),
            }),
        }
    }

    /// Prefetches the columns of row `i` that the replay loop reads.
    #[inline(always)]
    pub fn prefetch_row(&self, i: usize) {
        prefetch(self.ts, i);
        prefetch(self.inst, i);
        prefetch(self.side, i);
        prefetch(self.amount, i);
        if let Some(c) = &self.iv {
            prefetch(c.values, i);
        }
        if let Some(c) = &self.index_price {
            prefetch(c.values, i);
        }
    }
}

impl<'a> TradeBatch<'a> {
    pub fn check(&self) -> Result<()> {
        for p in &self.parts {
            p.check(self.dict.len())?;
        }
        Ok(())
    }
}

impl<'a> ChainBatch<'a> {
    pub fn check(&self) -> Result<()> {
        let n = self.ts.len();
        check_len("chain", "instrument", n, self.inst.len())?;
        check_opt("chain", "mark_iv", n, &self.mark_iv)?;
        check_opt("chain", "underlying_price", n, &self.underlying_price)?;
        check_opt("chain", "open_interest", n, &self.open_interest)?;
        check_opt("chain", "gamma", n, &self.gamma)?;
        check_codes("chain", self.inst, self.dict.len())
    }
}

impl<'a> SpotBatch<'a> {
    pub fn check(&self) -> Result<()> {
        let n = self.ts.len();
        check_len("spot", "asset", n, self.asset.len())?;
        check_len("spot", "price", n, self.price.len())?;
        check_codes("spot", self.asset, self.assets.len())
    }
}

fn check_codes(table: &str, codes: &[i32], dict_len: usize) -> Result<()> {
    match codes.iter().find(|&&c| c < -1 || c >= dict_len as i32) {
        Some(c) => Err(CoreError::Shape {
            table: table.into(),
            why: format!("dictionary code {c} outside 0..{dict_len}"),
        }),
        None => Ok(()),
    }
}

/// Hints the CPU to fetch `xs[i]` into cache (a no-op off x86-64 or out of
/// bounds). An element wider than a word may straddle two cache lines, so its
/// last byte is fetched too.
#[inline(always)]
pub fn prefetch<T>(xs: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = xs.get(i) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = x as *const T as *const i8;
        // SAFETY: prefetching is a hint; both addresses lie inside a live element.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p);
            if std::mem::size_of::<T>() > 8 {
                _mm_prefetch::<_MM_HINT_T0>(p.add(std::mem::size_of::<T>() - 1));
            }
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (xs, i);
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
