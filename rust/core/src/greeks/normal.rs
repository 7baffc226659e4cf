//! The standard normal's upper tail Φ(−z) through the Mills ratio R(z) = Φ(−z)/φ(z):
//! a polynomial fitted once (mpmath, 40 digits) and evaluated by Estrin's scheme, so
//! the scalar path and the vector kernels (`first_order_avx2`, `first_order_avx512`)
//! share the coefficients and the order of operations. A tail, never 1 − Φ(z), so a
//! deep out-of-the-money delta keeps its relative accuracy.

use crate::fastmath::{madd, INV_SQRT_2PI};

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
