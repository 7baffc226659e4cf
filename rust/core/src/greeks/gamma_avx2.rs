//! The Black-76 gamma kernel in AVX2 + FMA intrinsics, four options per step.
//!
//! LLVM vectorises `fastmath::exp` and `fastmath::ln` each on their own but
//! gives up on a loop that uses both, so the hot kernel spells the same
//! algorithms out with `std::arch` intrinsics (stable Rust, chosen at run time
//! by `greeks::gamma::gamma_block`). The tail is padded to four lanes, so every
//! element goes through the same instructions: results do not depend on how
//! the input is chunked or how many threads run.
//!
//! Per four options: one `sqrt`, three divisions (S/K, 1/(Sσ√T) and one inside
//! `ln`), and about 45 fused multiply-adds. Lanes whose inputs are
//! degenerate come out as NaN and are redone by the scalar formula.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use crate::fastmath::{
    INV_FACT, INV_SQRT_2PI, LG1, LG2, LG3, LG4, LG5, LG6, LG7, LN2_HI, LN2_LO, MAGIC,
};

const TWO52: f64 = 4_503_599_627_370_496.0;

#[inline]
#[target_feature(enable = "avx2,fma")]
fn splat(x: f64) -> __m256d {
    _mm256_set1_pd(x)
}

/// ln(x) for positive normal lanes (fdlibm e_log.c; see `fastmath::ln`).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn ln4(x: __m256d) -> __m256d {
    let bits = _mm256_castpd_si256(x);
    let e = _mm256_srli_epi64::<52>(bits);
    let ef = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(
            e,
            _mm256_set1_epi64x(0x4330_0000_0000_0000),
        )),
        splat(TWO52),
    );
    let mant = _mm256_and_si256(bits, _mm256_set1_epi64x(0x000f_ffff_ffff_ffff));
    let m = _mm256_castsi256_pd(_mm256_or_si256(
        mant,
        _mm256_set1_epi64x(0x3ff0_0000_0000_0000),
    ));
    let big = _mm256_cmp_pd::<_CMP_GT_OQ>(m, splat(std::f64::consts::SQRT_2));
    let m = _mm256_blendv_pd(m, _mm256_mul_pd(m, splat(0.5)), big);
    let kf = _mm256_add_pd(
        _mm256_sub_pd(ef, splat(1023.0)),
        _mm256_and_pd(big, splat(1.0)),
    );
    let f = _mm256_sub_pd(m, splat(1.0));
    let hfsq = _mm256_mul_pd(_mm256_mul_pd(splat(0.5), f), f);
    let s = _mm256_div_pd(f, _mm256_add_pd(splat(2.0), f));
    let z = _mm256_mul_pd(s, s);
    let w = _mm256_mul_pd(z, z);
    let t1 = _mm256_mul_pd(
        w,
        _mm256_fmadd_pd(w, _mm256_fmadd_pd(w, splat(LG6), splat(LG4)), splat(LG2)),
    );
    let t2 = _mm256_mul_pd(
        z,
        _mm256_fmadd_pd(
            w,
            _mm256_fmadd_pd(w, _mm256_fmadd_pd(w, splat(LG7), splat(LG5)), splat(LG3)),
            splat(LG1),
        ),
    );
    let r = _mm256_add_pd(t2, t1);
    let inner = _mm256_fmadd_pd(s, _mm256_add_pd(hfsq, r), _mm256_mul_pd(kf, splat(LN2_LO)));
    _mm256_sub_pd(
        _mm256_mul_pd(kf, splat(LN2_HI)),
        _mm256_sub_pd(_mm256_sub_pd(hfsq, inner), f),
    )
}

/// e^x (see `fastmath::exp`): 0 below about −708.4, +inf above about 709.8.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn exp4(x: __m256d) -> __m256d {
    let xc = _mm256_min_pd(_mm256_max_pd(x, splat(-708.39)), splat(709.78));
    let t = _mm256_fmadd_pd(xc, splat(std::f64::consts::LOG2_E), splat(MAGIC));
    let n = _mm256_sub_pd(t, splat(MAGIC));
    let r = _mm256_fnmadd_pd(n, splat(LN2_LO), _mm256_fnmadd_pd(n, splat(LN2_HI), xc));
    let c = &INV_FACT;
    // Estrin's scheme: the same polynomial as `fastmath::exp`, dependency depth 4
    // instead of 11, so independent lanes overlap in the pipeline.
    let r2 = _mm256_mul_pd(r, r);
    let r4 = _mm256_mul_pd(r2, r2);
    let r8 = _mm256_mul_pd(r4, r4);
    let p01 = _mm256_fmadd_pd(splat(c[1]), r, splat(c[0]));
    let p23 = _mm256_fmadd_pd(splat(c[3]), r, splat(c[2]));
    let p45 = _mm256_fmadd_pd(splat(c[5]), r, splat(c[4]));
    let p67 = _mm256_fmadd_pd(splat(c[7]), r, splat(c[6]));
    let p89 = _mm256_fmadd_pd(splat(c[9]), r, splat(c[8]));
    let pab = _mm256_fmadd_pd(splat(c[11]), r, splat(c[10]));
    let p03 = _mm256_fmadd_pd(p23, r2, p01);
    let p47 = _mm256_fmadd_pd(p67, r2, p45);
    let p8b = _mm256_fmadd_pd(pab, r2, p89);
    let p07 = _mm256_fmadd_pd(p47, r4, p03);
    let p = _mm256_fmadd_pd(p8b, r8, p07);
    let er = _mm256_fmadd_pd(_mm256_fmadd_pd(p, r, splat(1.0)), r, splat(1.0));
    let ni = _mm256_sub_epi64(
        _mm256_castpd_si256(t),
        _mm256_set1_epi64x(MAGIC.to_bits() as i64),
    );
    let scale = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_add_epi64(
        ni,
        _mm256_set1_epi64x(1023),
    )));
    let v = _mm256_mul_pd(er, scale);
    let v = _mm256_blendv_pd(
        v,
        splat(0.0),
        _mm256_cmp_pd::<_CMP_LT_OQ>(x, splat(-708.39)),
    );
    _mm256_blendv_pd(
        v,
        splat(f64::INFINITY),
        _mm256_cmp_pd::<_CMP_GT_OQ>(x, splat(709.78)),
    )
}

/// Gamma of four options; NaN in lanes that need the scalar formula.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn gamma4(s: __m256d, k: __m256d, t: __m256d, v: __m256d, r: __m256d) -> __m256d {
    let zero = splat(0.0);
    let inf = splat(f64::INFINITY);
    let in_range = |x: __m256d| {
        _mm256_and_pd(
            _mm256_cmp_pd::<_CMP_GT_OQ>(x, zero),
            _mm256_cmp_pd::<_CMP_LT_OQ>(x, inf),
        )
    };
    let ok = _mm256_and_pd(
        _mm256_and_pd(in_range(s), in_range(k)),
        _mm256_and_pd(in_range(t), in_range(v)),
    );
    let vst = _mm256_mul_pd(v, _mm256_sqrt_pd(t));
    let sv = _mm256_mul_pd(s, vst);
    // S/K by a true division: it must be correctly rounded, because ln(S/K) + σ²T/2
    // can cancel and amplify its error into d₁ (and d₁² into the result).
    let ratio = _mm256_div_pd(s, k);
    let q = _mm256_div_pd(splat(1.0), sv); // 1/(S σ√T)
    let d1 = _mm256_mul_pd(
        _mm256_fmadd_pd(
            _mm256_mul_pd(splat(0.5), _mm256_mul_pd(v, v)),
            t,
            ln4(ratio),
        ),
        _mm256_mul_pd(s, q),
    );
    let arg = _mm256_fmadd_pd(
        _mm256_mul_pd(splat(-0.5), d1),
        d1,
        _mm256_mul_pd(_mm256_sub_pd(zero, r), t),
    );
    let g = _mm256_mul_pd(_mm256_mul_pd(exp4(arg), splat(INV_SQRT_2PI)), q);
    let normal = |x: __m256d| {
        _mm256_and_pd(
            _mm256_cmp_pd::<_CMP_GE_OQ>(x, splat(f64::MIN_POSITIVE)),
            _mm256_cmp_pd::<_CMP_LT_OQ>(x, inf),
        )
    };
    let ok = _mm256_and_pd(_mm256_and_pd(ok, normal(ratio)), normal(sv));
    let ok = _mm256_and_pd(
        ok,
        _mm256_and_pd(
            _mm256_cmp_pd::<_CMP_GE_OQ>(g, zero),
            _mm256_cmp_pd::<_CMP_LT_OQ>(g, inf),
        ),
    );
    _mm256_blendv_pd(splat(f64::NAN), g, ok)
}

/// Fast lanes into `out` (NaN where the scalar formula is needed).
///
/// # Safety
/// The CPU must support AVX2 and FMA; all slices must be at least `out.len()` long.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gamma_lanes(out: &mut [f64], s: &[f64], k: &[f64], t: &[f64], sigma: &[f64], r: f64) {
    let n = out.len();
    let rv = splat(r);
    let mut i = 0;
    let ld = |p: &[f64], o: usize| {
        // SAFETY: callers keep o + 4 <= n <= p.len().
        unsafe { _mm256_loadu_pd(p.as_ptr().add(o)) }
    };
    // Two independent groups per iteration give the out-of-order core more to overlap.
    while i + 8 <= n {
        let g0 = gamma4(ld(s, i), ld(k, i), ld(t, i), ld(sigma, i), rv);
        let g1 = gamma4(
            ld(s, i + 4),
            ld(k, i + 4),
            ld(t, i + 4),
            ld(sigma, i + 4),
            rv,
        );
        // SAFETY: i + 8 <= n = out.len().
        unsafe {
            _mm256_storeu_pd(out.as_mut_ptr().add(i), g0);
            _mm256_storeu_pd(out.as_mut_ptr().add(i + 4), g1);
        }
        i += 8;
    }
    while i + 4 <= n {
        let g = gamma4(ld(s, i), ld(k, i), ld(t, i), ld(sigma, i), rv);
        // SAFETY: i + 4 <= n = out.len().
        unsafe { _mm256_storeu_pd(out.as_mut_ptr().add(i), g) };
        i += 4;
    }
    if i < n {
        // The tail through the same instructions, padded with harmless ones.
        let mut buf = [[1.0f64; 4]; 5];
        buf[0][..n - i].copy_from_slice(&s[i..n]);
        buf[1][..n - i].copy_from_slice(&k[i..n]);
        buf[2][..n - i].copy_from_slice(&t[i..n]);
        buf[3][..n - i].copy_from_slice(&sigma[i..n]);
        // SAFETY: the buffers hold four lanes each.
        unsafe {
            let g = gamma4(
                _mm256_loadu_pd(buf[0].as_ptr()),
                _mm256_loadu_pd(buf[1].as_ptr()),
                _mm256_loadu_pd(buf[2].as_ptr()),
                _mm256_loadu_pd(buf[3].as_ptr()),
                rv,
            );
            _mm256_storeu_pd(buf[4].as_mut_ptr(), g);
        }
        out[i..n].copy_from_slice(&buf[4][..n - i]);
    }
}
