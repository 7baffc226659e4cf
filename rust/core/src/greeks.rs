//! Black-76 gamma (DESIGN rule 8).
//!
//! d₁ = (ln(S/K) + σ²T/2)/(σ√T), Γ = e^{−rT} φ(d₁)/(S σ √T), identical for calls
//! and puts. With S the forward (Deribit's `underlying_price`) and r = 0 this is
//! the gamma Deribit publishes. Degenerate inputs (T ≤ 0, σ ≤ 0, S ≤ 0, K ≤ 0,
//! non-finite values, or σ√T underflowing) give 0.0: a result is never NaN, inf
//! or negative.

use rayon::prelude::*;

/// 1/√(2π).
pub const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Black-76 gamma of one option; see the module docs for the degenerate cases.
#[inline]
pub fn black76_gamma(s: f64, k: f64, t: f64, sigma: f64, r: f64) -> f64 {
    let valid = s > 0.0 && k > 0.0 && t > 0.0 && sigma > 0.0;
    if !(valid
        && s.is_finite()
        && k.is_finite()
        && t.is_finite()
        && sigma.is_finite()
        && r.is_finite())
    {
        return 0.0;
    }
    let vol_sqrt_t = sigma * t.sqrt();
    let d1 = ((s / k).ln() + 0.5 * sigma * sigma * t) / vol_sqrt_t;
    let pdf = (-0.5 * d1 * d1).exp() * INV_SQRT_2PI;
    let g = (-r * t).exp() * pdf / (s * vol_sqrt_t);
    if g.is_finite() && g > 0.0 {
        g
    } else {
        0.0
    }
}

/// Rows per rayon task: large enough to amortise scheduling, small enough for L2.
pub const CHUNK: usize = 16 * 1024;

/// `out[i] = black76_gamma(s[i], k[i], t[i], sigma[i], r)`, in parallel on the
/// current rayon pool. Each element is computed independently, so the result
/// does not depend on the number of threads.
pub fn gamma_into(out: &mut [f64], s: &[f64], k: &[f64], t: &[f64], sigma: &[f64], r: f64) {
    let n = out.len();
    assert!(
        s.len() == n && k.len() == n && t.len() == n && sigma.len() == n,
        "gamma_into: length mismatch"
    );
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, block)| {
            let lo = c * CHUNK;
            for (j, g) in block.iter_mut().enumerate() {
                let i = lo + j;
                *g = black76_gamma(s[i], k[i], t[i], sigma[i], r);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hull_example_17_1() {
        // Hull OFOD Ex. 17.1: S=49, K=50, r=5%, T=0.3846, σ=20%; spot gamma 0.0655.
        // Black-Scholes spot gamma = e^{2rT} × Black-76 gamma on F = S e^{rT}.
        let (s, k, r, t, v): (f64, f64, f64, f64, f64) = (49.0, 50.0, 0.05, 0.3846, 0.2);
        let f = s * (r * t).exp();
        let spot_gamma = (2.0 * r * t).exp() * black76_gamma(f, k, t, v, r);
        assert!(
            (spot_gamma - 0.065_545_377_252_5).abs() < 1e-12,
            "{spot_gamma}"
        );
    }

    #[test]
    fn degenerate_inputs_give_zero_never_nan() {
        for (s, k, t, v) in [
            (0.0, 1.0, 1.0, 0.5),
            (1.0, 0.0, 1.0, 0.5),
            (1.0, 1.0, 0.0, 0.5),
            (1.0, 1.0, 1.0, 0.0),
            (-1.0, 1.0, 1.0, 0.5),
            (f64::NAN, 1.0, 1.0, 0.5),
            (f64::INFINITY, 1.0, 1.0, 0.5),
            (1.0, 1.0, 1e-300, 1e-300),
            (1e-300, 1e300, 1.0, 1e-3),
        ] {
            let g = black76_gamma(s, k, t, v, 0.0);
            assert!(g == 0.0, "({s},{k},{t},{v}) -> {g}");
        }
    }

    #[test]
    fn slice_kernel_matches_scalar() {
        let n = 40_000;
        let s: Vec<f64> = (0..n).map(|i| 50.0 + (i % 97) as f64).collect();
        let k: Vec<f64> = (0..n).map(|i| 60.0 + (i % 31) as f64).collect();
        let t: Vec<f64> = (0..n).map(|i| 0.01 + (i % 13) as f64 * 0.1).collect();
        let v: Vec<f64> = (0..n).map(|i| 0.1 + (i % 7) as f64 * 0.2).collect();
        let mut out = vec![0.0; n];
        gamma_into(&mut out, &s, &k, &t, &v, 0.01);
        for i in 0..n {
            assert_eq!(
                out[i].to_bits(),
                black76_gamma(s[i], k[i], t[i], v[i], 0.01).to_bits()
            );
        }
    }
}
