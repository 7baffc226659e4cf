//! Engine options (the keyword options of `flow_gex`), validated once and
//! shared by the replay, the streaming loop, the per-asset shards and the
//! grid budget — in a module of their own so that none of those depends on
//! another for them.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::evaluate::{EvalConfig, MissingSpot, MissingVol};
use crate::exposure::{GreekSet, Unit};
use crate::grid::{ceil_to_grid, floor_to_grid};
use crate::output::Retention;

/// Engine options (the keyword options of `flow_gex`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Grid resolution Δ in nanoseconds.
    pub resolution: i64,
    pub unit: Unit,
    /// First reported grid time (rounded up to the grid).
    pub start: Option<i64>,
    /// Last reported grid time (rounded down to the grid).
    pub end: Option<i64>,
    /// User multipliers by `ASSET` or `ASSET_QUOTE`, overriding the built-in table.
    pub multipliers: Vec<(String, f64)>,
    pub missing_vol: MissingVol,
    pub missing_spot: MissingSpot,
    /// Continuously compounded rate r in Γ = e^{−rT} φ(d₁)/(Sσ√T).
    pub rate: f64,
    /// What to keep for every step (see [`Retention`]).
    pub keep: Retention,
    /// Most grid cells (steps × live options) one update or result may
    /// evaluate; `None`: the default for `keep` (see [`crate::limits`]).
    pub grid_limit: Option<u64>,
    /// Under quarantine, isolated rows more than this far (ns) from the bulk
    /// of an update are outliers (the rule is in the `budget` module); `None`: never.
    pub outlier_gap: Option<i64>,
    /// Greeks beyond gamma whose exposures (DEX, VEX, CEX) are computed.
    pub greeks: GreekSet,
}

impl Config {
    pub fn new(resolution: i64) -> Config {
        Config {
            resolution,
            unit: Unit::UsdPer1Pct,
            start: None,
            end: None,
            multipliers: Vec::new(),
            missing_vol: MissingVol::Error,
            missing_spot: MissingSpot::Error,
            rate: 0.0,
            keep: Retention::ALL,
            grid_limit: None,
            outlier_gap: Some(crate::limits::DEFAULT_OUTLIER_GAP),
            greeks: GreekSet::default(),
        }
    }

    /// The grid limit in force: the user's, else the default for what is kept.
    pub fn grid_cells(&self) -> u64 {
        self.grid_limit.unwrap_or(match self.keep.inventory {
            crate::output::Keep::All => crate::limits::DEFAULT_GRID_CELLS_KEEP_ALL,
            crate::output::Keep::Last => crate::limits::DEFAULT_GRID_CELLS_KEEP_LAST,
        })
    }

    fn invalid(name: &str, expected: &str, found: String) -> CoreError {
        CoreError::InvalidOption {
            name: name.into(),
            expected: expected.into(),
            found,
        }
    }

    /// Checks the options and snaps `start`/`end` to the grid.
    pub fn validated(mut self) -> Result<Config> {
        if self.resolution <= 0 {
            return Err(Self::invalid(
                "resolution",
                "a positive duration",
                format!("{} ns", self.resolution),
            ));
        }
        if !self.rate.is_finite() {
            return Err(Self::invalid("r", "a finite rate", self.rate.to_string()));
        }
        if let MissingVol::Fill(v) = self.missing_vol {
            if !crate::limits::iv_ok(v) {
                return Err(Self::invalid(
                    "missing_vol",
                    "\"error\", \"skip\" or a number in [1e-4, 1e3]",
                    v.to_string(),
                ));
            }
        }
        for (k, m) in &self.multipliers {
            if !(*m > 0.0 && *m <= crate::limits::MAX_MULTIPLIER) {
                return Err(Self::invalid(
                    "multipliers",
                    "values in (0, 1e12]",
                    format!("{k}: {m}"),
                ));
            }
        }
        if self.outlier_gap.is_some_and(|g| g <= 0) {
            return Err(Self::invalid(
                "outlier_gap",
                "a positive duration or None",
                format!("{:?} ns", self.outlier_gap),
            ));
        }
        if self.grid_limit == Some(0) {
            return Err(Self::invalid(
                "grid_limit",
                "a positive number of cells",
                "0".into(),
            ));
        }
        let ts_max = crate::limits::ts_limit(self.resolution);
        for (name, t) in [("start", self.start), ("end", self.end)] {
            if t.is_some_and(|t| t >= ts_max) {
                return Err(Self::invalid(
                    name,
                    "a time the grid can label (before 2262-04-11)",
                    format!("{} ns", t.unwrap_or_default()),
                ));
            }
        }
        self.start = self.start.map(|s| ceil_to_grid(s, self.resolution));
        self.end = self.end.map(|e| floor_to_grid(e, self.resolution));
        if let (Some(s), Some(e)) = (self.start, self.end) {
            if s > e {
                return Err(Self::invalid(
                    "start/end",
                    "start <= end (after snapping to the grid)",
                    format!(
                        "start={} end={}",
                        crate::error::fmt_time(s),
                        crate::error::fmt_time(e)
                    ),
                ));
            }
        }
        Ok(self)
    }

    pub(crate) fn eval(&self) -> EvalConfig {
        EvalConfig {
            unit: self.unit,
            rate: self.rate,
            missing_vol: self.missing_vol,
            missing_spot: self.missing_spot,
            greeks: self.greeks,
        }
    }
}
