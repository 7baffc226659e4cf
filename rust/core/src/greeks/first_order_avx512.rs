//! Gamma, delta, vanna and charm of eight options per step, in AVX-512F intrinsics.
//!
//! One pass per option: S/K, ln, √T, 1/(Sσ√T) and e^{−d₁²/2 − rT} are computed
//! once and shared by all four greeks. Gamma is `gamma_avx512::gamma8`'s
//! operations in the same order (so it is bit for bit what `black76_gamma`
//! gives); delta, vanna and charm reuse its intermediate values:
//!
//! - D·φ(d₁) = e^{−d₁²/2 − rT}/√(2π), the factor gamma multiplies by 1/(Sσ√T);
//! - D·N(−|d₁|) from the Mills-ratio series of `first_order::upper_tail` (a tail,
//!   never 1 − N, so deep out-of-the-money deltas keep their relative accuracy);
//! - 1/σ = √T·(1/(σ√T)) and 1/(2T) = (σ·(1/(σ√T)))²/2 from gamma's 1/(σ√T):
//!   no division beyond gamma's three and the tail's one.
//!
//! Lanes the fast formulas cannot take (degenerate or extreme inputs, S/K or σ√T
//! not a normal double, a non-finite result) are flagged in a bit set and redone
//! by the careful scalar path (`first_order::black76_dvc`); gamma lanes that need
//! the scalar formula come out as NaN, as in `gamma_avx512`. Chosen at run time
//! by `first_order::greeks_block`; see `first_order_avx2` for the same on four lanes.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use crate::fastmath::INV_SQRT_2PI;
use crate::greeks::block_out::GreeksOut;
use crate::greeks::gamma_avx512::{exp8, ln8};
use crate::greeks::normal::{MILLS_C, MILLS_POWER, MILLS_U};

const LANES: usize = 8;

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: f64) -> __m512d {
    _mm512_set1_pd(x)
}

/// The four greeks of eight options, and the lanes the careful path must redo.
struct Greeks8 {
    gamma: __m512d,
    delta: __m512d,
    vanna: __m512d,
    charm: __m512d,
    careful: __mmask8,
}

/// Φ(−z)/φ(z) for z = |d₁|: `first_order::mills`, operation for operation.
#[inline]
#[target_feature(enable = "avx512f,fma")]
fn mills8(z: __m512d) -> __m512d {
    let p = &MILLS_POWER;
    let inv = _mm512_div_pd(splat(1.0), _mm512_add_pd(z, splat(MILLS_C)));
    let t = _mm512_mul_pd(_mm512_sub_pd(z, splat(MILLS_C)), inv);
    let u = _mm512_fmadd_pd(splat(MILLS_U.0), t, splat(MILLS_U.1));
    let u2 = _mm512_mul_pd(u, u);
    let u4 = _mm512_mul_pd(u2, u2);
    let u8 = _mm512_mul_pd(u4, u4);
    let u16 = _mm512_mul_pd(u8, u8);
    let q = |i: usize| _mm512_fmadd_pd(splat(p[2 * i + 1]), u, splat(p[2 * i]));
    let r = |i: usize| _mm512_fmadd_pd(q(2 * i + 1), u2, q(2 * i));
    let s0 = _mm512_fmadd_pd(r(1), u4, r(0));
    let s1 = _mm512_fmadd_pd(r(3), u4, r(2));
    let s2 = _mm512_fmadd_pd(q(10), u4, r(4));
    _mm512_mul_pd(_mm512_fmadd_pd(s2, u16, _mm512_fmadd_pd(s1, u8, s0)), inv)
}

/// All four greeks of eight options (`call`: one bit per lane, set for a call).
#[inline]
#[target_feature(enable = "avx512f,fma")]
fn greeks8<const ZERO_RATE: bool>(
    s: __m512d,
    k: __m512d,
    t: __m512d,
    v: __m512d,
    r: __m512d,
    call: __mmask8,
) -> Greeks8 {
    let zero = splat(0.0);
    let inf = splat(f64::INFINITY);
    let in_range = |x: __m512d| {
        _mm512_cmp_pd_mask::<_CMP_GT_OQ>(x, zero) & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, inf)
    };
    let normal = |x: __m512d| {
        _mm512_cmp_pd_mask::<_CMP_GE_OQ>(x, splat(f64::MIN_POSITIVE))
            & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, inf)
    };
    let finite = |x: __m512d| _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), inf);
    // Gamma: gamma_avx512::gamma8, operation for operation.
    let ok = in_range(s) & in_range(k) & in_range(t) & in_range(v);
    let sqrt_t = _mm512_sqrt_pd(t);
    let vst = _mm512_mul_pd(v, sqrt_t);
    let sv = _mm512_mul_pd(s, vst);
    let ratio = _mm512_div_pd(s, k);
    let q = _mm512_div_pd(splat(1.0), sv);
    let h = _mm512_mul_pd(splat(0.5), _mm512_mul_pd(v, v)); // σ²/2
    let x = ln8(ratio);
    let inv_vst = _mm512_mul_pd(s, q);
    let d1 = _mm512_mul_pd(_mm512_fmadd_pd(h, t, x), inv_vst);
    let arg = _mm512_fmadd_pd(
        _mm512_mul_pd(splat(-0.5), d1),
        d1,
        _mm512_mul_pd(_mm512_sub_pd(zero, r), t),
    );
    let dpdf = _mm512_mul_pd(exp8(arg), splat(INV_SQRT_2PI)); // D·φ(d₁)
    let g = _mm512_mul_pd(dpdf, q);
    let ok_g = ok
        & normal(ratio)
        & normal(sv)
        & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(g, zero)
        & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(g, inf);
    let gamma = _mm512_mask_blend_pd(ok_g, splat(f64::NAN), g);

    // Delta, vanna, charm. φ(d₁) = 0 (|d₁| beyond ~38.6): every term with it is 0.
    let live = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(dpdf, zero);
    let disc = if ZERO_RATE {
        splat(1.0)
    } else {
        exp8(_mm512_mul_pd(_mm512_sub_pd(zero, r), t))
    };
    let tail = _mm512_maskz_mul_pd(live, dpdf, mills8(_mm512_abs_pd(d1))); // D·N(−|d₁|)
    let up = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(d1, zero);
    // Δ_C = D·N(d₁) is the tail (d₁ < 0) or D minus it; Δ_P = −D·N(−d₁) the
    // negated tail (d₁ ≥ 0) or the negated rest: each from the tail on its small side.
    let size = _mm512_mask_blend_pd(call ^ up, _mm512_sub_pd(disc, tail), tail);
    let delta = _mm512_castsi512_pd(_mm512_mask_xor_epi64(
        _mm512_castpd_si512(size),
        !call,
        _mm512_castpd_si512(size),
        _mm512_set1_epi64(i64::MIN),
    ));
    let d2 = _mm512_mul_pd(_mm512_fnmadd_pd(h, t, x), inv_vst);
    let pd2 = _mm512_maskz_mul_pd(live, dpdf, d2);
    // −1/σ = −√T·(1/(σ√T)); 1/(2T) = (σ²/2)·(1/(σ√T))².
    let vanna = _mm512_mul_pd(pd2, _mm512_fnmadd_pd(sqrt_t, inv_vst, zero));
    let half_inv_t = _mm512_mul_pd(_mm512_mul_pd(h, inv_vst), inv_vst);
    let charm = _mm512_mul_pd(pd2, half_inv_t);
    let charm = if ZERO_RATE {
        charm
    } else {
        _mm512_fmadd_pd(r, delta, charm)
    };
    // One test for all three: a sum of finite numbers is finite or ±inf, never NaN.
    let sum = _mm512_add_pd(_mm512_add_pd(delta, vanna), charm);
    let fast = ok & normal(ratio) & normal(sv) & normal(vst) & finite(r) & finite(sum);
    Greeks8 {
        gamma,
        delta,
        vanna,
        charm,
        careful: !fast,
    }
}

/// Stores `x` at row `i` of `o` when that greek was asked for.
///
/// # Safety
/// `i + 8 <= o.len()` when `o` is `Some`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store(o: &mut Option<&mut [f64]>, i: usize, x: __m512d) {
    if let Some(o) = o.as_deref_mut() {
        // SAFETY: the caller keeps i + 8 within the slice.
        unsafe { _mm512_storeu_pd(o.as_mut_ptr().add(i), x) };
    }
}

/// The fast lanes of every asked-for greek into `out`; bit `i` of `careful` set
/// where delta, vanna and charm of row `i` need the careful scalar path, gamma
/// NaN where it needs the scalar formula. `r` and `calls` hold one value or one
/// per row; `ZERO_RATE` says every r is 0 (then e^{−rT} = 1 is not computed: the
/// same bits as computing it).
///
/// # Safety
/// The CPU must support AVX-512F and FMA; `s`, `k`, `t`, `sigma` and every
/// output hold `n = s.len()` rows (`r` and `calls` one or n); `careful` holds at least ⌈n/64⌉ words, zeroed.
#[target_feature(enable = "avx512f,fma")]
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
    let one_kind = if calls.len() == 1 && calls[0] {
        0xff
    } else {
        0
    };
    let ld = |p: &[f64], o: usize| {
        // SAFETY: callers keep o + LANES <= n <= p.len().
        unsafe { _mm512_loadu_pd(p.as_ptr().add(o)) }
    };
    let rate = |i: usize| if r.len() == 1 { one_rate } else { ld(r, i) };
    let mut i = 0;
    while i + LANES <= n {
        let call = if calls.len() == 1 {
            one_kind
        } else {
            // SAFETY: i + 8 <= n = calls.len(); a bool is one byte, 0 or 1.
            let bytes = unsafe { _mm_loadl_epi64(calls.as_ptr().add(i) as *const __m128i) };
            let wide = _mm512_cvtepu8_epi64(bytes);
            _mm512_test_epi64_mask(wide, wide)
        };
        let g = greeks8::<ZERO_RATE>(ld(s, i), ld(k, i), ld(t, i), ld(sigma, i), rate(i), call);
        // SAFETY: i + 8 <= n, the length of every output.
        unsafe {
            store(&mut out.gamma, i, g.gamma);
            store(&mut out.delta, i, g.delta);
            store(&mut out.vanna, i, g.vanna);
            store(&mut out.charm, i, g.charm);
        }
        careful[i / 64] |= u64::from(g.careful) << (i % 64);
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
            (0..m).fold(0u8, |acc, j| acc | (u8::from(calls[i + j]) << j))
        };
        let l = |b: &[f64; LANES]| {
            // SAFETY: each buffer holds eight lanes.
            unsafe { _mm512_loadu_pd(b.as_ptr()) }
        };
        let g = greeks8::<ZERO_RATE>(
            l(&buf[0]),
            l(&buf[1]),
            l(&buf[2]),
            l(&buf[3]),
            l(&buf[4]),
            call,
        );
        let mut res = [[0.0f64; LANES]; 4];
        for (dst, x) in res.iter_mut().zip([g.gamma, g.delta, g.vanna, g.charm]) {
            // SAFETY: each buffer holds eight lanes.
            unsafe { _mm512_storeu_pd(dst.as_mut_ptr(), x) };
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
        careful[i / 64] |= (u64::from(g.careful) & ((1u64 << m) - 1)) << (i % 64);
    }
}
