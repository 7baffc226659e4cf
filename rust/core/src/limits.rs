//! Bounds on input values and on the grid (DESIGN section 5, amended).
//!
//! Every accepted value lies in a range where no intermediate of the GEX can
//! overflow: with T ≥ 1 ns (a step before expiry), Γ·S² = φ(d₁)·S/(σ√T) is at
//! most 0.4·10¹²/(10⁻⁴·5.6·10⁻⁹) ≈ 7·10²³ per contract and unit multiplier, so
//! a GEX summed over 10⁹ rows of 10¹² contracts with a multiplier of 10¹² stays
//! below 10⁷⁰ — far from f64's 1.8·10³⁰⁸. Real markets sit many orders of
//! magnitude inside these ranges; values outside them are bad rows, counted
//! under the usual reasons, never infinities in a result.
//!
//! The grid is bounded too: a run whose grid steps × live options would exceed
//! a limit stops before allocating, with an error naming the cause.

/// Largest accepted trade amount (contracts).
pub const MAX_AMOUNT: f64 = 1e12;
/// Largest |seeded inventory| (contracts): a thousand times the largest trade,
/// still far inside the bound the GEX arithmetic below allows (10²¹).
pub const MAX_SEED: f64 = 1e15;
/// Accepted prices (index, underlying, spot): [MIN_PRICE, MAX_PRICE].
pub const MIN_PRICE: f64 = 1e-12;
pub const MAX_PRICE: f64 = 1e12;
/// Accepted implied volatilities (decimal): [MIN_IV, MAX_IV].
pub const MIN_IV: f64 = 1e-4;
pub const MAX_IV: f64 = 1e3;
/// Largest accepted open interest (contracts) and |venue gamma|.
pub const MAX_OPEN_INTEREST: f64 = 1e12;
pub const MAX_ABS_GAMMA: f64 = 1e12;
/// Largest accepted contract multiplier.
pub const MAX_MULTIPLIER: f64 = 1e12;

/// Default grid limit (steps × live options) when inventory rows are kept for
/// every step: about 100 million rows ≈ 6 GB of inventory table (a year of
/// BTC and ETH at 10 minutes is about 80 million).
pub const DEFAULT_GRID_CELLS_KEEP_ALL: u64 = 100_000_000;
/// Default grid limit when only the last step's rows are kept: the bound is on
/// work (one gamma per cell, ≈ 10–20 ns), about a minute on one core.
pub const DEFAULT_GRID_CELLS_KEEP_LAST: u64 = 4_000_000_000;

/// Default `outlier_gap`: 30 days.
pub const DEFAULT_OUTLIER_GAP: i64 = 30 * 86_400 * 1_000_000_000;

#[inline(always)]
pub fn amount_ok(x: f64) -> bool {
    (x > 0.0) & (x <= MAX_AMOUNT)
}

#[inline(always)]
pub fn price_ok(x: f64) -> bool {
    (MIN_PRICE..=MAX_PRICE).contains(&x)
}

#[inline(always)]
pub fn iv_ok(x: f64) -> bool {
    (MIN_IV..=MAX_IV).contains(&x)
}

#[inline(always)]
pub fn open_interest_ok(x: f64) -> bool {
    (0.0..=MAX_OPEN_INTEREST).contains(&x)
}

#[inline(always)]
pub fn gamma_ok(x: f64) -> bool {
    x.abs() <= MAX_ABS_GAMMA
}

/// The first timestamp refused at resolution `res`: the bucket label
/// (⌊τ/Δ⌋+1)·Δ of any earlier time, and one more step after it, fit in i64.
#[inline]
pub fn ts_limit(res: i64) -> i64 {
    (i64::MAX / res - 2) * res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::bucket_label;

    #[test]
    fn labels_below_the_limit_never_overflow() {
        for res in [
            1,
            7,
            1_000,
            600_000_000_000,
            86_400_000_000_000,
            i64::MAX / 5,
        ] {
            let last = ts_limit(res) - 1;
            let label = bucket_label(last, res);
            assert!(label.checked_add(res).is_some(), "res {res}");
            assert!(label > last);
        }
    }

    #[test]
    fn the_worst_accepted_gex_is_finite() {
        let t_min = 1.0 / (365.0 * 86_400.0 * 1e9);
        let gamma_s2 = 0.4 * MAX_PRICE / (MIN_IV * f64::sqrt(t_min));
        let worst = gamma_s2 * MAX_AMOUNT * 1e9 * MAX_MULTIPLIER * 0.01;
        assert!(worst.is_finite() && worst < 1e80);
        let gamma = 0.4 / (MIN_PRICE * MIN_IV * f64::sqrt(t_min));
        assert!(gamma.is_finite() && gamma < 1e30);
    }
}
