//! GEX units and contract multipliers (DESIGN rules 9–10).
//!
//! GEX(i,t) = Γ · I · m · S² · 0.01 in USD per 1% move (default),
//! Γ·I·m·S in USD per point, or Γ·I·m in underlying units.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// USD per 1% move of the underlying: Γ·I·m·S²·0.01.
    UsdPer1Pct,
    /// USD per one-point move: Γ·I·m·S.
    UsdPerPoint,
    /// Underlying units per one-point move: Γ·I·m.
    Underlying,
}

impl Unit {
    pub const NAMES: [&'static str; 3] = ["usd_per_1pct", "usd_per_point", "underlying"];

    pub fn parse(s: &str) -> Result<Unit> {
        match s {
            "usd_per_1pct" => Ok(Unit::UsdPer1Pct),
            "usd_per_point" => Ok(Unit::UsdPerPoint),
            "underlying" => Ok(Unit::Underlying),
            other => Err(CoreError::InvalidOption {
                name: "unit".into(),
                expected: format!("one of {:?}", Unit::NAMES),
                found: format!("{other:?}"),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Unit::UsdPer1Pct => "usd_per_1pct",
            Unit::UsdPerPoint => "usd_per_point",
            Unit::Underlying => "underlying",
        }
    }
}

/// GEX of one position: `gamma` per underlying unit, `inventory` in contracts,
/// `multiplier` underlying units per contract, `s` the underlying price.
#[inline]
pub fn gex(gamma: f64, inventory: f64, multiplier: f64, s: f64, unit: Unit) -> f64 {
    let per_unit = gamma * inventory * multiplier;
    match unit {
        Unit::UsdPer1Pct => per_unit * s * s * 0.01,
        Unit::UsdPerPoint => per_unit * s,
        Unit::Underlying => per_unit,
    }
}

/// Deribit contract multipliers (underlying units per contract). PAXG and any
/// other asset must come from the data or the user.
pub fn builtin_multiplier(asset: &str) -> Option<f64> {
    match asset {
        "BTC" | "ETH" => Some(1.0),
        "SOL" => Some(10.0),
        "XRP" => Some(1000.0),
        _ => None,
    }
}

/// Multiplier for an instrument: the user's `ASSET_QUOTE` entry, then the
/// user's `ASSET` entry, then the built-in table.
pub fn resolve_multiplier(
    overrides: &[(String, f64)],
    asset: &str,
    quote: Option<&str>,
) -> Option<f64> {
    let lookup = |key: &str| {
        overrides
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    };
    quote
        .and_then(|q| lookup(&format!("{asset}_{q}")))
        .or_else(|| lookup(asset))
        .or_else(|| builtin_multiplier(asset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale_as_defined() {
        assert_eq!(
            gex(0.001, 10.0, 1.0, 100.0, Unit::UsdPer1Pct),
            0.001 * 10.0 * 100.0 * 100.0 * 0.01
        );
        assert_eq!(
            gex(0.001, 10.0, 2.0, 100.0, Unit::UsdPerPoint),
            0.001 * 10.0 * 2.0 * 100.0
        );
        assert_eq!(
            gex(0.001, 10.0, 2.0, 100.0, Unit::Underlying),
            0.001 * 10.0 * 2.0
        );
        assert!(Unit::parse("usd")
            .unwrap_err()
            .to_string()
            .contains("usd_per_1pct"));
    }

    #[test]
    fn multipliers_prefer_user_values() {
        let user = vec![("paxg".to_string(), 1.0), ("BTC_USDC".to_string(), 0.01)];
        assert_eq!(resolve_multiplier(&user, "SOL", Some("USDC")), Some(10.0));
        assert_eq!(resolve_multiplier(&user, "XRP", Some("USDC")), Some(1000.0));
        assert_eq!(resolve_multiplier(&user, "PAXG", Some("USDC")), Some(1.0));
        assert_eq!(resolve_multiplier(&user, "BTC", Some("USDC")), Some(0.01));
        assert_eq!(resolve_multiplier(&user, "BTC", None), Some(1.0));
        assert_eq!(resolve_multiplier(&[], "PAXG", None), None);
    }
}
