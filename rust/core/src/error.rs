//! The core's error type.
//!
//! Each variant maps to one Python exception class in the binding crate
//! (`flowgex.errors`), so callers can catch exactly what went wrong. Messages
//! say what was expected and what was found, naming the instrument, asset,
//! option or time involved (STYLE 9–10).

use thiserror::Error;

/// Result alias used throughout the core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// A Deribit instrument name that does not follow `ASSET[_QUOTE]-DMMMYY-STRIKE-C|P`.
    #[error("cannot parse instrument name {name:?}: {why}")]
    InstrumentParse { name: String, why: String },

    /// An instrument given by columns (asset, expiry, strike, kind) that is not valid.
    #[error("invalid instrument ({what}): {why}")]
    InvalidInstrument { what: String, why: String },

    /// An asset with no contract multiplier in the built-in table or the user's.
    #[error(
        "no contract multiplier for asset {asset:?} (instrument {instrument}): pass \
         multipliers={{\"{asset}\": <underlying units per contract>}}"
    )]
    MissingMultiplier { asset: String, instrument: String },

    /// An option value that is out of its domain (unit name, resolution, rate...).
    #[error("invalid option {name}: expected {expected}, found {found}")]
    InvalidOption {
        name: String,
        expected: String,
        found: String,
    },

    /// Column arrays of one table that do not line up.
    #[error("input table {table}: {why}")]
    Shape { table: String, why: String },

    /// A live instrument with no volatility under `missing_vol="error"`.
    #[error(
        "no volatility for {instrument} at {time}: no chain mark_iv and no trade iv strictly \
         before that time; pass missing_vol=\"skip\" or a number, or add a chain table"
    )]
    MissingVol {
        instrument: String,
        time: String,
        /// The grid time, ns since the epoch (for callers that act on it).
        time_ns: i64,
    },

    /// A live instrument with no underlying price under `missing_spot="error"`.
    #[error(
        "no underlying price for {instrument} at {time}: no chain underlying_price, spot row or \
         trade index_price strictly before that time; pass spot=, a chain, trades with \
         index_price, or missing_spot=\"skip\""
    )]
    MissingSpot {
        instrument: String,
        time: String,
        /// The grid time, ns since the epoch.
        time_ns: i64,
    },

    /// A snapshot that cannot be restored (wrong magic, version or corrupt payload).
    #[error("cannot restore snapshot: {0}")]
    Snapshot(String),

    /// A run whose grid (steps × live options) would exceed `grid_limit`.
    #[error(
        "the grid would hold {cells} cells (steps × live options), over grid_limit={limit}: \
         {cause}. Bound the grid with start=/end=, keep only the last step \
         (keep_inventory=\"last\", keep_aggregates=\"last\"), feed the data in chunks \
         (fg.Engine.update / fg.replay), quarantine isolated outlier rows \
         (errors=\"quarantine\"), or raise grid_limit="
    )]
    GridTooLarge {
        cells: u64,
        limit: u64,
        cause: String,
    },

    /// A panic inside the core, caught at the boundary (a bug: please report it).
    #[error("internal error in flowgex's core: {0}")]
    Internal(String),

    /// The worker pool could not be built.
    #[error("cannot start the flowgex thread pool: {0}")]
    ThreadPool(String),
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC for messages.
pub fn fmt_time(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_was_expected_and_found() {
        let e = CoreError::MissingMultiplier {
            asset: "PAXG".into(),
            instrument: "PAXG_USDC-27DEC24-2600-C".into(),
        };
        let msg = e.to_string();
        assert!(
            msg.contains("PAXG") && msg.contains("multipliers="),
            "{msg}"
        );
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(1_500_000_000), "1970-01-01T00:00:01.500Z");
    }
}
