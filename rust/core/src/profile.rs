//! GEX as a function of a hypothetical spot, and the gamma flip (DESIGN rule 12).
//!
//! For a hypothetical spot x, every instrument's underlying moves by the same
//! factor (S_i → S_i·x/S) with σ, T and inventory held; GEX(x) is the sum of
//! rule 10 at those prices. Crossings are sign changes between grid points,
//! located by one linear-interpolation (false position) step and then bisection
//! on the exact function; the flip is the crossing nearest to S.

use rayon::prelude::*;

pub use crate::book::Book;
use crate::exposure::Unit;
use crate::sweep::Sweep;

impl<'a> Book<'a> {
    /// GEX at every grid point, in parallel over points.
    pub fn profile(&self, xs: &[f64]) -> Vec<f64> {
        self.profile_and_crossings(xs).0
    }

    /// The profile on `xs` and its refined crossings, all through one [`Sweep`]
    /// (hoisted per-option constants, vectorised `exp`), in parallel over points.
    pub fn profile_and_crossings(&self, xs: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let sweep = Sweep::new(self);
        let ys: Vec<f64> = xs
            .par_iter()
            .with_min_len(8)
            .map(|&x| sweep.gex_at(x))
            .collect();
        let roots = crossings(xs, &ys, |x| sweep.gex_at(x));
        (ys, roots)
    }
}

/// Levels of one step of a series: the flip nearest to spot and how many crossings.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepFlip {
    pub flip: Option<f64>,
    pub crossings: u32,
    /// GEX(x) at x = spot (equals the step's total GEX in the book's unit).
    pub gex_at_spot: f64,
}

/// Flips for many steps at once. Rows of step `j` are `offsets[j]..offsets[j+1]`;
/// the grid of step `j` is `spot[j] * rel[i]`. Parallel over steps, each step
/// evaluated sequentially, so results do not depend on the thread count.
#[allow(clippy::too_many_arguments)]
pub fn flip_series(
    offsets: &[usize],
    s: &[f64],
    k: &[f64],
    tau: &[f64],
    sigma: &[f64],
    weight: &[f64],
    spot: &[f64],
    rel: &[f64],
    rate: f64,
    unit: Unit,
) -> Vec<StepFlip> {
    (0..spot.len())
        .into_par_iter()
        .map(|j| {
            let (lo, hi) = (offsets[j], offsets[j + 1]);
            let book = Book {
                s: &s[lo..hi],
                k: &k[lo..hi],
                tau: &tau[lo..hi],
                sigma: &sigma[lo..hi],
                weight: &weight[lo..hi],
                spot: spot[j],
                rate,
                unit,
            };
            let xs: Vec<f64> = rel.iter().map(|r| r * spot[j]).collect();
            let sweep = Sweep::new(&book);
            let ys: Vec<f64> = xs.iter().map(|&x| sweep.gex_at(x)).collect();
            let roots = crossings(&xs, &ys, |x| sweep.gex_at(x));
            StepFlip {
                flip: nearest(&roots, spot[j]),
                crossings: roots.len() as u32,
                gex_at_spot: sweep.gex_at(spot[j]),
            }
        })
        .collect()
}

/// All zero crossings of the profile `(xs, ys)`, refined on `f`, in grid order.
///
/// A sign change between neighbours is refined on the exact function. A run of
/// exact zeros between values of opposite sign is one crossing, at the middle
/// of the run (a single zero: that grid point). Zeros at either end of the grid
/// show no sign change and give none.
pub fn crossings(xs: &[f64], ys: &[f64], f: impl Fn(f64) -> f64) -> Vec<f64> {
    let n = xs.len().min(ys.len());
    let mut roots = Vec::new();
    let mut prev: Option<usize> = None; // last non-zero point
    let mut j = 0;
    while j < n {
        if ys[j] == 0.0 {
            let start = j;
            while j < n && ys[j] == 0.0 {
                j += 1;
            }
            if let Some(p) = prev {
                if j < n && (ys[p] < 0.0) != (ys[j] < 0.0) {
                    roots.push(xs[start] + (xs[j - 1] - xs[start]) / 2.0);
                }
            }
            continue;
        }
        if let Some(p) = prev {
            if p + 1 == j && (ys[p] < 0.0) != (ys[j] < 0.0) {
                roots.push(refine(xs[p], ys[p], xs[j], ys[j], &f));
            }
        }
        prev = Some(j);
        j += 1;
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
    fn series_matches_one_book_at_a_time() {
        let s = [100.0, 100.0, 50.0];
        let k = [110.0, 90.0, 50.0];
        let tau = [0.1, 0.1, 0.2];
        let sig = [0.5, 0.5, 0.4];
        let w = [1.0, -1.0, 2.0];
        let rel: Vec<f64> = (0..401).map(|i| 0.8 + 0.001 * i as f64).collect();
        let out = flip_series(
            &[0, 2, 3],
            &s,
            &k,
            &tau,
            &sig,
            &w,
            &[100.0, 50.0],
            &rel,
            0.0,
            Unit::UsdPer1Pct,
        );
        let book = Book {
            s: &s[..2],
            k: &k[..2],
            tau: &tau[..2],
            sigma: &sig[..2],
            weight: &w[..2],
            spot: 100.0,
            rate: 0.0,
            unit: Unit::UsdPer1Pct,
        };
        let xs: Vec<f64> = rel.iter().map(|r| r * 100.0).collect();
        let roots = crossings(&xs, &book.profile(&xs), |x| book.gex_at(x));
        assert_eq!(out[0].flip, nearest(&roots, 100.0));
        assert_eq!(out[0].crossings, 1);
        assert_eq!(out[1].flip, None, "a lone long option never crosses zero");
        assert!(out[1].gex_at_spot > 0.0);
    }

    #[test]
    fn exact_zero_on_the_grid_is_a_root() {
        let xs = [1.0, 2.0, 3.0];
        let ys = [-1.0, 0.0, 1.0];
        assert_eq!(crossings(&xs, &ys, |x| x - 2.0), vec![2.0]);
        assert!(crossings(&xs, &[0.0, 0.0, 0.0], |_| 0.0).is_empty());
        // A plateau of zeros between opposite signs is one crossing at its middle;
        // zeros at the ends (or between equal signs) are none.
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            crossings(&xs, &[-1.0, 0.0, 0.0, 0.0, 1.0, 2.0], |_| 1.0),
            vec![3.0]
        );
        assert_eq!(
            crossings(&xs, &[-1.0, 0.0, 0.0, 1.0, 2.0, 3.0], |_| 1.0),
            vec![2.5]
        );
        assert!(crossings(&xs, &[0.0, 1.0, 2.0, 3.0, 4.0, 0.0], |_| 1.0).is_empty());
        assert!(crossings(&xs, &[1.0, 0.0, 0.0, 2.0, 3.0, 4.0], |_| 1.0).is_empty());
    }
}
