//! Fast GEX(x) for profiles: everything that does not depend on x is hoisted.
//!
//! Moving every underlying by f = x/S changes only ln(S_i f / K_i) = ln(S_i/K_i) + ln f,
//! so with A_i = ln(S_i/K_i) + σ_i²T_i/2 and B_i = 1/(σ_i√T_i):
//!
//!   d₁ = (A_i + ln f)·B_i,  GEX_i(x) = C_i · e^{−d₁²/2} · u(f),
//!
//! where C_i folds e^{−rT}, the weight (inventory × multiplier), 1/√(2π), B_i and
//! the unit's power of S_i, and u(f) is f (USD per 1%), 1 (USD per point) or 1/f
//! (underlying units). Each (option, x) term is then one multiply-add, one
//! square and one `exp`: no log, square root or division, four options per
//! AVX2 step. Options with degenerate inputs (gamma 0 by rule 8) are left out.
//! Sums run in a fixed lane order, so results do not depend on threads.

use crate::book::Book;
use crate::exposure::Unit;
use crate::fastmath::{exp, madd};
use crate::greeks::INV_SQRT_2PI;

/// A book prepared for many evaluations of GEX(x).
#[derive(Clone, Debug)]
pub struct Sweep {
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    spot: f64,
    unit: Unit,
}

impl Sweep {
    pub fn new(book: &Book) -> Sweep {
        let mut sw = Sweep {
            a: Vec::new(),
            b: Vec::new(),
            c: Vec::new(),
            spot: book.spot,
            unit: book.unit,
        };
        for i in 0..book.s.len() {
            let (s, k, t, v, w) = (
                book.s[i],
                book.k[i],
                book.tau[i],
                book.sigma[i],
                book.weight[i],
            );
            let ok = s > 0.0
                && k > 0.0
                && t > 0.0
                && v > 0.0
                && [s, k, t, v, w].iter().all(|x| x.is_finite());
            if !ok || w == 0.0 {
                continue;
            }
            let vst = v * t.sqrt();
            let b = 1.0 / vst;
            let scale = match book.unit {
                Unit::UsdPer1Pct => s * 0.01,
                Unit::UsdPerPoint => 1.0,
                Unit::Underlying => 1.0 / s,
            };
            let c = (-book.rate * t).exp() * w * INV_SQRT_2PI * b * scale;
            if !(b.is_finite() && c.is_finite()) {
                continue;
            }
            sw.a.push((s / k).ln() + 0.5 * v * v * t);
            sw.b.push(b);
            sw.c.push(c);
        }
        // Pad to whole AVX2 lanes with terms that contribute exactly 0.
        while !sw.a.len().is_multiple_of(4) {
            sw.a.push(0.0);
            sw.b.push(0.0);
            sw.c.push(0.0);
        }
        sw
    }

    /// GEX(x), the same quantity as [`Book::gex_at`].
    pub fn gex_at(&self, x: f64) -> f64 {
        if !(x > 0.0 && x.is_finite()) || self.spot.is_nan() || self.spot <= 0.0 {
            return 0.0;
        }
        let f = x / self.spot;
        let l = f.ln();
        let sum = self.sum(l);
        match self.unit {
            Unit::UsdPer1Pct => sum * f,
            Unit::UsdPerPoint => sum,
            Unit::Underlying => sum / f,
        }
    }

    fn sum(&self, l: f64) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2 and FMA are present (checked just above).
            return unsafe { avx2::sum(&self.a, &self.b, &self.c, l) };
        }
        // Four running sums, combined as (s0 + s1) + (s2 + s3), like the AVX2 lanes.
        let mut acc = [0.0f64; 4];
        for i in (0..self.a.len()).step_by(4) {
            for (j, s) in acc.iter_mut().enumerate() {
                let d = (self.a[i + j] + l) * self.b[i + j];
                *s = madd::<false>(self.c[i + j], exp::<false>(-0.5 * d * d), *s);
            }
        }
        (acc[0] + acc[1]) + (acc[2] + acc[3])
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Σ c_i e^{−((a_i + l) b_i)²/2} over lanes of four (slices are padded to a multiple of 4).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn sum(a: &[f64], b: &[f64], c: &[f64], l: f64) -> f64 {
        let lv = _mm256_set1_pd(l);
        let half = _mm256_set1_pd(-0.5);
        let mut acc = _mm256_setzero_pd();
        let mut i = 0;
        while i + 4 <= a.len() {
            // SAFETY: i + 4 <= len of each slice (equal lengths).
            let (av, bv, cv) = unsafe {
                (
                    _mm256_loadu_pd(a.as_ptr().add(i)),
                    _mm256_loadu_pd(b.as_ptr().add(i)),
                    _mm256_loadu_pd(c.as_ptr().add(i)),
                )
            };
            let d = _mm256_mul_pd(_mm256_add_pd(av, lv), bv);
            let e = crate::greeks::gamma_avx2::exp4(_mm256_mul_pd(_mm256_mul_pd(half, d), d));
            acc = _mm256_fmadd_pd(cv, e, acc);
            i += 4;
        }
        let mut lanes = [0.0f64; 4];
        // SAFETY: four f64 lanes.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), acc) };
        (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_direct_formula_in_every_unit() {
        let s = [100.0, 101.0, 99.0, 100.0, 0.0, 100.0];
        let k = [110.0, 90.0, 100.0, 80.0, 100.0, 120.0];
        let tau = [0.1, 0.05, 0.5, 1.0, 0.1, 0.0];
        let sig = [0.5, 0.8, 0.3, 0.9, 0.5, 0.5];
        let w = [1.0, -2.0, 3.5, -0.25, 9.0, 9.0];
        for unit in [Unit::UsdPer1Pct, Unit::UsdPerPoint, Unit::Underlying] {
            for rate in [0.0, 0.03] {
                let book = Book {
                    s: &s,
                    k: &k,
                    tau: &tau,
                    sigma: &sig,
                    weight: &w,
                    spot: 100.0,
                    rate,
                    unit,
                };
                let sw = Sweep::new(&book);
                for x in [60.0, 85.0, 100.0, 113.3, 150.0] {
                    let (fast, slow) = (sw.gex_at(x), book.gex_at(x));
                    let scale: f64 = (0..6)
                        .map(|i| {
                            let one = Book {
                                s: &s[i..=i],
                                k: &k[i..=i],
                                tau: &tau[i..=i],
                                sigma: &sig[i..=i],
                                weight: &w[i..=i],
                                ..book
                            };
                            one.gex_at(x).abs()
                        })
                        .sum();
                    assert!(
                        (fast - slow).abs() <= 1e-12 * scale,
                        "{unit:?} r={rate} x={x}: {fast} vs {slow}"
                    );
                }
            }
        }
        assert_eq!(
            Sweep::new(&Book {
                s: &s,
                k: &k,
                tau: &tau,
                sigma: &sig,
                weight: &w,
                spot: 100.0,
                rate: 0.0,
                unit: Unit::UsdPer1Pct
            })
            .gex_at(-1.0),
            0.0
        );
    }
}
