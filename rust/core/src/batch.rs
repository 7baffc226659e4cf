//! Borrowed input columns of one update: the canonical trades, chain and spot
//! tables of DESIGN section 2, already turned into numbers by the Python side
//! (timestamps as ns with `i64::MIN` for null, instruments as dictionary codes
//! with -1 for null, sides as +1/-1/0, missing floats as NaN).

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

#[derive(Clone, Debug)]
pub struct TradeBatch<'a> {
    pub dict: &'a InstrumentDict,
    pub ts: &'a [i64],
    pub inst: &'a [i32],
    pub side: &'a [i8],
    pub amount: &'a [f64],
    pub index_price: Option<OptF64<'a>>,
    pub iv: Option<OptF64<'a>>,
    pub trade_id: Option<TradeIds<'a>>,
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

impl<'a> TradeBatch<'a> {
    pub fn check(&self) -> Result<()> {
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
        check_codes("trades", self.inst, self.dict.len())
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

impl TradeBatch<'_> {
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
