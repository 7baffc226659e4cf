//! Black-76 gamma (DESIGN rule 8): scalar formula, parallel driver, kernel choice.
//!
//! d₁ = (ln(S/K) + σ²T/2)/(σ√T), Γ = e^{−rT} φ(d₁)/(S σ √T), identical for calls
//! and puts. With S the forward (Deribit's `underlying_price`) and r = 0 this is
//! the gamma Deribit publishes. Degenerate inputs (T ≤ 0, σ ≤ 0, S ≤ 0, K ≤ 0,
//! non-finite values, or σ√T underflowing) give 0.0: a result is never NaN, inf
//! or negative.

use rayon::prelude::*;

use crate::fastmath::{exp, ln, madd};

pub use crate::fastmath::INV_SQRT_2PI;

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

/// One lane of the vectorised kernel: Black-76 gamma through the branch-free
/// `fastmath` exp/ln, or NaN when the inputs need the careful scalar path
/// (degenerate or extreme values), which [`gamma_into`] then takes.
// Range::contains short-circuits; the masks here must stay branch-free.
#[allow(clippy::manual_range_contains)]
#[inline(always)]
fn lane<const FMA: bool>(s: f64, k: f64, t: f64, sigma: f64, r: f64) -> f64 {
    // Non-short-circuit `&` keeps the lane branch-free (vectorisable).
    let ok_inputs = (s > 0.0)
        & (k > 0.0)
        & (t > 0.0)
        & (sigma > 0.0)
        & (s < f64::INFINITY)
        & (k < f64::INFINITY)
        & (t < f64::INFINITY)
        & (sigma < f64::INFINITY);
    let ratio = s / k;
    let sqrt_t = t.sqrt();
    let vst = sigma * sqrt_t;
    let den = s * vst;
    let q = 1.0 / den; // 1/(S σ √T)
    let inv_vst = s * q; // 1/(σ √T)
    let d1 = madd::<FMA>(0.5 * sigma * sigma, t, ln::<FMA>(ratio)) * inv_vst;
    let g = exp::<FMA>(madd::<FMA>(-0.5 * d1, d1, -r * t)) * INV_SQRT_2PI * q;
    let ok = ok_inputs
        & (ratio >= f64::MIN_POSITIVE)
        & (ratio < f64::INFINITY)
        & (den >= f64::MIN_POSITIVE)
        & (den < f64::INFINITY)
        & (g < f64::INFINITY)
        & (g >= 0.0);
    if ok {
        g
    } else {
        f64::NAN
    }
}

/// Runs `fast` over the block, then redoes the NaN lanes with the scalar formula.
#[inline(always)]
fn with_fixup(
    out: &mut [f64],
    s: &[f64],
    k: &[f64],
    t: &[f64],
    sigma: &[f64],
    r: f64,
    fast: impl FnOnce(&mut [f64]),
) {
    fast(out);
    // NaN lanes are rare: a vectorised scan first, the per-element pass only if needed.
    if out.iter().fold(false, |any, g| any | g.is_nan()) {
        for i in 0..out.len() {
            if out[i].is_nan() {
                out[i] = black76_gamma(s[i], k[i], t[i], sigma[i], r);
            }
        }
    }
}

/// Gamma of a block on this thread, with the widest instructions the CPU has.
pub fn gamma_block(out: &mut [f64], s: &[f64], k: &[f64], t: &[f64], sigma: &[f64], r: f64) {
    if !r.is_finite() {
        out.iter_mut().for_each(|g| *g = 0.0);
        return;
    }
    let n = out.len();
    let (s, k, t, sigma) = (&s[..n], &k[..n], &t[..n], &sigma[..n]);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is present (checked just above); slices hold n elements.
        with_fixup(out, s, k, t, sigma, r, |o| unsafe {
            crate::greeks::gamma_avx512::gamma_lanes(o, s, k, t, sigma, r)
        });
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: AVX2 and FMA are present (checked just above); slices hold n elements.
        with_fixup(out, s, k, t, sigma, r, |o| unsafe {
            crate::greeks::gamma_avx2::gamma_lanes(o, s, k, t, sigma, r)
        });
        return;
    }
    with_fixup(out, s, k, t, sigma, r, |o| {
        for i in 0..n {
            o[i] = lane::<false>(s[i], k[i], t[i], sigma[i], r);
        }
    });
}

/// `out[i]` = Black-76 gamma of row `i`, in parallel on the current rayon pool.
///
/// The hot path is the vectorised kernel (AVX-512F, else AVX2+FMA, when available), within
/// 1e-12 relative of [`black76_gamma`]; degenerate rows take the scalar path,
/// so the same guarantees hold (0.0, never NaN or negative). Every element is
/// computed by the same code whatever the chunking, so results do not depend
/// on the number of threads.
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
            let hi = lo + block.len();
            gamma_block(block, &s[lo..hi], &k[lo..hi], &t[lo..hi], &sigma[lo..hi], r);
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

    fn close(fast: f64, slow: f64) -> bool {
        (fast - slow).abs() <= 1e-12 * slow.abs() || (fast - slow).abs() < 1e-300
    }

    #[test]
    fn vector_kernel_is_within_1e_12_of_scalar() {
        let n = 40_000;
        let s: Vec<f64> = (0..n).map(|i| 50.0 + (i % 97) as f64).collect();
        let k: Vec<f64> = (0..n).map(|i| 60.0 + (i % 31) as f64).collect();
        let t: Vec<f64> = (0..n).map(|i| 0.001 + (i % 13) as f64 * 0.1).collect();
        let v: Vec<f64> = (0..n).map(|i| 0.05 + (i % 7) as f64 * 0.3).collect();
        let mut out = vec![0.0; n];
        gamma_into(&mut out, &s, &k, &t, &v, 0.01);
        for i in 0..n {
            let want = black76_gamma(s[i], k[i], t[i], v[i], 0.01);
            assert!(close(out[i], want), "{i}: {} vs {want}", out[i]);
        }
    }

    #[test]
    fn degenerate_rows_in_the_vector_kernel_take_the_scalar_path() {
        let s = [
            0.0,
            -1.0,
            f64::NAN,
            1e-300,
            1e300,
            100.0,
            100.0,
            100.0,
            100.0,
        ];
        let k = [1.0, 1.0, 1.0, 1e300, 1e-300, 100.0, 100.0, 100.0, 0.0];
        let t = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1e-300, 1.0, 1.0];
        let v = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1e-300, f64::INFINITY, 0.5];
        let mut out = [1.0; 9];
        gamma_block(&mut out, &s, &k, &t, &v, 0.0);
        for i in 0..9 {
            assert_eq!(
                out[i].to_bits(),
                black76_gamma(s[i], k[i], t[i], v[i], 0.0).to_bits(),
                "row {i}"
            );
        }
        let mut nan_rate = [1.0; 2];
        gamma_block(
            &mut nan_rate,
            &[1.0, 2.0],
            &[1.0, 2.0],
            &[1.0, 1.0],
            &[0.5, 0.5],
            f64::NAN,
        );
        assert_eq!(nan_rate, [0.0, 0.0]);
    }

    /// Every vector kernel this CPU runs, by name, over the same rows (NaN = scalar path needed).
    #[cfg(target_arch = "x86_64")]
    fn kernels_here(
        s: &[f64],
        k: &[f64],
        t: &[f64],
        v: &[f64],
        r: f64,
    ) -> Vec<(&'static str, Vec<f64>)> {
        let n = s.len();
        let mut out = Vec::new();
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            let mut o = vec![0.0; n];
            // SAFETY: AVX2 and FMA are present; every slice holds n elements.
            unsafe { crate::greeks::gamma_avx2::gamma_lanes(&mut o, s, k, t, v, r) };
            out.push(("avx2", o));
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            let mut o = vec![0.0; n];
            // SAFETY: AVX-512F is present; every slice holds n elements.
            unsafe { crate::greeks::gamma_avx512::gamma_lanes(&mut o, s, k, t, v, r) };
            out.push(("avx512f", o));
        }
        out
    }

    /// The AVX-512 kernel does the AVX2 kernel's exactly rounded operations in
    /// the same order, so the two agree bit for bit (NaN lanes included) at
    /// every length (tails are padded); each is within 1e-12 of the scalar
    /// formula wherever it does not defer to it. A CPU without AVX-512 (AMD
    /// Zen 3) checks the AVX2 kernel only: the other is never chosen there.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_kernels_agree_bit_for_bit_and_with_the_formula() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64; // splitmix64: a fixed, dependency-free stream
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut compared = 0;
        for n in [0usize, 1, 3, 7, 8, 9, 15, 16, 17, 31, 1000, 4099] {
            let mut draw = |lo: f64, hi: f64| -> Vec<f64> {
                (0..n)
                    .map(|_| match (next() * 40.0) as u32 {
                        0 => 0.0,
                        1 => f64::NAN,
                        2 => 1e-300,
                        3 => f64::INFINITY,
                        _ => lo * (hi / lo).powf(next()),
                    })
                    .collect()
            };
            let (s, k, t, v) = (
                draw(1e-3, 1e7),
                draw(1e-3, 1e7),
                draw(1e-6, 30.0),
                draw(1e-4, 10.0),
            );
            let all = kernels_here(&s, &k, &t, &v, 0.03);
            for (name, got) in &all {
                for i in 0..n {
                    let want = black76_gamma(s[i], k[i], t[i], v[i], 0.03);
                    assert!(
                        got[i].is_nan() || close(got[i], want),
                        "{name} n={n} row {i}: {} vs {want}",
                        got[i]
                    );
                }
            }
            for (name, got) in all.iter().skip(1) {
                for (i, (g, w)) in got.iter().zip(&all[0].1).enumerate() {
                    assert_eq!(g.to_bits(), w.to_bits(), "{name} vs avx2, n={n} row {i}");
                }
                compared += n;
            }
        }
        eprintln!(
            "vector kernels here: avx2 vs scalar formula; avx512f vs avx2 on {compared} rows"
        );
    }

    proptest::proptest! {
        #[test]
        fn vector_kernel_matches_scalar_on_random_options(
            s in 1e-3f64..1e7, k in 1e-3f64..1e7, t in 1e-6f64..30.0, v in 1e-4f64..10.0, r in -0.2f64..0.5,
        ) {
            let mut out = [0.0; 5];
            let row = |x: f64| [x; 5];
            gamma_block(&mut out, &row(s), &row(k), &row(t), &row(v), r);
            let want = black76_gamma(s, k, t, v, r);
            proptest::prop_assert!(out.iter().all(|&g| close(g, want)), "{:?} vs {}", out, want);
        }
    }
}
