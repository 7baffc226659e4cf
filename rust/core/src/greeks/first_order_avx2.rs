//! Gamma, delta, vanna and charm of four options per step, in AVX2 + FMA intrinsics.
//!
//! `first_order_avx512` on registers half as wide (its docs say what is shared
//! and why); comparisons give all-ones lanes instead of mask registers. Gamma is
//! `gamma_avx2::gamma4`'s operations in the same order, so bit for bit what
//! `black76_gamma` gives; delta, vanna and charm are the same operations as the
//! AVX-512 kernel's, so the two agree bit for bit (a test compares them).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use crate::fastmath::INV_SQRT_2PI;
use crate::greeks::block_out::GreeksOut;
use crate::greeks::gamma_avx2::{exp4, ln4};
use crate::greeks::normal::{MILLS_C, MILLS_POWER, MILLS_U};

const LANES: usize = 4;

#[inline]
#[target_feature(enable = "avx2,fma")]
fn splat(x: f64) -> __m256d {
    _mm256_set1_pd(x)
}

/// |x|.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn abs(x: __m256d) -> __m256d {
    _mm256_andnot_pd(splat(-0.0), x)
}

/// The four greeks of four options, and the lanes the careful path must redo
/// (all-ones lanes).
struct Greeks4 {
    gamma: __m256d,
    delta: __m256d,
    vanna: __m256d,
    charm: __m256d,
    careful: __m256d,
}

/// Φ(−z)/φ(z) for z = |d₁|: `first_order::mills`, operation for operation.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn mills4(z: __m256d) -> __m256d {
    let p = &MILLS_POWER;
    let inv = _mm256_div_pd(splat(1.0), _mm256_add_pd(z, splat(MILLS_C)));
    let t = _mm256_mul_pd(_mm256_sub_pd(z, splat(MILLS_C)), inv);
    let u = _mm256_fmadd_pd(splat(MILLS_U.0), t, splat(MILLS_U.1));
    let u2 = _mm256_mul_pd(u, u);
    let u4 = _mm256_mul_pd(u2, u2);
    let u8 = _mm256_mul_pd(u4, u4);
    let u16 = _mm256_mul_pd(u8, u8);
    let q = |i: usize| _mm256_fmadd_pd(splat(p[2 * i + 1]), u, splat(p[2 * i]));
    let r = |i: usize| _mm256_fmadd_pd(q(2 * i + 1), u2, q(2 * i));
    let s0 = _mm256_fmadd_pd(r(1), u4, r(0));
    let s1 = _mm256_fmadd_pd(r(3), u4, r(2));
    let s2 = _mm256_fmadd_pd(q(10), u4, r(4));
    _mm256_mul_pd(_mm256_fmadd_pd(s2, u16, _mm256_fmadd_pd(s1, u8, s0)), inv)
}

/// All four greeks of four options (`call`: all-ones lanes for a call).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn greeks4<const ZERO_RATE: bool>(
    s: __m256d,
    k: __m256d,
    t: __m256d,
    v: __m256d,
    r: __m256d,
    call: __m256d,
) -> Greeks4 {
    let zero = splat(0.0);
    let inf = splat(f64::INFINITY);
    let and = |a: __m256d, b: __m256d| _mm256_and_pd(a, b);
    let in_range = |x: __m256d| {
        and(
            _mm256_cmp_pd::<_CMP_GT_OQ>(x, zero),
            _mm256_cmp_pd::<_CMP_LT_OQ>(x, inf),
        )
    };
    let normal = |x: __m256d| {
        and(
            _mm256_cmp_pd::<_CMP_GE_OQ>(x, splat(f64::MIN_POSITIVE)),
            _mm256_cmp_pd::<_CMP_LT_OQ>(x, inf),
        )
    };
    let finite = |x: __m256d| _mm256_cmp_pd::<_CMP_LT_OQ>(abs(x), inf);
    // Gamma: gamma_avx2::gamma4, operation for operation.
    let ok = and(and(in_range(s), in_range(k)), and(in_range(t), in_range(v)));
    let sqrt_t = _mm256_sqrt_pd(t);
    let vst = _mm256_mul_pd(v, sqrt_t);
    let sv = _mm256_mul_pd(s, vst);
    let ratio = _mm256_div_pd(s, k);
    let q = _mm256_div_pd(splat(1.0), sv);
    let h = _mm256_mul_pd(splat(0.5), _mm256_mul_pd(v, v));
    let x = ln4(ratio);
    let inv_vst = _mm256_mul_pd(s, q);
    let d1 = _mm256_mul_pd(_mm256_fmadd_pd(h, t, x), inv_vst);
    let arg = _mm256_fmadd_pd(
        _mm256_mul_pd(splat(-0.5), d1),
        d1,
        _mm256_mul_pd(_mm256_sub_pd(zero, r), t),
    );
    let dpdf = _mm256_mul_pd(exp4(arg), splat(INV_SQRT_2PI));
    let g = _mm256_mul_pd(dpdf, q);
    let ok_g = and(and(ok, normal(ratio)), normal(sv));
    let ok_g = and(
        ok_g,
        and(
            _mm256_cmp_pd::<_CMP_GE_OQ>(g, zero),
            _mm256_cmp_pd::<_CMP_LT_OQ>(g, inf),
        ),
    );
    let gamma = _mm256_blendv_pd(splat(f64::NAN), g, ok_g);

    let live = _mm256_cmp_pd::<_CMP_GT_OQ>(dpdf, zero);
    let disc = if ZERO_RATE {
        splat(1.0)
    } else {
        exp4(_mm256_mul_pd(_mm256_sub_pd(zero, r), t))
    };
    let tail = and(live, _mm256_mul_pd(dpdf, mills4(abs(d1))));
    let up = _mm256_cmp_pd::<_CMP_GE_OQ>(d1, zero);
    // As in the AVX-512 kernel: the tail or the rest by call XOR up, negated for a put.
    let size = _mm256_blendv_pd(_mm256_sub_pd(disc, tail), tail, _mm256_xor_pd(call, up));
    let delta = _mm256_xor_pd(size, _mm256_andnot_pd(call, splat(-0.0)));
    let d2 = _mm256_mul_pd(_mm256_fnmadd_pd(h, t, x), inv_vst);
    let pd2 = and(live, _mm256_mul_pd(dpdf, d2));
    let vanna = _mm256_mul_pd(pd2, _mm256_fnmadd_pd(sqrt_t, inv_vst, zero));
    let half_inv_t = _mm256_mul_pd(_mm256_mul_pd(h, inv_vst), inv_vst);
    let charm = _mm256_mul_pd(pd2, half_inv_t);
    let charm = if ZERO_RATE {
        charm
    } else {
        _mm256_fmadd_pd(r, delta, charm)
    };
    let sum = _mm256_add_pd(_mm256_add_pd(delta, vanna), charm);
    let fast = and(and(ok, normal(ratio)), and(normal(sv), normal(vst)));
    let fast = and(fast, and(finite(r), finite(sum)));
    Greeks4 {
        gamma,
        delta,
        vanna,
        charm,
        careful: _mm256_xor_pd(fast, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))),
    }
}

/// Stores `x` at row `i` of `o` when that greek was asked for.
///
/// # Safety
/// `i + 4 <= o.len()` when `o` is `Some`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store(o: &mut Option<&mut [f64]>, i: usize, x: __m256d) {
    if let Some(o) = o.as_deref_mut() {
        // SAFETY: the caller keeps i + 4 within the slice.
        unsafe { _mm256_storeu_pd(o.as_mut_ptr().add(i), x) };
    }
}

/// Call lanes (all ones) from four bools.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn call_lanes(c: [bool; LANES]) -> __m256d {
    let word = i32::from_le_bytes(c.map(u8::from));
    let wide = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(word));
    _mm256_castsi256_pd(_mm256_cmpgt_epi64(wide, _mm256_setzero_si256()))
}

/// `first_order_avx512::greeks_lanes` on four lanes: the same contract.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `s`, `k`, `t`, `sigma` and every output
/// hold `n = s.len()` rows (`r` and `calls` one or n); `careful` holds at least ⌈n/64⌉ words, zeroed.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn greeks_lanes<const ZERO_RATE: bool>(
    out: &mut GreeksOut<'_>,
    careful: &mut [u64],
    s: &[f64],
    k: &[f64],
    t: &[f64],
    sigma: &[f64],
    r: &[f64],
    calls: &[bool],
) {
    let n = s.len();
    let one_rate = splat(r[0]);
    let one_kind = call_lanes([calls.len() == 1 && calls[0]; LANES]);
    let ld = |p: &[f64], o: usize| {
        // SAFETY: callers keep o + LANES <= n <= p.len().
        unsafe { _mm256_loadu_pd(p.as_ptr().add(o)) }
    };
    let rate = |i: usize| if r.len() == 1 { one_rate } else { ld(r, i) };
    let mut i = 0;
    while i + LANES <= n {
        let call = if calls.len() == 1 {
            one_kind
        } else {
            call_lanes([calls[i], calls[i + 1], calls[i + 2], calls[i + 3]])
        };
        let g = greeks4::<ZERO_RATE>(ld(s, i), ld(k, i), ld(t, i), ld(sigma, i), rate(i), call);
        // SAFETY: i + 4 <= n, the length of every output.
        unsafe {
            store(&mut out.gamma, i, g.gamma);
            store(&mut out.delta, i, g.delta);
            store(&mut out.vanna, i, g.vanna);
            store(&mut out.charm, i, g.charm);
        }
        careful[i / 64] |= (_mm256_movemask_pd(g.careful) as u64) << (i % 64);
        i += LANES;
    }
    if i < n {
        // The tail through the same instructions, padded with harmless lanes.
        let m = n - i;
        let mut buf = [[1.0f64; LANES]; 5];
        buf[0][..m].copy_from_slice(&s[i..n]);
        buf[1][..m].copy_from_slice(&k[i..n]);
        buf[2][..m].copy_from_slice(&t[i..n]);
        buf[3][..m].copy_from_slice(&sigma[i..n]);
        buf[4] = [r[0]; LANES];
        if r.len() > 1 {
            buf[4][..m].copy_from_slice(&r[i..n]);
        }
        let call = if calls.len() == 1 {
            one_kind
        } else {
            let mut c = [false; LANES];
            c[..m].copy_from_slice(&calls[i..n]);
            call_lanes(c)
        };
        let l = |b: &[f64; LANES]| {
            // SAFETY: each buffer holds four lanes.
            unsafe { _mm256_loadu_pd(b.as_ptr()) }
        };
        let g = greeks4::<ZERO_RATE>(
            l(&buf[0]),
            l(&buf[1]),
            l(&buf[2]),
            l(&buf[3]),
            l(&buf[4]),
            call,
        );
        let mut res = [[0.0f64; LANES]; 4];
        for (dst, x) in res.iter_mut().zip([g.gamma, g.delta, g.vanna, g.charm]) {
            // SAFETY: each buffer holds four lanes.
            unsafe { _mm256_storeu_pd(dst.as_mut_ptr(), x) };
        }
        for (o, src) in [
            &mut out.gamma,
            &mut out.delta,
            &mut out.vanna,
            &mut out.charm,
        ]
        .into_iter()
        .zip(&res)
        {
            if let Some(o) = o.as_deref_mut() {
                o[i..n].copy_from_slice(&src[..m]);
            }
        }
        let bits = _mm256_movemask_pd(g.careful) as u64 & ((1u64 << m) - 1);
        careful[i / 64] |= bits << (i % 64);
    }
}
