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

/// Which greeks besides gamma a run computes (DESIGN rules 15–16); gamma always is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreekSet {
    pub delta: bool,
    pub vanna: bool,
    pub charm: bool,
}

impl GreekSet {
    pub const NAMES: [&'static str; 4] = ["gamma", "delta", "vanna", "charm"];

    /// The set named by `names` (each one of [`GreekSet::NAMES`]; gamma is implied).
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<GreekSet> {
        let mut g = GreekSet::default();
        for n in names {
            match n.as_ref() {
                "gamma" => {}
                "delta" => g.delta = true,
                "vanna" => g.vanna = true,
                "charm" => g.charm = true,
                other => {
                    return Err(CoreError::InvalidOption {
                        name: "greeks".into(),
                        expected: format!("names among {:?}", GreekSet::NAMES),
                        found: format!("{other:?}"),
                    })
                }
            }
        }
        Ok(g)
    }

    /// Whether anything beyond gamma is asked for.
    pub fn any(self) -> bool {
        self.delta || self.vanna || self.charm
    }
}

/// Scale of DEX, VEX and CEX (rule 16): Δ·I·m·S, vanna·I·m·S·0.01, charm·I·m·S/365.
pub const DEX_SCALE: f64 = 1.0;
pub const VEX_SCALE: f64 = 0.01;
pub const CEX_SCALE: f64 = 1.0 / 365.0;

/// DEX, VEX or CEX of one position (`greek` the option's delta, vanna or charm,
/// `scale` its [`DEX_SCALE`]-style factor). Both USD units give the USD value of
/// rule 16 (these exposures have no "per 1%" or "per point" variant: the unit
/// names scale GEX); `Unit::Underlying` drops the factor S.
#[inline]
pub fn first_order_exposure(
    greek: f64,
    inventory: f64,
    multiplier: f64,
    s: f64,
    scale: f64,
    unit: Unit,
) -> f64 {
    let per_unit = greek * inventory * multiplier;
    match unit {
        Unit::Underlying => per_unit * scale,
        Unit::UsdPer1Pct | Unit::UsdPerPoint => per_unit * s * scale,
    }
}

/// Deribit contract multipliers (underlying units per contract): `ASSET_QUOTE`
/// keys for linear (USDC) options, `ASSET` keys for inverse options and
/// unquoted names. The same table as `flowgex.multipliers.BUILTIN_MULTIPLIERS`
/// (sources there; a Python test ties the two). Anything else must come from
/// the user; rows of an asset with none are `unknown_multiplier` bad rows.
pub const BUILTIN_MULTIPLIERS: [(&str, f64); 9] = [
    ("BTC", 1.0),
    ("ETH", 1.0),
    ("SOL", 10.0),
    ("XRP", 1000.0),
    ("SOL_USDC", 10.0),
    ("XRP_USDC", 1000.0),
    ("MATIC_USDC", 1000.0),
    ("AVAX_USDC", 100.0),
    ("TRX_USDC", 10000.0),
];

fn builtin(key: &str) -> Option<f64> {
    BUILTIN_MULTIPLIERS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, m)| *m)
}

/// The built-in multiplier of `asset` (and `quote`), without user overrides.
pub fn builtin_multiplier(asset: &str, quote: Option<&str>) -> Option<f64> {
    quote
        .and_then(|q| builtin(&format!("{asset}_{q}")))
        .or_else(|| builtin(asset))
}

/// Multiplier for an instrument: the user's `ASSET_QUOTE` entry, the user's
/// `ASSET` entry, the built-in `ASSET_QUOTE` entry, the built-in `ASSET` entry.
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
        .or_else(|| builtin_multiplier(asset, quote))
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
        assert_eq!(resolve_multiplier(&[], "AVAX", Some("USDC")), Some(100.0));
        assert_eq!(resolve_multiplier(&[], "AVAX", None), None);
        assert_eq!(
            resolve_multiplier(&[("AVAX".into(), 7.0)], "AVAX", Some("USDC")),
            Some(7.0)
        );
    }
}
