//! Why rows are rejected (DESIGN section 5): the reasons in precedence order,
//! the tables they come from and a rejected row, shared by validation,
//! de-duplication, the grid budget and the counters without a cycle between them.

use serde::{Deserialize, Serialize};

/// Why a row was rejected. The discriminants are stable (they cross into Python).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    BadTimestamp = 0,
    OutlierTimestamp = 1,
    UnparseableInstrument = 2,
    UnknownMultiplier = 3,
    UnknownSide = 4,
    BadAmount = 5,
    BadPrice = 6,
    BadIv = 7,
    BadOpenInterest = 8,
    BadGamma = 9,
    BadAsset = 10,
    Expired = 11,
    Late = 12,
    DuplicateTradeId = 13,
}

impl Reason {
    pub const COUNT: usize = 14;
    /// In precedence order: a row gets the first reason it fails.
    pub const ALL: [Reason; Reason::COUNT] = [
        Reason::BadTimestamp,
        Reason::OutlierTimestamp,
        Reason::UnparseableInstrument,
        Reason::UnknownMultiplier,
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
            Reason::OutlierTimestamp => "outlier_timestamp",
            Reason::UnparseableInstrument => "unparseable_instrument",
            Reason::UnknownMultiplier => "unknown_multiplier",
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

    /// The reason byte: 0 means accepted.
    #[inline]
    pub fn byte(self) -> u8 {
        self as u8 + 1
    }

    pub(crate) fn from_byte(b: u8) -> Reason {
        Reason::ALL[(b - 1) as usize]
    }
}

/// The reason byte of a row that is not bad but not used either: a chain row
/// at or after its option's expiry (counted as `chain_after_expiry`).
pub const IGNORED: u8 = u8::MAX;

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
