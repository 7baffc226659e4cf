//! Black-76 delta, vanna and charm (DESIGN rule 15), with gamma in the same pass.
//!
//! With F the forward (S in the code, as for gamma), x = ln(F/K), h = σ²T/2:
//! d₁ = (x + h)/(σ√T), d₂ = (x − h)/(σ√T) = d₁ − σ√T (computed directly from x,
//! so neither is the difference of two rounded numbers), D = e^{−rT}.
//!
//! - Δ_C = D·N(d₁), Δ_P = D·(N(d₁) − 1) = −D·N(−d₁). N(−|d₁|) is computed as a
//!   tail (see [`upper_tail`]), never as 1 − N(|d₁|), so a deep out-of-the-money
//!   delta keeps its relative accuracy down to the smallest normal double.
//! - Vanna = ∂Δ/∂σ = D·φ(d₁)·∂d₁/∂σ, and ∂d₁/∂σ = −x/(σ²√T) + √T/2 = −d₂/σ, so
//!   vanna = −D·φ(d₁)·d₂/σ, the same for calls and puts (Δ_C − Δ_P = D does not
//!   depend on σ).
//! - Charm = −∂Δ/∂T with F, K, σ, r held. d₁ = x/(σ√T) + σ√T/2 gives
//!   ∂d₁/∂T = −x/(2σT^{3/2}) + σ/(4√T) = −(1/2T)·(x/(σ√T) − σ√T/2) = −d₂/(2T),
//!   and ∂D/∂T = −r·D. For a call, ∂Δ_C/∂T = −r·D·N(d₁) + D·φ(d₁)·(−d₂/(2T)), so
//!   charm_C = D·[φ(d₁)·d₂/(2T) + r·N(d₁)].
//!   For a put, ∂Δ_P/∂T = −r·D·(N(d₁) − 1) − D·φ(d₁)·d₂/(2T), so
//!   charm_P = D·[φ(d₁)·d₂/(2T) + r·(N(d₁) − 1)].
//!   Both are charm = D·φ(d₁)·d₂/(2T) + r·Δ, which is how it is computed; for
//!   r = 0 this is φ(d₁)·d₂/(2T) for calls and puts alike (DESIGN rule 15).
//!   Sign: positive charm means delta rises as time passes (an out-of-the-money
//!   call, d₂ < 0, has negative charm: its delta decays towards 0).
//!
//! Degenerate inputs (T ≤ 0, σ ≤ 0, S ≤ 0, K ≤ 0, any input or r not finite, or
//! σ√T not a normal double) give 0.0 for every greek, as for gamma; so does a
//! result that would overflow (e^{−rT} beyond the double range). A result is
//! never NaN or infinite.

use rayon::prelude::*;

use crate::fastmath::{exp, ln};
use crate::greeks::block_out::GreeksOut;
use crate::greeks::gamma::{black76_gamma, gamma_block, CHUNK, INV_SQRT_2PI};
#[cfg(test)]
use crate::greeks::normal::{mills, MILLS, MILLS_C, MILLS_U};
pub use crate::greeks::normal::{norm_cdf, upper_tail};

/// Gamma, delta, vanna and charm of one option (DESIGN rules 8 and 15).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Greeks {
    pub gamma: f64,
    pub delta: f64,
    pub vanna: f64,
    pub charm: f64,
}

/// (delta, vanna, charm) from x = ln(S/K), for inputs already known to be valid.
/// Non-finite results (overflowing e^{−rT}) come out as 0.0.
#[inline(always)]
fn from_log_moneyness<const FMA: bool>(
    x: f64,
    t: f64,
    sigma: f64,
    r: f64,
    is_call: bool,
) -> (f64, f64, f64) {
    let vst = sigma * t.sqrt();
    let inv_vst = 1.0 / vst;
    let h = 0.5 * sigma * sigma * t;
    let d1 = (x + h) * inv_vst;
    let d2 = (x - h) * inv_vst;
    let pdf = exp::<FMA>(-0.5 * d1 * d1) * INV_SQRT_2PI;
    let disc = exp::<FMA>(-r * t);
    let tail = upper_tail::<FMA>(d1.abs(), pdf); // N(−|d1|)
    combine(d1, d2, pdf, disc, tail, t, sigma, r, is_call)
}

/// (delta, vanna, charm) from d1, d2, φ(d1), e^{−rT} and N(−|d1|); non-finite results give 0.0.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn combine(
    d1: f64,
    d2: f64,
    pdf: f64,
    disc: f64,
    tail: f64,
    t: f64,
    sigma: f64,
    r: f64,
    is_call: bool,
) -> (f64, f64, f64) {
    let up = d1 >= 0.0;
    let n_d1 = if up { 1.0 - tail } else { tail };
    let n_minus_d1 = if up { tail } else { 1.0 - tail };
    let delta = if is_call {
        disc * n_d1
    } else {
        -(disc * n_minus_d1)
    };
    let dpdf = disc * pdf;
    // φ(d1) = 0 (|d1| beyond ~38.6, or d2 infinite with it): both terms vanish.
    let pd2 = if dpdf > 0.0 { dpdf * d2 } else { 0.0 };
    let vanna = -(pd2 / sigma);
    let charm = pd2 / (t + t) + r * delta;
    let fin = |v: f64| if v.abs() < f64::INFINITY { v } else { 0.0 };
    (fin(delta), fin(vanna), fin(charm))
}

/// Whether the inputs are valid (positive and finite; r finite), as a branch-free mask.
// Range::contains short-circuits; the masks here must stay branch-free.
#[allow(clippy::manual_range_contains)]
#[inline(always)]
fn valid(s: f64, k: f64, t: f64, sigma: f64, r: f64) -> bool {
    valid_vst(s, k, t, sigma, r, sigma * t.sqrt())
}

/// [`valid`] with σ√T already computed.
#[allow(clippy::manual_range_contains)]
#[inline(always)]
fn valid_vst(s: f64, k: f64, t: f64, sigma: f64, r: f64, vst: f64) -> bool {
    (s > 0.0)
        & (k > 0.0)
        & (t > 0.0)
        & (sigma > 0.0)
        & (s < f64::INFINITY)
        & (k < f64::INFINITY)
        & (t < f64::INFINITY)
        & (sigma < f64::INFINITY)
        & (r.abs() < f64::INFINITY)
        & (vst >= f64::MIN_POSITIVE)
        & (vst < f64::INFINITY)
}

/// (delta, vanna, charm) of one option by the careful scalar path: the platform `ln`
/// of S/K, or ln S − ln K where S/K under- or overflows (never near the money, where
/// that difference would cancel), so any positive finite S and K work.
pub fn black76_dvc(s: f64, k: f64, t: f64, sigma: f64, r: f64, is_call: bool) -> (f64, f64, f64) {
    if !valid(s, k, t, sigma, r) {
        return (0.0, 0.0, 0.0);
    }
    let ratio = s / k;
    let x = if ratio.is_normal() && ratio.is_finite() {
        ratio.ln()
    } else {
        s.ln() - k.ln()
    };
    from_log_moneyness::<false>(x, t, sigma, r, is_call)
}

/// Black-76 greeks of one option; gamma is [`black76_gamma`] itself.
pub fn black76_greeks(s: f64, k: f64, t: f64, sigma: f64, r: f64, is_call: bool) -> Greeks {
    let (delta, vanna, charm) = black76_dvc(s, k, t, sigma, r, is_call);
    Greeks {
        gamma: black76_gamma(s, k, t, sigma, r),
        delta,
        vanna,
        charm,
    }
}

/// One lane of the block loop: `ln(S/K)` by the branch-free `fastmath::ln`, or NaN
/// in delta when S/K is not a normal double (the block redoes those rows carefully).
/// The block computes exactly this, split into passes (a test compares the bits).
#[cfg(test)]
#[allow(clippy::manual_range_contains)]
#[inline(always)]
fn lane<const FMA: bool>(
    s: f64,
    k: f64,
    t: f64,
    sigma: f64,
    r: f64,
    is_call: bool,
) -> (f64, f64, f64) {
    let ok = valid(s, k, t, sigma, r);
    let ratio = s / k;
    let normal = (ratio >= f64::MIN_POSITIVE) & (ratio < f64::INFINITY);
    let (d, v, c) = from_log_moneyness::<FMA>(ln::<FMA>(ratio), t, sigma, r, is_call);
    if ok & normal {
        (d, v, c)
    } else if ok {
        (f64::NAN, 0.0, 0.0)
    } else {
        (0.0, 0.0, 0.0)
    }
}

/// Rows per inner block: the block's three result arrays stay in L1.
const SUB: usize = 512;

/// Delta, vanna and charm of up to [`SUB`] rows into `d`, `v`, `c` (`r` and `call`,
/// 1.0 for a call and 0.0 for a put, per row).
///
/// The operations of [`lane`], row by row in the same order (so the same bits), but
/// split into passes that each stay simple enough for LLVM to vectorise: at most one
/// of `ln`/`exp` per loop, the Chebyshev sum alone, and no byte loads (the kind is a
/// float). Scratch lives in `d`, `v`, `c` and three stack arrays, all in L1.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
#[allow(clippy::needless_range_loop)] // indexing several equal-length slices in lockstep
#[allow(clippy::manual_range_contains)] // Range::contains short-circuits; masks stay branch-free
fn sub_block<const FMA: bool>(
    d: &mut [f64],
    v: &mut [f64],
    c: &mut [f64],
    s: &[f64],
    k: &[f64],
    t: &[f64],
    sigma: &[f64],
    r: &[f64],
    call: &[f64],
    zero_rate: bool,
) {
    let n = d.len();
    let (v, c, s, k, t, sigma, r, call) = (
        &mut v[..n],
        &mut c[..n],
        &s[..n],
        &k[..n],
        &t[..n],
        &sigma[..n],
        &r[..n],
        &call[..n],
    );
    let (mut pdf, mut disc, mut flag) = ([0.0f64; SUB], [0.0f64; SUB], [0.0f64; SUB]);
    let (pdf, disc, flag) = (&mut pdf[..n], &mut disc[..n], &mut flag[..n]);
    // 1: x = ln(S/K) into d, NaN where S/K is not a normal double.
    for i in 0..n {
        let ratio = s[i] / k[i];
        let normal = (ratio >= f64::MIN_POSITIVE) & (ratio < f64::INFINITY);
        let x = ln::<FMA>(ratio);
        d[i] = if normal { x } else { f64::NAN };
    }
    // 2: d1 into v, d2 into c, φ(d1); flag 1 (fast lane), NaN (careful path), 0 (degenerate).
    for i in 0..n {
        let (x, vst) = (d[i], sigma[i] * t[i].sqrt());
        let inv_vst = 1.0 / vst;
        let h = 0.5 * sigma[i] * sigma[i] * t[i];
        let d1 = (x + h) * inv_vst;
        v[i] = d1;
        c[i] = (x - h) * inv_vst;
        pdf[i] = exp::<FMA>(-0.5 * d1 * d1) * INV_SQRT_2PI;
        let ok = valid_vst(s[i], k[i], t[i], sigma[i], r[i], vst);
        flag[i] = if !ok {
            0.0
        } else if !x.is_nan() {
            1.0
        } else {
            f64::NAN
        };
    }
    // 3: e^{−rT} (exactly 1.0 for r = 0, whatever T: skipped then).
    if zero_rate {
        disc.fill(1.0);
    } else {
        for i in 0..n {
            disc[i] = exp::<FMA>(-r[i] * t[i]);
        }
    }
    // 4: N(−|d1|) into d.
    for i in 0..n {
        d[i] = upper_tail::<FMA>(v[i].abs(), pdf[i]);
    }
    // 5: the greeks, masked as in `lane`.
    for i in 0..n {
        let (dv, vv, cv) = combine(
            v[i],
            c[i],
            pdf[i],
            disc[i],
            d[i],
            t[i],
            sigma[i],
            r[i],
            call[i] > 0.5,
        );
        let f = flag[i];
        d[i] = if f == 1.0 { dv } else { f * 0.0 }; // NaN stays NaN: the careful path
        v[i] = if f == 1.0 { vv } else { 0.0 };
        c[i] = if f == 1.0 { cv } else { 0.0 };
    }
}

macro_rules! sub_block_for {
    ($name:ident, $features:literal) => {
        /// [`sub_block`] with FMA, compiled for these instructions (LLVM picks the width).
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        fn $name(
            d: &mut [f64],
            v: &mut [f64],
            c: &mut [f64],
            s: &[f64],
            k: &[f64],
            t: &[f64],
            sigma: &[f64],
            r: &[f64],
            call: &[f64],
            zero_rate: bool,
        ) {
            sub_block::<true>(d, v, c, s, k, t, sigma, r, call, zero_rate)
        }
    };
}
sub_block_for!(sub_block_avx2, "avx2,fma");
sub_block_for!(sub_block_avx512, "avx512f,avx2,fma");

/// The widest [`sub_block`] this CPU runs; every choice gives the same bits (all use FMA
/// except the portable one, chosen only where there is no FMA).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        let fma = std::arch::is_x86_feature_detected!("fma");
        if fma && std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if fma && std::arch::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

#[allow(clippy::too_many_arguments)]
fn run_sub_block(
    isa: Isa,
    d: &mut [f64],
    v: &mut [f64],
    c: &mut [f64],
    s: &[f64],
    k: &[f64],
    t: &[f64],
    sigma: &[f64],
    r: &[f64],
    call: &[f64],
    zero_rate: bool,
) {
    match isa {
        Isa::Portable => sub_block::<false>(d, v, c, s, k, t, sigma, r, call, zero_rate),
        // SAFETY: `isa()` saw these features on this CPU.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { sub_block_avx2(d, v, c, s, k, t, sigma, r, call, zero_rate) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { sub_block_avx512(d, v, c, s, k, t, sigma, r, call, zero_rate) },
    }
}

/// The asked-for greeks of one block on this thread. `r` and `is_call` hold one
/// value (for every row) or one per row. Gamma is bit for bit what `gamma_into`
/// gives (with a rate per row, [`black76_gamma`] per row).
///
/// On a CPU with AVX-512F or AVX2+FMA: one vector pass for all four ([`fused_block`]).
/// Elsewhere: [`gamma_block`], then the auto-vectorised passes of [`sub_block`]
/// (kept compiled for AVX2 and AVX-512 too, where a test checks them bit for bit
/// against the one-lane formula).
#[allow(clippy::too_many_arguments)]
pub fn greeks_block(
    out: GreeksOut<'_>,
    s: &[f64],
    k: &[f64],
    t: &[f64],
    sigma: &[f64],
    r: &[f64],
    is_call: &[bool],
) {
    let isa = isa();
    if isa != Isa::Portable {
        fused_block(isa, out, s, k, t, sigma, r, is_call);
        return;
    }
    let n = s.len();
    let GreeksOut {
        gamma,
        delta,
        vanna,
        charm,
    } = out;
    if let Some(g) = gamma {
        if r.len() == 1 {
            gamma_block(g, s, k, t, sigma, r[0]);
        } else {
            for i in 0..n {
                g[i] = black76_gamma(s[i], k[i], t[i], sigma[i], r[i]);
            }
        }
    }
    if delta.is_none() && vanna.is_none() && charm.is_none() {
        return;
    }
    // Every row's rate 0 (the default): e^{−rT} is 1.0, no need to compute it.
    let zero_rate = r.iter().all(|&x| x == 0.0);
    let (mut d, mut v, mut c) = ([0.0f64; SUB], [0.0f64; SUB], [0.0f64; SUB]);
    let (mut rb, mut kb) = ([0.0f64; SUB], [0.0f64; SUB]);
    let (mut delta, mut vanna, mut charm) = (delta, vanna, charm);
    let mut lo = 0;
    while lo < n {
        let hi = (lo + SUB).min(n);
        let m = hi - lo;
        // One rate and one kind per row, whatever the caller gave.
        if r.len() == 1 {
            rb[..m].fill(r[0]);
        } else {
            rb[..m].copy_from_slice(&r[lo..hi]);
        }
        let as_f64 = |call: bool| if call { 1.0 } else { 0.0 };
        if is_call.len() == 1 {
            kb[..m].fill(as_f64(is_call[0]));
        } else {
            for (dst, &call) in kb[..m].iter_mut().zip(&is_call[lo..hi]) {
                *dst = as_f64(call);
            }
        }
        run_sub_block(
            isa,
            &mut d[..m],
            &mut v[..m],
            &mut c[..m],
            &s[lo..hi],
            &k[lo..hi],
            &t[lo..hi],
            &sigma[lo..hi],
            &rb[..m],
            &kb[..m],
            zero_rate,
        );
        // NaN marks rows whose S/K is not a normal double: the careful path.
        if d[..m].iter().fold(false, |any, x| any | x.is_nan()) {
            for j in 0..m {
                if d[j].is_nan() {
                    let i = lo + j;
                    (d[j], v[j], c[j]) =
                        black76_dvc(s[i], k[i], t[i], sigma[i], rb[j], kb[j] > 0.5);
                }
            }
        }
        for (dst, src) in [(&mut delta, &d), (&mut vanna, &v), (&mut charm, &c)] {
            if let Some(o) = dst.as_deref_mut() {
                o[lo..hi].copy_from_slice(&src[..m]);
            }
        }
        lo = hi;
    }
}

/// Rows per sub-block of [`fused_block`]: its bit set of careful rows is 64 words.
const FUSED: usize = 4096;

/// [`greeks_block`] on a CPU with a vector kernel: every asked-for greek in one
/// pass (`first_order_avx512`, `first_order_avx2`), then the rows the kernel flags
/// redone by the scalar paths: gamma by [`black76_gamma`] (as `gamma_block` does,
/// so gamma is bit for bit `gamma_into`'s), delta, vanna and charm by
/// [`black76_dvc`]. With a rate per row, gamma is [`black76_gamma`] on every row,
/// as `fg.black76_gamma` computes it then; delta, vanna and charm do not depend on
/// whether one rate was given or the same rate per row.
#[allow(clippy::too_many_arguments)]
fn fused_block(
    isa: Isa,
    mut out: GreeksOut<'_>,
    s: &[f64],
    k: &[f64],
    t: &[f64],
    sigma: &[f64],
    r: &[f64],
    is_call: &[bool],
) {
    let n = s.len();
    if r.len() == 1 && !r[0].is_finite() {
        // Every greek is 0.0 (gamma_block says the same for gamma).
        for o in [
            &mut out.gamma,
            &mut out.delta,
            &mut out.vanna,
            &mut out.charm,
        ]
        .into_iter()
        .flatten()
        {
            o.fill(0.0);
        }
        return;
    }
    let one = |v: &[f64], i: usize| v[if v.len() == 1 { 0 } else { i }];
    let kind = |i: usize| is_call[if is_call.len() == 1 { 0 } else { i }];
    let mut lo = 0;
    while lo < n {
        let hi = (lo + FUSED).min(n);
        let mut careful = [0u64; FUSED / 64];
        let calls = if is_call.len() == 1 {
            is_call
        } else {
            &is_call[lo..hi]
        };
        let rates = if r.len() == 1 { r } else { &r[lo..hi] };
        let mut part = GreeksOut {
            gamma: out.gamma.as_deref_mut().map(|o| &mut o[lo..hi]),
            delta: out.delta.as_deref_mut().map(|o| &mut o[lo..hi]),
            vanna: out.vanna.as_deref_mut().map(|o| &mut o[lo..hi]),
            charm: out.charm.as_deref_mut().map(|o| &mut o[lo..hi]),
        };
        let (sb, kb, tb, vb) = (&s[lo..hi], &k[lo..hi], &t[lo..hi], &sigma[lo..hi]);
        run_fused(isa, &mut part, &mut careful, sb, kb, tb, vb, rates, calls);
        if let Some(g) = part.gamma.as_deref_mut() {
            if rates.len() > 1 {
                for (j, x) in g.iter_mut().enumerate() {
                    *x = black76_gamma(sb[j], kb[j], tb[j], vb[j], rates[j]);
                }
            } else if g.iter().fold(false, |any, x| any | x.is_nan()) {
                // NaN lanes are rare: a vectorised scan first, as in gamma_block.
                for (j, x) in g.iter_mut().enumerate() {
                    if x.is_nan() {
                        *x = black76_gamma(sb[j], kb[j], tb[j], vb[j], rates[0]);
                    }
                }
            }
        }
        for (w, &bits) in careful.iter().enumerate() {
            let mut b = bits;
            while b != 0 {
                let j = w * 64 + b.trailing_zeros() as usize;
                b &= b - 1;
                let dvc = black76_dvc(sb[j], kb[j], tb[j], vb[j], one(rates, j), kind(lo + j));
                for (o, x) in [&mut part.delta, &mut part.vanna, &mut part.charm]
                    .into_iter()
                    .zip([dvc.0, dvc.1, dvc.2])
                {
                    if let Some(o) = o.as_deref_mut() {
                        o[j] = x;
                    }
                }
            }
        }
        lo = hi;
    }
}

/// The vector kernel of `isa` over one sub-block (not [`Isa::Portable`]).
#[allow(clippy::too_many_arguments)]
fn run_fused(
    isa: Isa,
    out: &mut GreeksOut<'_>,
    careful: &mut [u64],
    s: &[f64],
    k: &[f64],
    t: &[f64],
    sigma: &[f64],
    r: &[f64],
    calls: &[bool],
) {
    use crate::greeks::{first_order_avx2 as v4, first_order_avx512 as v8};
    let zero = r.iter().all(|&x| x == 0.0);
    // SAFETY: `isa()` saw these features on this CPU; every slice holds s.len()
    // rows (r and calls one or s.len()), `careful` ⌈s.len()/64⌉ zeroed words.
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if zero => unsafe {
            v8::greeks_lanes::<true>(out, careful, s, k, t, sigma, r, calls)
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { v8::greeks_lanes::<false>(out, careful, s, k, t, sigma, r, calls) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if zero => unsafe {
            v4::greeks_lanes::<true>(out, careful, s, k, t, sigma, r, calls)
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { v4::greeks_lanes::<false>(out, careful, s, k, t, sigma, r, calls) },
        Isa::Portable => unreachable!("run_fused: no vector kernel"),
    }
}

/// The asked-for greeks of every row, in parallel on the current rayon pool, in
/// one pass that shares d₁ between delta, vanna and charm. `r` and `is_call` hold
/// one value or one per row. Every row is computed by the same code whatever the
/// chunking, so results do not depend on the number of threads; gamma equals
/// [`crate::greeks::gamma_into`] bit for bit.
pub fn greeks_into(
    out: GreeksOut<'_>,
    s: &[f64],
    k: &[f64],
    t: &[f64],
    sigma: &[f64],
    r: &[f64],
    is_call: &[bool],
) {
    let n = s.len();
    let lens_ok = [k.len(), t.len(), sigma.len()].iter().all(|&l| l == n)
        && (r.len() == 1 || r.len() == n)
        && (is_call.len() == 1 || is_call.len() == n)
        && [&out.gamma, &out.delta, &out.vanna, &out.charm]
            .into_iter()
            .flatten()
            .all(|o| o.len() == n);
    assert!(lens_ok, "greeks_into: length mismatch");
    if out.rows().is_none() || n == 0 {
        return;
    }
    let chunks = n.div_ceil(CHUNK);
    let (g, d, v, c) = (
        split(out.gamma, chunks),
        split(out.delta, chunks),
        split(out.vanna, chunks),
        split(out.charm, chunks),
    );
    g.into_par_iter().zip(d).zip(v).zip(c).enumerate().for_each(
        |(ci, (((gamma, delta), vanna), charm))| {
            let lo = ci * CHUNK;
            let hi = (lo + CHUNK).min(n);
            let (rl, rh) = if r.len() == 1 { (0, 1) } else { (lo, hi) };
            let (kl, kh) = if is_call.len() == 1 { (0, 1) } else { (lo, hi) };
            greeks_block(
                GreeksOut {
                    gamma,
                    delta,
                    vanna,
                    charm,
                },
                &s[lo..hi],
                &k[lo..hi],
                &t[lo..hi],
                &sigma[lo..hi],
                &r[rl..rh],
                &is_call[kl..kh],
            );
        },
    );
}

/// One output split into `chunks` pieces of [`CHUNK`] rows (or `chunks` `None`s).
fn split(o: Option<&mut [f64]>, chunks: usize) -> Vec<Option<&mut [f64]>> {
    match o {
        Some(o) => o.chunks_mut(CHUNK).map(Some).collect(),
        None => (0..chunks).map(|_| None).collect(),
    }
}

#[cfg(test)]
#[path = "first_order_tests.rs"]
mod tests;
