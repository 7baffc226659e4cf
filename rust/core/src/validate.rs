//! Row validation, sorting and de-duplication (DESIGN section 5).
//!
//! Every row of an update either becomes an event or gets exactly one reason,
//! in a fixed precedence (the first failing check wins), so nothing is dropped
//! without being counted. Accepted rows are stably sorted by time; `seq` keeps
//! the input order of equal timestamps across chunks, which is what makes any
//! chunking of a time-ordered stream replay bit-identically.

use rayon::prelude::*;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::batch::{ChainBatch, SpotBatch, TradeBatch, NULL_TS};
use crate::error::CoreError;
use crate::grid::bucket_label;
use crate::registry::Registry;

/// Why a row was rejected. The discriminants are stable (they cross into Python).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    BadTimestamp = 0,
    UnparseableInstrument = 1,
    UnknownSide = 2,
    BadAmount = 3,
    BadPrice = 4,
    BadIv = 5,
    BadOpenInterest = 6,
    BadGamma = 7,
    BadAsset = 8,
    Expired = 9,
    Late = 10,
    DuplicateTradeId = 11,
}

impl Reason {
    pub const COUNT: usize = 12;
    pub const ALL: [Reason; Reason::COUNT] = [
        Reason::BadTimestamp,
        Reason::UnparseableInstrument,
        Reason::UnknownSide,
        Reason::BadAmount,
        Reason::BadPrice,
        Reason::BadIv,
        Reason::BadOpenInterest,
        Reason::BadGamma,
        Reason::BadAsset,
        Reason::Expired,
        Reason::Late,
        Reason::DuplicateTradeId,
    ];

    /// The name used in diagnostics and in the `reason` column of rejected rows.
    pub fn name(self) -> &'static str {
        match self {
            Reason::BadTimestamp => "bad_timestamp",
            Reason::UnparseableInstrument => "unparseable_instrument",
            Reason::UnknownSide => "unknown_side",
            Reason::BadAmount => "bad_amount",
            Reason::BadPrice => "bad_price",
            Reason::BadIv => "bad_iv",
            Reason::BadOpenInterest => "bad_open_interest",
            Reason::BadGamma => "bad_gamma",
            Reason::BadAsset => "bad_asset",
            Reason::Expired => "expired",
            Reason::Late => "late",
            Reason::DuplicateTradeId => "duplicate_trade_id",
        }
    }
}

/// The three input tables.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Table {
    Trades = 0,
    Chain = 1,
    Spot = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    pub table: Table,
    pub row: usize,
    pub reason: Reason,
}

/// An accepted trade. `index_price`/`iv` are NaN when absent (validated values never are).
#[derive(Clone, Copy, Debug)]
pub struct TradeEv {
    pub ts: i64,
    pub seq: u64,
    pub label: i64,
    pub inst: u32,
    pub signed: f64,
    pub index_price: f64,
    pub iv: f64,
    pub id: Option<u128>,
}

#[derive(Clone, Copy, Debug)]
pub struct ChainEv {
    pub ts: i64,
    pub seq: u64,
    pub label: i64,
    pub inst: u32,
    pub mark_iv: f64,
    pub underlying_price: f64,
}

#[derive(Clone, Copy, Debug)]
pub struct SpotEv {
    pub ts: i64,
    pub seq: u64,
    pub label: i64,
    pub asset: u16,
    pub price: f64,
}

/// What validation needs to know about the engine before this update.
pub struct Frontier<'a> {
    /// Label of the open bucket: events in earlier buckets are late.
    pub open_label: Option<i64>,
    /// Trade ids already accepted in the open bucket.
    pub open_ids: &'a FxHashSet<u128>,
    /// Rows consumed so far per table (the base of `seq`).
    pub seq_base: [u64; 3],
    pub resolution: i64,
}

#[derive(Default)]
pub struct Validated {
    pub trades: Vec<TradeEv>,
    pub chain: Vec<ChainEv>,
    pub spot: Vec<SpotEv>,
    pub rejects: Vec<Reject>,
    pub rows: [u64; 3],
}

#[inline]
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Indices of the accepted rows, sorted by (timestamp, row).
fn sorted_rows(ts: &[i64], ok: &[bool]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..ts.len()).filter(|&i| ok[i]).collect();
    if !idx.windows(2).all(|w| ts[w[0]] <= ts[w[1]]) {
        idx.par_sort_unstable_by_key(|&i| (ts[i], i));
    }
    idx
}

fn late(fr: &Frontier, ts: i64) -> bool {
    fr.open_label
        .is_some_and(|l| bucket_label(ts, fr.resolution) < l)
}

pub fn trades(reg: &mut Registry, fr: &Frontier, b: &TradeBatch, out: &mut Validated) {
    let ids: Vec<Result<u32, CoreError>> = reg.resolve_dict(b.dict);
    let n = b.ts.len();
    let mut reason: Vec<Option<Reason>> = vec![None; n];
    let mut inst = vec![0u32; n];
    for i in 0..n {
        let code = b.inst[i];
        let id = if code >= 0 {
            ids[code as usize].as_ref().ok().copied()
        } else {
            None
        };
        reason[i] = if b.ts[i] == NULL_TS {
            Some(Reason::BadTimestamp)
        } else if id.is_none() {
            Some(Reason::UnparseableInstrument)
        } else if b.side[i] != 1 && b.side[i] != -1 {
            Some(Reason::UnknownSide)
        } else if !positive(b.amount[i]) {
            Some(Reason::BadAmount)
        } else if b
            .index_price
            .and_then(|c| c.get(i))
            .is_some_and(|p| !positive(p))
        {
            Some(Reason::BadPrice)
        } else if b.iv.and_then(|c| c.get(i)).is_some_and(|v| !positive(v)) {
            Some(Reason::BadIv)
        } else if b.ts[i] >= reg.info(id.unwrap()).inst.expiry_ns {
            Some(Reason::Expired)
        } else if late(fr, b.ts[i]) {
            Some(Reason::Late)
        } else {
            None
        };
        if let Some(id) = id {
            inst[i] = id;
        }
    }
    let ok: Vec<bool> = reason.iter().map(Option::is_none).collect();
    let order = sorted_rows(b.ts, &ok);
    let mut seen: FxHashSet<u128> = FxHashSet::default();
    let base = fr.seq_base[Table::Trades as usize];
    out.trades.reserve(order.len());
    for &i in &order {
        let id = b.trade_id.and_then(|t| t.key(i));
        if let Some(key) = id {
            if fr.open_ids.contains(&key) || !seen.insert(key) {
                reason[i] = Some(Reason::DuplicateTradeId);
                continue;
            }
        }
        out.trades.push(TradeEv {
            ts: b.ts[i],
            seq: base + i as u64,
            label: bucket_label(b.ts[i], fr.resolution),
            inst: inst[i],
            signed: b.side[i] as f64 * b.amount[i],
            index_price: b.index_price.and_then(|c| c.get(i)).unwrap_or(f64::NAN),
            iv: b.iv.and_then(|c| c.get(i)).unwrap_or(f64::NAN),
            id,
        });
    }
    push_rejects(out, Table::Trades, &reason);
    out.rows[Table::Trades as usize] = n as u64;
}

pub fn chain(reg: &mut Registry, fr: &Frontier, b: &ChainBatch, out: &mut Validated) {
    let ids = reg.resolve_dict(b.dict);
    let n = b.ts.len();
    let mut reason: Vec<Option<Reason>> = vec![None; n];
    let mut inst = vec![0u32; n];
    let bad = |c: Option<crate::batch::OptF64>, i: usize, ok: fn(f64) -> bool| {
        c.and_then(|c| c.get(i)).is_some_and(|x| !ok(x))
    };
    for i in 0..n {
        let code = b.inst[i];
        let id = if code >= 0 {
            ids[code as usize].as_ref().ok().copied()
        } else {
            None
        };
        reason[i] = if b.ts[i] == NULL_TS {
            Some(Reason::BadTimestamp)
        } else if id.is_none() {
            Some(Reason::UnparseableInstrument)
        } else if bad(b.underlying_price, i, positive) {
            Some(Reason::BadPrice)
        } else if bad(b.mark_iv, i, positive) {
            Some(Reason::BadIv)
        } else if bad(b.open_interest, i, |x| x.is_finite() && x >= 0.0) {
            Some(Reason::BadOpenInterest)
        } else if bad(b.gamma, i, f64::is_finite) {
            Some(Reason::BadGamma)
        } else if b.ts[i] >= reg.info(id.unwrap()).inst.expiry_ns {
            Some(Reason::Expired)
        } else if late(fr, b.ts[i]) {
            Some(Reason::Late)
        } else {
            None
        };
        if let Some(id) = id {
            inst[i] = id;
        }
    }
    let ok: Vec<bool> = reason.iter().map(Option::is_none).collect();
    let base = fr.seq_base[Table::Chain as usize];
    out.chain = sorted_rows(b.ts, &ok)
        .into_iter()
        .map(|i| ChainEv {
            ts: b.ts[i],
            seq: base + i as u64,
            label: bucket_label(b.ts[i], fr.resolution),
            inst: inst[i],
            mark_iv: b.mark_iv.and_then(|c| c.get(i)).unwrap_or(f64::NAN),
            underlying_price: b
                .underlying_price
                .and_then(|c| c.get(i))
                .unwrap_or(f64::NAN),
        })
        .collect();
    push_rejects(out, Table::Chain, &reason);
    out.rows[Table::Chain as usize] = n as u64;
}

pub fn spot(reg: &mut Registry, fr: &Frontier, b: &SpotBatch, out: &mut Validated) {
    let n = b.ts.len();
    let asset_ids: Vec<Option<u16>> = b
        .assets
        .iter()
        .map(|a| (!a.trim().is_empty()).then(|| reg.asset_id(a.trim())))
        .collect();
    let mut reason: Vec<Option<Reason>> = vec![None; n];
    for i in 0..n {
        let asset = if b.asset[i] >= 0 {
            asset_ids[b.asset[i] as usize]
        } else {
            None
        };
        reason[i] = if b.ts[i] == NULL_TS {
            Some(Reason::BadTimestamp)
        } else if asset.is_none() {
            Some(Reason::BadAsset)
        } else if !positive(b.price[i]) {
            Some(Reason::BadPrice)
        } else if late(fr, b.ts[i]) {
            Some(Reason::Late)
        } else {
            None
        };
    }
    let ok: Vec<bool> = reason.iter().map(Option::is_none).collect();
    let base = fr.seq_base[Table::Spot as usize];
    out.spot = sorted_rows(b.ts, &ok)
        .into_iter()
        .map(|i| SpotEv {
            ts: b.ts[i],
            seq: base + i as u64,
            label: bucket_label(b.ts[i], fr.resolution),
            asset: asset_ids[b.asset[i] as usize].expect("validated"),
            price: b.price[i],
        })
        .collect();
    push_rejects(out, Table::Spot, &reason);
    out.rows[Table::Spot as usize] = n as u64;
}

fn push_rejects(out: &mut Validated, table: Table, reason: &[Option<Reason>]) {
    out.rejects.extend(
        reason
            .iter()
            .enumerate()
            .filter_map(|(row, r)| r.map(|reason| Reject { table, row, reason })),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{OptF64, TradeIds};
    use crate::registry::InstrumentDict;

    const MIN: i64 = 60_000_000_000;
    const T0: i64 = 1_700_000_000_000_000_000 / MIN * MIN;

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
        let iv = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5];
        let ids = [1i64, 2, 3, 4, 5, 6, 7, 8, 9, 9];
        let b = TradeBatch {
            dict: &dict,
            ts: &ts,
            inst: &inst,
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
        };
        let mut reg = Registry::default();
        let open = FxHashSet::default();
        let fr = Frontier {
            open_label: None,
            open_ids: &open,
            seq_base: [0; 3],
            resolution: MIN,
        };
        let mut v = Validated::default();
        trades(&mut reg, &fr, &b, &mut v);
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
        let kept: Vec<u64> = v.trades.iter().map(|e| e.seq).collect();
        assert_eq!(kept, vec![9, 0]);
        assert_eq!(v.rows[0], 10);
    }

    #[test]
    fn rows_older_than_the_open_bucket_are_late() {
        let dict = InstrumentDict::Names(vec!["BTC-27DEC24-100000-C".into()]);
        let ts = [T0 - 1, T0, T0 + MIN];
        let b = TradeBatch {
            dict: &dict,
            ts: &ts,
            inst: &[0, 0, 0],
            side: &[1, 1, 1],
            amount: &[1.0, 1.0, 1.0],
            index_price: None,
            iv: None,
            trade_id: None,
        };
        let mut reg = Registry::default();
        let open = FxHashSet::default();
        let fr = Frontier {
            open_label: Some(T0 + MIN),
            open_ids: &open,
            seq_base: [100, 0, 0],
            resolution: MIN,
        };
        let mut v = Validated::default();
        trades(&mut reg, &fr, &b, &mut v);
        assert_eq!(v.rejects.len(), 1);
        assert_eq!((v.rejects[0].row, v.rejects[0].reason), (0, Reason::Late));
        assert_eq!(
            v.trades.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![101, 102]
        );
    }
}
