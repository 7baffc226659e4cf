//! The time grid (DESIGN rule 1): grid times are multiples of the resolution Δ
//! since the Unix epoch, and a trade at τ falls in the bucket [t−Δ, t) labelled
//! by its right edge t = (⌊τ/Δ⌋+1)·Δ. The state reported at t therefore holds
//! every event with τ < t, which is also the "strictly before t" of the as-of
//! rules for spot and volatility.

/// Nanoseconds in a year of 365 days (DESIGN rule 7); exactly representable in f64.
pub const YEAR_NS: f64 = 365.0 * 86_400.0 * 1e9;

/// The label (right edge) of the bucket holding `ts`. Floor division, so times
/// before 1970 bucket the same way.
#[inline]
pub fn bucket_label(ts: i64, resolution: i64) -> i64 {
    (ts.div_euclid(resolution) + 1) * resolution
}

/// The first grid time ≥ `t`.
#[inline]
pub fn ceil_to_grid(t: i64, resolution: i64) -> i64 {
    let r = t.rem_euclid(resolution);
    if r == 0 {
        t
    } else {
        t - r + resolution
    }
}

/// The last grid time ≤ `t`.
#[inline]
pub fn floor_to_grid(t: i64, resolution: i64) -> i64 {
    t - t.rem_euclid(resolution)
}

/// Time to expiry in years of 365 days; negative once expired.
#[inline]
pub fn year_fraction(expiry_ns: i64, t: i64) -> f64 {
    // The difference in i64 when it fits (always, for real times): converting
    // an i64 or the same value as i128 to f64 rounds identically, and i128 to
    // f64 is a libcall (`__floattidf`) that cost ~3% of a replay.
    match expiry_ns.checked_sub(t) {
        Some(d) => d as f64 / YEAR_NS,
        None => (expiry_ns as i128 - t as i128) as f64 / YEAR_NS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const TEN_MIN: i64 = 600_000_000_000;

    #[test]
    fn bucket_edges_belong_to_the_next_bucket() {
        assert_eq!(bucket_label(0, TEN_MIN), TEN_MIN);
        assert_eq!(bucket_label(TEN_MIN - 1, TEN_MIN), TEN_MIN);
        assert_eq!(bucket_label(TEN_MIN, TEN_MIN), 2 * TEN_MIN);
        assert_eq!(bucket_label(-1, TEN_MIN), 0);
        assert_eq!(bucket_label(-TEN_MIN, TEN_MIN), 0);
    }

    #[test]
    fn rounding_to_the_grid() {
        assert_eq!(ceil_to_grid(1, TEN_MIN), TEN_MIN);
        assert_eq!(ceil_to_grid(TEN_MIN, TEN_MIN), TEN_MIN);
        assert_eq!(floor_to_grid(TEN_MIN + 5, TEN_MIN), TEN_MIN);
        assert_eq!(floor_to_grid(-5, TEN_MIN), -TEN_MIN);
        assert_eq!(year_fraction(YEAR_NS as i64, 0), 1.0);
    }
}
