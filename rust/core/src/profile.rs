//! GEX as a function of a hypothetical spot, and the gamma flip (DESIGN rule 12).
//!
//! For a hypothetical spot x, every instrument's underlying moves by the same
//! factor (S_i → S_i·x/S) with σ, T and inventory held; GEX(x) is the sum of
//! rule 10 at those prices. Crossings are sign changes between grid points,
//! located by one linear-interpolation (false position) step and then bisection
//! on the exact function; the flip is the crossing nearest to S.

use rayon::prelude::*;

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

    /// GEX at every grid point, in parallel over points.
    pub fn profile(&self, xs: &[f64]) -> Vec<f64> {
        xs.par_iter()
            .with_min_len(8)
            .map(|&x| self.gex_at(x))
            .collect()
    }
}

/// All zero crossings of the profile `(xs, ys)`, refined on `f`, in grid order.
pub fn crossings(xs: &[f64], ys: &[f64], f: impl Fn(f64) -> f64) -> Vec<f64> {
    let mut roots = Vec::new();
    for j in 0..xs.len().saturating_sub(1) {
        let (ya, yb) = (ys[j], ys[j + 1]);
        if ya == 0.0 && j > 0 && ys[j - 1] * yb < 0.0 {
            roots.push(xs[j]);
        } else if ya * yb < 0.0 {
            roots.push(refine(xs[j], ya, xs[j + 1], yb, &f));
        }
    }
    roots
}

/// False position once, then bisection to a relative width of 1e-12.
pub fn refine(mut a: f64, mut fa: f64, mut b: f64, fb: f64, f: &impl Fn(f64) -> f64) -> f64 {
    let x0 = a - fa * (b - a) / (fb - fa);
    if x0 > a && x0 < b {
        let f0 = f(x0);
        if f0 == 0.0 {
            return x0;
        }
        if (f0 < 0.0) == (fa < 0.0) {
            a = x0;
            fa = f0;
        } else {
            b = x0;
        }
    }
    for _ in 0..200 {
        if b - a <= 1e-12 * a.abs().max(b.abs()) {
            break;
        }
        let m = a + (b - a) / 2.0;
        let fm = f(m);
        if fm == 0.0 {
            return m;
        }
        if (fm < 0.0) == (fa < 0.0) {
            a = m;
            fa = fm;
        } else {
            b = m;
        }
    }
    a + (b - a) / 2.0
}

/// The crossing nearest to `spot` (the lower one on a tie).
pub fn nearest(roots: &[f64], spot: f64) -> Option<f64> {
    roots.iter().copied().min_by(|a, b| {
        (a - spot)
            .abs()
            .total_cmp(&(b - spot).abs())
            .then(a.total_cmp(b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_call_and_a_short_put_cross_between_strikes() {
        // Dealers long the 110 call, short the 90 put: GEX < 0 low, > 0 high.
        let book = Book {
            s: &[100.0, 100.0],
            k: &[110.0, 90.0],
            tau: &[0.1, 0.1],
            sigma: &[0.5, 0.5],
            weight: &[1.0, -1.0],
            spot: 100.0,
            rate: 0.0,
            unit: Unit::UsdPer1Pct,
        };
        let xs: Vec<f64> = (0..401).map(|i| 80.0 + 0.1 * i as f64).collect();
        let ys = book.profile(&xs);
        let roots = crossings(&xs, &ys, |x| book.gex_at(x));
        assert_eq!(roots.len(), 1);
        let r = roots[0];
        assert!(
            book.gex_at(r).abs() < 1e-9 * book.gex_at(120.0).abs(),
            "{r}"
        );
        assert!(r > 90.0 && r < 110.0);
        assert_eq!(nearest(&roots, 100.0), Some(r));
        assert_eq!(nearest(&[], 100.0), None);
    }

    #[test]
    fn exact_zero_on_the_grid_is_a_root() {
        let xs = [1.0, 2.0, 3.0];
        let ys = [-1.0, 0.0, 1.0];
        assert_eq!(crossings(&xs, &ys, |x| x - 2.0), vec![2.0]);
        assert!(crossings(&xs, &[0.0, 0.0, 0.0], |_| 0.0).is_empty());
    }
}
