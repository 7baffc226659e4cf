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

use crate::fastmath::{exp, ln, madd};
use crate::greeks::gamma::{black76_gamma, gamma_block, CHUNK, INV_SQRT_2PI};

/// The centre c of the map t = (z − c)/(z + c) that takes z ∈ [0, ∞) to t ∈ [−1, 1).
pub(crate) const MILLS_C: f64 = 5.0;

/// u = α·t + β maps t ∈ [−1, t_max] (z ∈ [0, 38.7], t_max = 33.7/43.7) onto [−1, 1]:
/// beyond z = 38.7, φ(z) is 0 in double precision and so is every tail it multiplies.
pub(crate) const MILLS_U: (f64, f64) = (1.1291989664082687, 0.12919896640826872);

/// Chebyshev coefficients (in u) of (z + c)·R(z), R(z) = Φ(−z)/φ(z) the Mills ratio,
/// so that Φ(−z) = φ(z)·Σ a_j T_j(u)/(z + c) for 0 ≤ z ≤ 38.7. R is smooth in t
/// (R(z) ~ 1/z as z → ∞), so the series converges fast: computed with mpmath at 40
/// digits from 100 Chebyshev nodes, truncated after 22 terms (the rest sum to 3e-17).
/// (The fit itself: [`MILLS_POWER`] is what is evaluated; a test checks the two agree.)
#[allow(clippy::excessive_precision)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const MILLS: [f64; 22] = [
    2.871842320674197,
    -2.351689376621162,
    0.7797633720490993,
    -0.21000264891266,
    0.04513050664062501,
    -0.007352815769637602,
    0.0007822376608564563,
    -1.868072094751482e-05,
    -9.881791420556679e-06,
    1.4665626278635553e-06,
    4.2470680483386795e-08,
    -3.287414992523862e-08,
    1.2518060777237056e-09,
    6.752228779287456e-10,
    -5.550058160261033e-11,
    -1.523179247412956e-11,
    1.6510720659267663e-12,
    4.0090783468614e-13,
    -4.311380512296002e-14,
    -1.2164856204235532e-14,
    9.625622672632435e-16,
    4.0211729867811264e-16,
];

/// [`MILLS`] in powers of u: Σ p_i u^i = Σ a_j T_j(u), converted in mpmath (40 digits)
/// and rounded to doubles. Evaluated by Estrin's scheme (depth 5, one fused
/// multiply-add per coefficient), so the vector kernels overlap it with the rest. The
/// monomial form is well conditioned here: Σ|p_i||u|^i is at most 5.6 times the sum
/// on [−1, 1]; the evaluation is within 1e-15 relative of Φ(−z)/φ(z) (an mpmath table
/// in the tests below, and the Chebyshev form).
#[allow(clippy::excessive_precision)]
pub(crate) const MILLS_POWER: [f64; 22] = [
    2.136417294651767,
    -1.7583011739920082,
    1.212881213940488,
    -0.6941838751118353,
    0.32189971367711123,
    -0.1148766923518108,
    0.027603864792601775,
    -0.0021400907947979066,
    -0.0013089375883904705,
    0.00048042680970562167,
    1.1537891242794875e-05,
    -4.426081105793607e-05,
    4.559371636268634e-06,
    3.934943852962897e-06,
    -7.250587497500573e-07,
    -3.9778876580133773e-07,
    8.489389731265899e-08,
    4.640212726689159e-08,
    -8.174311894971173e-09,
    -5.402609444841297e-09,
    5.046598459789114e-10,
    4.2165054857870064e-10,
];

/// Σ [`MILLS_POWER`]_i u^i/(z + c), u = α·(z − c)/(z + c) + β: Φ(−z)/φ(z) for
/// 0 ≤ z ≤ 38.7 (finite, and multiplied by φ(z) = 0, beyond), by Estrin's scheme with
/// `madd` (the vector kernels do these operations in this order).
#[inline(always)]
pub fn mills<const FMA: bool>(z: f64) -> f64 {
    let p = &MILLS_POWER;
    let inv = 1.0 / (z + MILLS_C);
    let u = madd::<FMA>(MILLS_U.0, (z - MILLS_C) * inv, MILLS_U.1);
    let u2 = u * u;
    let u4 = u2 * u2;
    let u8 = u4 * u4;
    let u16 = u8 * u8;
    let q = |i: usize| madd::<FMA>(p[2 * i + 1], u, p[2 * i]);
    let r = |i: usize| madd::<FMA>(q(2 * i + 1), u2, q(2 * i));
    let s0 = madd::<FMA>(r(1), u4, r(0));
    let s1 = madd::<FMA>(r(3), u4, r(2));
    let s2 = madd::<FMA>(q(10), u4, r(4)); // p16..p21: the last group has six
    madd::<FMA>(s2, u16, madd::<FMA>(s1, u8, s0)) * inv
}

/// Φ(−z)·(pdf/φ(z)) for z ≥ 0 (z = +∞ gives 0), given pdf = φ(z) times any factor:
/// [`mills`] times pdf. Branch-free, so the caller's loop can vectorise.
#[inline(always)]
pub fn upper_tail<const FMA: bool>(z: f64, pdf: f64) -> f64 {
    let q = pdf * mills::<FMA>(z);
    if z < f64::INFINITY {
        q
    } else {
        0.0
    }
}

/// Standard normal distribution function Φ(x), accurate to a few ulps
/// (relative, in both tails while the value is a normal double).
pub fn norm_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let z = x.abs();
    let tail = upper_tail::<false>(z, (-0.5 * z * z).exp() * INV_SQRT_2PI);
    if x >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

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

/// Where a block writes: each greek that was asked for, else `None`.
#[derive(Default)]
pub struct GreeksOut<'a> {
    pub gamma: Option<&'a mut [f64]>,
    pub delta: Option<&'a mut [f64]>,
    pub vanna: Option<&'a mut [f64]>,
    pub charm: Option<&'a mut [f64]>,
}

impl GreeksOut<'_> {
    fn rows(&self) -> Option<usize> {
        [&self.gamma, &self.delta, &self.vanna, &self.charm]
            .into_iter()
            .flatten()
            .map(|o| o.len())
            .next()
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
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs() || (a - b).abs() < 1e-300
    }

    /// The passes of `sub_block` are `lane`'s operations in the same order: same bits.
    #[test]
    fn passes_equal_the_one_lane_formula_bit_for_bit() {
        let n = SUB;
        let s: Vec<f64> = (0..n)
            .map(|i| 1e-3 * 1.05f64.powi(i as i32 % 300))
            .collect();
        let k: Vec<f64> = (0..n).map(|i| 0.5 * 1.07f64.powi(i as i32 % 211)).collect();
        let t: Vec<f64> = (0..n)
            .map(|i| {
                if i % 97 == 0 {
                    0.0
                } else {
                    1e-5 + (i % 37) as f64 * 0.4
                }
            })
            .collect();
        let v: Vec<f64> = (0..n)
            .map(|i| {
                if i % 89 == 0 {
                    f64::NAN
                } else {
                    0.01 + (i % 23) as f64 * 0.2
                }
            })
            .collect();
        let r: Vec<f64> = (0..n).map(|i| (i % 5) as f64 * 0.03 - 0.05).collect();
        let calls: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let kinds: Vec<f64> = calls.iter().map(|&c| if c { 1.0 } else { 0.0 }).collect();
        let (mut d, mut va, mut c) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let zeros = vec![0.0; n];
        let mut check = |isa: Isa, fma: bool, r: &[f64], zero_rate: bool| {
            run_sub_block(
                isa, &mut d, &mut va, &mut c, &s, &k, &t, &v, r, &kinds, zero_rate,
            );
            for i in 0..n {
                let want = if fma {
                    lane::<true>(s[i], k[i], t[i], v[i], r[i], calls[i])
                } else {
                    lane::<false>(s[i], k[i], t[i], v[i], r[i], calls[i])
                };
                let got = (d[i], va[i], c[i]);
                assert_eq!(got.0.to_bits(), want.0.to_bits(), "{isa:?} delta row {i}");
                assert_eq!(got.1.to_bits(), want.1.to_bits(), "{isa:?} vanna row {i}");
                assert_eq!(got.2.to_bits(), want.2.to_bits(), "{isa:?} charm row {i}");
            }
        };
        for (rates, zero) in [(&r, false), (&zeros, true)] {
            check(Isa::Portable, false, rates, zero);
        }
        #[cfg(target_arch = "x86_64")]
        {
            let fma = std::arch::is_x86_feature_detected!("fma");
            if fma && std::arch::is_x86_feature_detected!("avx2") {
                check(Isa::Avx2, true, &r, false);
                check(Isa::Avx2, true, &zeros, true);
            }
            if fma && std::arch::is_x86_feature_detected!("avx512f") {
                check(Isa::Avx512, true, &r, false);
                check(Isa::Avx512, true, &zeros, true);
            }
        }
    }

    /// (z, Φ(−z)/φ(z)) by mpmath at 40 digits (mp.ncdf(−z)/mp.npdf(z)), rounded to doubles.
    #[allow(clippy::excessive_precision)]
    const MILLS_TABLE: [(f64, f64); 74] = [
        (0.0, 1.2533141373155002512),
        (0.5952380952380952, 0.82544411508866995682),
        (1.1904761904761905, 0.59533704725957591192),
        (1.7857142857142858, 0.45769769257252024965),
        (2.380952380952381, 0.36837826611635930662),
        (2.9761904761904763, 0.30665646228416883079),
        (3.5714285714285716, 0.2618615186027185098),
        (4.166666666666667, 0.22806390843105513745),
        (4.761904761904762, 0.20175476975895730341),
        (5.357142857142857, 0.18074608596091860834),
        (5.9523809523809526, 0.16361219705839154638),
        (6.5476190476190474, 0.14938897829036815759),
        (7.142857142857143, 0.13740338805319740268),
        (7.738095238095238, 0.1271725617770243064),
        (8.333333333333334, 0.11834175579423146789),
        (8.928571428571429, 0.11064488844065636537),
        (9.523809523809524, 0.10387870124143113655),
        (10.119047619047619, 0.097885392405118682171),
        (10.714285714285714, 0.092540670611802553576),
        (11.30952380952381, 0.087745364809973946815),
        (11.904761904761905, 0.083419420295850025156),
        (12.5, 0.079497529161117212313),
        (13.095238095238095, 0.075925901049571993632),
        (13.69047619047619, 0.072659843046899819444),
        (14.285714285714286, 0.069661922628294963658),
        (14.880952380952381, 0.066900556735976209525),
        (15.476190476190476, 0.064348916371540714799),
        (16.071428571428573, 0.06198406762163233376),
        (16.666666666666668, 0.059786291834771109139),
        (17.261904761904763, 0.057738542950934058293),
        (17.857142857142858, 0.055826010842084249158),
        (18.452380952380953, 0.054035767328138936176),
        (19.047619047619047, 0.052356477209989340406),
        (19.642857142857142, 0.050778160833946457834),
        (20.238095238095237, 0.049291997799693534439),
        (20.833333333333332, 0.047890163745029918077),
        (21.428571428571427, 0.046565693895384332385),
        (22.023809523809526, 0.045312368403541926821),
        (22.61904761904762, 0.04412461553246710515),
        (23.214285714285715, 0.042997429529223978056),
        (23.80952380952381, 0.041926300657641442656),
        (24.404761904761905, 0.040907155343471879776),
        (25.0, 0.039936304769535592529),
        (25.595238095238095, 0.039010400563094348969),
        (26.19047619047619, 0.038126396461095400912),
        (26.785714285714285, 0.037281515034378245188),
        (27.38095238095238, 0.03647321870969695353),
        (27.976190476190474, 0.035699184456377782787),
        (28.571428571428573, 0.034957281608721158342),
        (29.166666666666668, 0.034245552380633401019),
        (29.761904761904763, 0.033562194699168312528),
        (30.357142857142858, 0.032905547041610607213),
        (30.952380952380953, 0.03227407500876684274),
        (31.547619047619047, 0.03166635940709448458),
        (32.142857142857146, 0.031081085645672745238),
        (32.73809523809524, 0.030517034281985323266),
        (33.333333333333336, 0.029973072574000136299),
        (33.92857142857143, 0.029448146915867816543),
        (34.523809523809526, 0.028941276051346610801),
        (35.11904761904762, 0.028451544973308934453),
        (35.714285714285715, 0.027978099429813038943),
        (36.30952380952381, 0.027520140967576512475),
        (36.904761904761905, 0.027076922452550423242),
        (37.5, 0.026647744014898550332),
        (0.1, 1.1592623996187363238),
        (0.25, 1.0378245758537268123),
        (0.5, 0.87636445645369234673),
        (1.0, 0.65567954241879847154),
        (1.5, 0.51581563821796335503),
        (2.5, 0.35426511132979366678),
        (3.0, 0.30459029871010329573),
        (5.0, 0.19280810471531576488),
        (7.5, 0.13107935580449176349),
        (12.0, 0.082766286501369177252),
    ];

    /// The Mills ratio as the kernels evaluate it, against mpmath: within 1e-15
    /// relative (the measured worst case is printed).
    #[test]
    fn mills_ratio_matches_mpmath() {
        let (mut worst_fma, mut worst_plain) = (0.0f64, 0.0f64);
        for &(z, want) in &MILLS_TABLE {
            worst_fma = worst_fma.max(((mills::<true>(z) - want) / want).abs());
            worst_plain = worst_plain.max(((mills::<false>(z) - want) / want).abs());
        }
        eprintln!("Mills ratio vs mpmath, max relative error: {worst_fma:.2e} (FMA), {worst_plain:.2e} (no FMA)");
        assert!(
            worst_fma < 1e-15 && worst_plain < 1e-15,
            "{worst_fma} {worst_plain}"
        );
    }

    /// The power form evaluated (Estrin) against the Chebyshev fit (Clenshaw), on a
    /// grid of z over the whole fitted range: the conversion lost nothing.
    #[test]
    fn power_form_equals_the_chebyshev_fit() {
        let clenshaw = |z: f64| {
            let inv = 1.0 / (z + MILLS_C);
            let t = MILLS_U.0 * ((z - MILLS_C) * inv) + MILLS_U.1;
            let (mut b1, mut b2) = (0.0f64, 0.0f64);
            for j in (1..MILLS.len()).rev() {
                let b0 = 2.0 * t * b1 + (MILLS[j] - b2);
                b2 = b1;
                b1 = b0;
            }
            (t * b1 + (MILLS[0] - b2)) * inv
        };
        let mut worst = 0.0f64;
        for i in 0..=40_000 {
            let z = i as f64 * 38.6 / 40_000.0;
            let (a, b) = (mills::<true>(z), clenshaw(z));
            worst = worst.max(((mills::<false>(z) - b) / b).abs());
            worst = worst.max(((a - b) / b).abs());
        }
        // Both sides round (Clenshaw's recurrence a little more): each is also checked
        // against mpmath by mills_ratio_matches_mpmath.
        assert!(worst < 2e-15, "{worst}");
    }

    /// Random rows with every kind of degenerate and extreme input mixed in.
    #[cfg(target_arch = "x86_64")]
    fn hostile_rows(n: usize) -> [Vec<f64>; 4] {
        let mut state = 0x9e37_79b9_7f4a_7c15u64; // splitmix64
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut draw = |lo: f64, hi: f64| -> Vec<f64> {
            (0..n)
                .map(|_| match (next() * 60.0) as u32 {
                    0 => 0.0,
                    1 => f64::NAN,
                    2 => 1e-300,
                    3 => f64::INFINITY,
                    4 => 1e300,
                    5 => 5e-324,
                    6 => -1.0,
                    _ => lo * (hi / lo).powf(next()),
                })
                .collect()
        };
        [
            draw(1e-3, 1e7),
            draw(1e-3, 1e7),
            draw(1e-6, 30.0),
            draw(1e-4, 10.0),
        ]
    }

    /// The one-pass vector kernels: their gamma is `gamma_into`'s bit for bit (one
    /// rate), the AVX2 and AVX-512 kernels give the same bits for every greek, and
    /// skipping e^{−rT} for r = 0 changes no bit (so per-block choices cannot make
    /// results depend on chunking).
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[allow(clippy::needless_range_loop)] // rows of several outputs in lockstep
    fn vector_kernels_keep_gamma_and_agree_with_each_other() {
        use crate::greeks::gamma::gamma_into;
        let fma = std::arch::is_x86_feature_detected!("fma");
        let mut isas = Vec::new();
        if fma && std::arch::is_x86_feature_detected!("avx2") {
            isas.push(Isa::Avx2);
        }
        if fma && std::arch::is_x86_feature_detected!("avx512f") {
            isas.push(Isa::Avx512);
        }
        let n = 2 * FUSED + 13; // two sub-blocks and a padded tail
        let [s, k, t, v] = hostile_rows(n);
        let calls: Vec<bool> = (0..n).map(|i| i % 3 != 1).collect();
        for r in [0.0, 0.03, -0.02, f64::NAN] {
            let mut want = vec![0.0; n];
            gamma_into(&mut want, &s, &k, &t, &v, r);
            let mut first: Option<Vec<Vec<f64>>> = None;
            for &isa in &isas {
                let mut o = vec![vec![f64::NAN; n]; 4];
                {
                    let [g, d, va, c] = &mut o[..] else {
                        unreachable!()
                    };
                    let out = GreeksOut {
                        gamma: Some(g),
                        delta: Some(d),
                        vanna: Some(va),
                        charm: Some(c),
                    };
                    fused_block(isa, out, &s, &k, &t, &v, &[r], &calls);
                }
                for i in 0..n {
                    assert_eq!(
                        o[0][i].to_bits(),
                        want[i].to_bits(),
                        "{isa:?} r={r} row {i}"
                    );
                    for g in 1..4 {
                        assert!(o[g][i].is_finite(), "{isa:?} r={r} greek {g} row {i}");
                    }
                }
                match &first {
                    None => first = Some(o),
                    Some(f) => {
                        for g in 1..4 {
                            for i in 0..n {
                                assert_eq!(
                                    o[g][i].to_bits(),
                                    f[g][i].to_bits(),
                                    "greek {g} row {i}"
                                );
                            }
                        }
                    }
                }
            }
        }
        // r = 0 with and without e^{−rT}: the same bits, careful rows included.
        let m = FUSED.min(n);
        for &isa in &isas {
            let run = |zero: bool| {
                let mut o = vec![vec![0.0; m]; 4];
                let mut careful = [0u64; FUSED / 64];
                {
                    let [g, d, va, c] = &mut o[..] else {
                        unreachable!()
                    };
                    let mut out = GreeksOut {
                        gamma: Some(g),
                        delta: Some(d),
                        vanna: Some(va),
                        charm: Some(c),
                    };
                    let (sb, kb, tb, vb, cb) = (&s[..m], &k[..m], &t[..m], &v[..m], &calls[..m]);
                    use crate::greeks::{first_order_avx2 as v4, first_order_avx512 as v8};
                    // SAFETY: isa was detected above; every slice holds m rows.
                    unsafe {
                        match (isa, zero) {
                            (Isa::Avx512, true) => v8::greeks_lanes::<true>(
                                &mut out,
                                &mut careful,
                                sb,
                                kb,
                                tb,
                                vb,
                                &[0.0],
                                cb,
                            ),
                            (Isa::Avx512, false) => v8::greeks_lanes::<false>(
                                &mut out,
                                &mut careful,
                                sb,
                                kb,
                                tb,
                                vb,
                                &[0.0],
                                cb,
                            ),
                            (_, true) => v4::greeks_lanes::<true>(
                                &mut out,
                                &mut careful,
                                sb,
                                kb,
                                tb,
                                vb,
                                &[0.0],
                                cb,
                            ),
                            (_, false) => v4::greeks_lanes::<false>(
                                &mut out,
                                &mut careful,
                                sb,
                                kb,
                                tb,
                                vb,
                                &[0.0],
                                cb,
                            ),
                        }
                    }
                }
                (o, careful)
            };
            let (a, ca) = run(true);
            let (b, cb) = run(false);
            assert_eq!(ca, cb, "{isa:?}: careful rows");
            for g in 0..4 {
                // Careful rows hold scratch until the scalar path fills them.
                for i in (0..m).filter(|&i| g == 0 || ca[i / 64] >> (i % 64) & 1 == 0) {
                    assert_eq!(
                        a[g][i].to_bits(),
                        b[g][i].to_bits(),
                        "{isa:?} greek {g} row {i}"
                    );
                }
            }
            assert!(ca.iter().any(|&w| w != 0), "no careful row in the sample");
        }
    }

    #[test]
    fn norm_cdf_known_values() {
        // Φ(1) and Φ(−5), Φ(−20) to 17 digits (Abramowitz & Stegun 26.2; mpmath.ncdf).
        assert!(close(norm_cdf(1.0), 0.841_344_746_068_542_9, 2e-16));
        assert!(close(norm_cdf(-5.0), 2.866_515_718_791_939e-7, 5e-16));
        assert!(close(norm_cdf(-20.0), 2.753_624_118_606_233_7e-89, 2e-15));
        assert!(close(norm_cdf(0.0), 0.5, 2.3e-16));
        assert_eq!(norm_cdf(f64::INFINITY), 1.0);
        assert_eq!(norm_cdf(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn put_call_and_r_zero_forms() {
        for (s, k, t, v, r) in [
            (100.0, 110.0, 0.5, 0.6, 0.0),
            (100.0, 90.0, 2.0, 0.3, 0.05),
            (50_000.0, 80_000.0, 0.01, 1.2, -0.01),
        ] {
            let c = black76_greeks(s, k, t, v, r, true);
            let p = black76_greeks(s, k, t, v, r, false);
            let disc = (-r * t).exp();
            assert!(close(c.delta - p.delta, disc, 1e-15), "{c:?} {p:?}");
            assert_eq!(c.vanna, p.vanna);
            let rounding = 1e-14 * (c.charm.abs() + p.charm.abs()) + 1e-16;
            assert!(
                ((c.charm - p.charm) - r * disc).abs() <= rounding,
                "{c:?} {p:?}"
            );
            assert_eq!(c.gamma, p.gamma);
            if r == 0.0 {
                assert_eq!(c.charm, p.charm);
            }
        }
    }

    #[test]
    fn degenerate_inputs_give_zero() {
        for (s, k, t, v, r) in [
            (0.0, 1.0, 1.0, 0.5, 0.0),
            (1.0, -1.0, 1.0, 0.5, 0.0),
            (1.0, 1.0, 0.0, 0.5, 0.0),
            (1.0, 1.0, 1.0, 0.0, 0.0),
            (f64::NAN, 1.0, 1.0, 0.5, 0.0),
            (1.0, f64::INFINITY, 1.0, 0.5, 0.0),
            (1.0, 1.0, 1.0, 0.5, f64::NAN),
            (1.0, 1.0, 1e-300, 1e-300, 0.0),
            (1.0, 1.0, 1e300, 1.0, -1.0),
        ] {
            for call in [true, false] {
                let g = black76_greeks(s, k, t, v, r, call);
                assert_eq!(
                    (g.delta, g.vanna, g.charm),
                    (0.0, 0.0, 0.0),
                    "{s} {k} {t} {v} {r}"
                );
            }
        }
    }

    #[test]
    fn block_equals_the_careful_path_and_ignores_chunking() {
        let n = 3 * CHUNK + 77;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut draw = |lo: f64, hi: f64| -> Vec<f64> {
            (0..n)
                .map(|_| match (next() * 50.0) as u32 {
                    0 => 0.0,
                    1 => f64::NAN,
                    2 => 1e-300,
                    3 => 1e300,
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
        let calls: Vec<bool> = (0..n).map(|i| i % 3 != 0).collect();
        let rates: Vec<f64> = (0..n).map(|i| (i % 7) as f64 * 0.01 - 0.02).collect();
        let mut outs = vec![vec![0.0; n]; 4];
        {
            let [g, d, va, c] = &mut outs[..] else {
                unreachable!()
            };
            greeks_into(
                GreeksOut {
                    gamma: Some(g),
                    delta: Some(d),
                    vanna: Some(va),
                    charm: Some(c),
                },
                &s,
                &k,
                &t,
                &v,
                &rates,
                &calls,
            );
        }
        let mut careful_rows = 0;
        for i in 0..n {
            let want = black76_greeks(s[i], k[i], t[i], v[i], rates[i], calls[i]);
            assert_eq!(outs[0][i].to_bits(), want.gamma.to_bits(), "gamma row {i}");
            // The fast lane (fastmath ln/exp, FMA) and the careful one differ by a few
            // ulps in ln(S/K) and e^x; d1 turns an error ε in x into ε·(|x| + h)/(σ√T),
            // and φ(d1) into d1 times that: the tolerance is that condition number.
            let (x, vst) = ((s[i] / k[i]).ln(), v[i] * t[i].sqrt());
            let h = 0.5 * vst * vst;
            let d1 = (x + h) / vst;
            let dx = 1e-15 * (x.abs() + h + 1.0) / vst;
            let kappa = 1.0 + d1.abs() * dx / 1e-15 + d1 * d1;
            let pdf = (-rates[i] * t[i]).exp() * (-0.5 * d1 * d1).exp() * INV_SQRT_2PI;
            let mags = [0.0, pdf * dx / v[i], pdf * dx / (2.0 * t[i])];
            let got = [outs[1][i], outs[2][i], outs[3][i]];
            for (j, w) in [want.delta, want.vanna, want.charm].into_iter().enumerate() {
                let tol = 1e-13 * kappa * (w.abs() + 1e3 * mags[j]) + 1e-300;
                // σ²T overflowing makes d1 infinite: then only r·Δ is left, to an ulp or two.
                let tol = if tol.is_finite() {
                    tol
                } else {
                    1e-15 * w.abs()
                };
                assert!(got[j].is_finite(), "greek {j} row {i}");
                assert!(
                    got[j] == w || (got[j] - w).abs() <= tol,
                    "greek {j} row {i}: {} vs {w} (S={} K={} T={} v={})",
                    got[j],
                    s[i],
                    k[i],
                    t[i],
                    v[i]
                );
            }
            let ratio = s[i] / k[i];
            let ok = valid(s[i], k[i], t[i], v[i], rates[i]);
            careful_rows += usize::from(ok && !(ratio.is_normal() && ratio.is_finite()));
        }
        assert!(careful_rows > 0, "no row took the careful path");
        // Only delta asked, scalar rate and kind: the same numbers as in the full pass.
        let mut only = vec![0.0; n];
        greeks_into(
            GreeksOut {
                delta: Some(&mut only),
                ..Default::default()
            },
            &s,
            &k,
            &t,
            &v,
            &[0.01],
            &[true],
        );
        let mut full = vec![0.0; n];
        greeks_into(
            GreeksOut {
                delta: Some(&mut full),
                vanna: Some(&mut vec![0.0; n]),
                ..Default::default()
            },
            &s,
            &k,
            &t,
            &v,
            &vec![0.01; n],
            &vec![true; n],
        );
        assert!(only
            .iter()
            .zip(&full)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
