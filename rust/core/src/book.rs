//! The live book of one asset at one time: each option's underlying, strike,
//! time to expiry, vol and weight, and GEX(x) for a hypothetical spot x
//! (DESIGN rule 12). The profile and flip search over it are in `profile`, the
//! vectorised evaluation in `sweep`; both build on this module.

use crate::exposure::{gex, Unit};
use crate::greeks::black76_gamma;

/// The live book of one asset at one time.
#[derive(Clone, Copy, Debug)]
pub struct Book<'a> {
    /// Each instrument's underlying price S_i (forward or spot).
    pub s: &'a [f64],
    pub k: &'a [f64],
    pub tau: &'a [f64],
    pub sigma: &'a [f64],
    /// Inventory × multiplier (underlying units).
    pub weight: &'a [f64],
    /// The asset's spot S that the grid is centred on.
    pub spot: f64,
    pub rate: f64,
    pub unit: Unit,
}

impl<'a> Book<'a> {
    /// GEX(x): a sequential sum in the book's order (deterministic).
    pub fn gex_at(&self, x: f64) -> f64 {
        if self.spot.is_nan() || self.spot <= 0.0 {
            return 0.0;
        }
        let f = x / self.spot;
        let mut sum = 0.0;
        for i in 0..self.s.len() {
            let si = self.s[i] * f;
            let g = black76_gamma(si, self.k[i], self.tau[i], self.sigma[i], self.rate);
            sum += gex(g, self.weight[i], 1.0, si, self.unit);
        }
        sum
    }
}
