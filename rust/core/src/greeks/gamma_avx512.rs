//! The Black-76 gamma kernel in AVX-512F intrinsics, eight options per step.
//!
//! The same operations, in the same order, as `gamma_avx2` (whose docs say
//! why the kernel is written with intrinsics), on registers twice as wide;
//! comparisons give mask registers instead of all-ones lanes. Every step is
//! exactly rounded (add, mul, fma, div, sqrt, min/max, bit operations), so
//! each lane's result is bit-identical to the AVX2 kernel's and to
//! `fastmath`'s scalar lane: a CPU with AVX-512 gives the same numbers, about
//! 1.7 times sooner (Xeon, 2 threads, 10M options: see benches/README.md).
//! Chosen at run time by `greeks::gamma::gamma_block` (stable since Rust 1.89).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use crate::fastmath::{
    INV_FACT, INV_SQRT_2PI, LG1, LG2, LG3, LG4, LG5, LG6, LG7, LN2_HI, LN2_LO, MAGIC,
};

const TWO52: f64 = 4_503_599_627_370_496.0;
const LANES: usize = 8;

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: f64) -> __m512d {
    _mm512_set1_pd(x)
}

/// ln(x) for positive normal lanes (fdlibm e_log.c; see `fastmath::ln`).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn ln8(x: __m512d) -> __m512d {
    let bits = _mm512_castpd_si512(x);
    let e = _mm512_srli_epi64::<52>(bits);
    let ef = _mm512_sub_pd(
        _mm512_castsi512_pd(_mm512_or_si512(e, _mm512_set1_epi64(0x4330_0000_0000_0000))),
        splat(TWO52),
    );
    let mant = _mm512_and_si512(bits, _mm512_set1_epi64(0x000f_ffff_ffff_ffff));
    let m = _mm512_castsi512_pd(_mm512_or_si512(
        mant,
        _mm512_set1_epi64(0x3ff0_0000_0000_0000),
    ));
    let big = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(m, splat(std::f64::consts::SQRT_2));
    let m = _mm512_mask_blend_pd(big, m, _mm512_mul_pd(m, splat(0.5)));
    let kf = _mm512_add_pd(
        _mm512_sub_pd(ef, splat(1023.0)),
        _mm512_maskz_mov_pd(big, splat(1.0)),
    );
    let f = _mm512_sub_pd(m, splat(1.0));
    let hfsq = _mm512_mul_pd(_mm512_mul_pd(splat(0.5), f), f);
    let s = _mm512_div_pd(f, _mm512_add_pd(splat(2.0), f));
    let z = _mm512_mul_pd(s, s);
    let w = _mm512_mul_pd(z, z);
    let t1 = _mm512_mul_pd(
        w,
        _mm512_fmadd_pd(w, _mm512_fmadd_pd(w, splat(LG6), splat(LG4)), splat(LG2)),
    );
    let t2 = _mm512_mul_pd(
        z,
        _mm512_fmadd_pd(
            w,
            _mm512_fmadd_pd(w, _mm512_fmadd_pd(w, splat(LG7), splat(LG5)), splat(LG3)),
            splat(LG1),
        ),
    );
    let r = _mm512_add_pd(t2, t1);
    let inner = _mm512_fmadd_pd(s, _mm512_add_pd(hfsq, r), _mm512_mul_pd(kf, splat(LN2_LO)));
    _mm512_sub_pd(
        _mm512_mul_pd(kf, splat(LN2_HI)),
        _mm512_sub_pd(_mm512_sub_pd(hfsq, inner), f),
    )
}

/// e^x (see `fastmath::exp`): 0 below about −708.4, +inf above about 709.8.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn exp8(x: __m512d) -> __m512d {
    let xc = _mm512_min_pd(_mm512_max_pd(x, splat(-708.39)), splat(709.78));
    let t = _mm512_fmadd_pd(xc, splat(std::f64::consts::LOG2_E), splat(MAGIC));
    let n = _mm512_sub_pd(t, splat(MAGIC));
    let r = _mm512_fnmadd_pd(n, splat(LN2_LO), _mm512_fnmadd_pd(n, splat(LN2_HI), xc));
    let c = &INV_FACT;
    // Estrin's scheme, as in `gamma_avx2::exp4`.
    let r2 = _mm512_mul_pd(r, r);
    let r4 = _mm512_mul_pd(r2, r2);
    let r8 = _mm512_mul_pd(r4, r4);
    let p01 = _mm512_fmadd_pd(splat(c[1]), r, splat(c[0]));
    let p23 = _mm512_fmadd_pd(splat(c[3]), r, splat(c[2]));
    let p45 = _mm512_fmadd_pd(splat(c[5]), r, splat(c[4]));
    let p67 = _mm512_fmadd_pd(splat(c[7]), r, splat(c[6]));
    let p89 = _mm512_fmadd_pd(splat(c[9]), r, splat(c[8]));
    let pab = _mm512_fmadd_pd(splat(c[11]), r, splat(c[10]));
    let p03 = _mm512_fmadd_pd(p23, r2, p01);
    let p47 = _mm512_fmadd_pd(p67, r2, p45);
    let p8b = _mm512_fmadd_pd(pab, r2, p89);
    let p07 = _mm512_fmadd_pd(p47, r4, p03);
    let p = _mm512_fmadd_pd(p8b, r8, p07);
    let er = _mm512_fmadd_pd(_mm512_fmadd_pd(p, r, splat(1.0)), r, splat(1.0));
    let ni = _mm512_sub_epi64(
        _mm512_castpd_si512(t),
        _mm512_set1_epi64(MAGIC.to_bits() as i64),
    );
    let scale = _mm512_castsi512_pd(_mm512_slli_epi64::<52>(_mm512_add_epi64(
        ni,
        _mm512_set1_epi64(1023),
    )));
    let v = _mm512_mul_pd(er, scale);
    let v = _mm512_mask_blend_pd(
        _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, splat(-708.39)),
        v,
        splat(0.0),
    );
    _mm512_mask_blend_pd(
        _mm512_cmp_pd_mask::<_CMP_GT_OQ>(x, splat(709.78)),
        v,
        splat(f64::INFINITY),
    )
}

/// Gamma of eight options; NaN in lanes that need the scalar formula.
#[inline]
#[target_feature(enable = "avx512f")]
fn gamma8(s: __m512d, k: __m512d, t: __m512d, v: __m512d, r: __m512d) -> __m512d {
    let zero = splat(0.0);
    let inf = splat(f64::INFINITY);
    let in_range = |x: __m512d| {
        _mm512_cmp_pd_mask::<_CMP_GT_OQ>(x, zero) & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, inf)
    };
    let ok = in_range(s) & in_range(k) & in_range(t) & in_range(v);
    let vst = _mm512_mul_pd(v, _mm512_sqrt_pd(t));
    let sv = _mm512_mul_pd(s, vst);
    // S/K by a true division (see gamma_avx2::gamma4).
    let ratio = _mm512_div_pd(s, k);
    let q = _mm512_div_pd(splat(1.0), sv); // 1/(S σ√T)
    let d1 = _mm512_mul_pd(
        _mm512_fmadd_pd(
            _mm512_mul_pd(splat(0.5), _mm512_mul_pd(v, v)),
            t,
            ln8(ratio),
        ),
        _mm512_mul_pd(s, q),
    );
    let arg = _mm512_fmadd_pd(
        _mm512_mul_pd(splat(-0.5), d1),
        d1,
        _mm512_mul_pd(_mm512_sub_pd(zero, r), t),
    );
    let g = _mm512_mul_pd(_mm512_mul_pd(exp8(arg), splat(INV_SQRT_2PI)), q);
    let normal = |x: __m512d| {
        _mm512_cmp_pd_mask::<_CMP_GE_OQ>(x, splat(f64::MIN_POSITIVE))
            & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, inf)
    };
    let ok = ok
        & normal(ratio)
        & normal(sv)
        & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(g, zero)
        & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(g, inf);
    _mm512_mask_blend_pd(ok, splat(f64::NAN), g)
}

/// Fast lanes into `out` (NaN where the scalar formula is needed).
///
/// # Safety
/// The CPU must support AVX-512F; all slices must be at least `out.len()` long.
#[target_feature(enable = "avx512f")]
pub unsafe fn gamma_lanes(out: &mut [f64], s: &[f64], k: &[f64], t: &[f64], sigma: &[f64], r: f64) {
    let n = out.len();
    let rv = splat(r);
    let mut i = 0;
    let ld = |p: &[f64], o: usize| {
        // SAFETY: callers keep o + LANES <= n <= p.len().
        unsafe { _mm512_loadu_pd(p.as_ptr().add(o)) }
    };
    // Two independent groups per iteration, as in the AVX2 kernel.
    while i + 2 * LANES <= n {
        let j = i + LANES;
        let g0 = gamma8(ld(s, i), ld(k, i), ld(t, i), ld(sigma, i), rv);
        let g1 = gamma8(ld(s, j), ld(k, j), ld(t, j), ld(sigma, j), rv);
        // SAFETY: i + 16 <= n = out.len().
        unsafe {
            _mm512_storeu_pd(out.as_mut_ptr().add(i), g0);
            _mm512_storeu_pd(out.as_mut_ptr().add(j), g1);
        }
        i += 2 * LANES;
    }
    while i + LANES <= n {
        let g = gamma8(ld(s, i), ld(k, i), ld(t, i), ld(sigma, i), rv);
        // SAFETY: i + 8 <= n = out.len().
        unsafe { _mm512_storeu_pd(out.as_mut_ptr().add(i), g) };
        i += LANES;
    }
    if i < n {
        // The tail through the same instructions, padded with harmless lanes.
        let mut buf = [[1.0f64; LANES]; 5];
        buf[0][..n - i].copy_from_slice(&s[i..n]);
        buf[1][..n - i].copy_from_slice(&k[i..n]);
        buf[2][..n - i].copy_from_slice(&t[i..n]);
        buf[3][..n - i].copy_from_slice(&sigma[i..n]);
        // SAFETY: the buffers hold eight lanes each.
        unsafe {
            let g = gamma8(
                _mm512_loadu_pd(buf[0].as_ptr()),
                _mm512_loadu_pd(buf[1].as_ptr()),
                _mm512_loadu_pd(buf[2].as_ptr()),
                _mm512_loadu_pd(buf[3].as_ptr()),
                rv,
            );
            _mm512_storeu_pd(buf[4].as_mut_ptr(), g);
        }
        out[i..n].copy_from_slice(&buf[4][..n - i]);
    }
}
