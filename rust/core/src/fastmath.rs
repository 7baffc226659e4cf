//! Branch-free `exp` and `ln` that the compiler can vectorise.
//!
//! libm's `exp`/`log` are opaque calls, so a loop over them runs one lane at a
//! time. These versions use only arithmetic, comparisons-as-selects and bit
//! operations, so LLVM turns a loop over them into AVX2/FMA code when the
//! caller is compiled for that target (see `greeks::gamma_into`).
//!
//! - `ln`: fdlibm's `e_log.c` reduction (x = 2^k·m, m ∈ [√½, √2)) and its
//!   degree-14 odd polynomial in s = f/(2+f); error below 1 ulp.
//! - `exp`: x = n·ln2 + r with n = round(x/ln2) (by the 1.5·2^52 magic-number
//!   trick, which also yields n as an integer without a float→int conversion),
//!   Cody–Waite split of ln2, then the degree-13 Taylor polynomial of e^r on
//!   |r| ≤ ln2/2 (truncation < 1e-17 relative); results below 2^-1022 flush to 0.
//!
//! `madd` is a fused multiply-add when `FMA` is true and `a*b + c` otherwise;
//! every lane and remainder of one build uses the same function, so results do
//! not depend on vector width, chunking or thread count.

// fdlibm's published constants are kept digit for digit, to be checkable against e_log.c.
#![allow(clippy::excessive_precision)]

pub const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
pub const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
pub const LOG2_E: f64 = std::f64::consts::LOG2_E;
pub const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52

pub const LG1: f64 = 6.666_666_666_666_735_130e-01;
pub const LG2: f64 = 3.999_999_999_940_941_908e-01;
pub const LG3: f64 = 2.857_142_874_366_239_149e-01;
pub const LG4: f64 = 2.222_219_843_214_978_396e-01;
pub const LG5: f64 = 1.818_357_216_161_805_012e-01;
pub const LG6: f64 = 1.531_383_769_920_937_332e-01;
pub const LG7: f64 = 1.479_819_860_511_658_591e-01;

/// 1/k! for k = 2..=13 (Taylor coefficients of e^r beyond 1 + r).
pub const INV_FACT: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

#[inline(always)]
pub fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Natural logarithm of a positive, finite, normal `x` (other inputs give garbage,
/// which callers mask out).
#[inline(always)]
pub fn ln<const FMA: bool>(x: f64) -> f64 {
    let bits = x.to_bits();
    // The exponent field as a float without an int→float conversion (none in AVX2):
    // 2^52 + e has e in its low mantissa bits.
    let e = f64::from_bits((bits >> 52) | 0x4330_0000_0000_0000) - 4_503_599_627_370_496.0;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000); // [1, 2)
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    let kf = e - 1023.0 + if big { 1.0 } else { 0.0 };
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * madd::<FMA>(w, madd::<FMA>(w, LG6, LG4), LG2);
    let t2 = z * madd::<FMA>(w, madd::<FMA>(w, madd::<FMA>(w, LG7, LG5), LG3), LG1);
    let r = t2 + t1;
    kf * LN2_HI - ((hfsq - madd::<FMA>(s, hfsq + r, kf * LN2_LO)) - f)
}

/// e^x for finite `x`; 0 below about −708.4, +inf above about 709.8.
// `clamp` carries an assertion branch that stops the loop around it from vectorising.
#[allow(clippy::manual_clamp)]
#[inline(always)]
pub fn exp<const FMA: bool>(x: f64) -> f64 {
    let xc = x.max(-708.39).min(709.78);
    let t = madd::<FMA>(xc, LOG2_E, MAGIC);
    let n = t - MAGIC;
    let r = madd::<FMA>(-n, LN2_LO, madd::<FMA>(-n, LN2_HI, xc));
    // Horner, written out: a loop here would keep the caller's loop from vectorising.
    let c = &INV_FACT;
    let p = madd::<FMA>(c[11], r, c[10]);
    let p = madd::<FMA>(p, r, c[9]);
    let p = madd::<FMA>(p, r, c[8]);
    let p = madd::<FMA>(p, r, c[7]);
    let p = madd::<FMA>(p, r, c[6]);
    let p = madd::<FMA>(p, r, c[5]);
    let p = madd::<FMA>(p, r, c[4]);
    let p = madd::<FMA>(p, r, c[3]);
    let p = madd::<FMA>(p, r, c[2]);
    let p = madd::<FMA>(p, r, c[1]);
    let p = madd::<FMA>(p, r, c[0]);
    let er = madd::<FMA>(madd::<FMA>(p, r, 1.0), r, 1.0);
    // t's low mantissa bits hold n (two's complement): build 2^n directly.
    let ni = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    let scale = f64::from_bits(((ni + 1023) as u64) << 52);
    let v = er * scale;
    let v = if x < -708.39 { 0.0 } else { v };
    if x > 709.78 {
        f64::INFINITY
    } else {
        v
    }
}

/// 1/√(2π), the normal density's constant (gamma and the other greeks).
pub const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            ((a - b) / b).abs()
        }
    }

    #[test]
    fn ln_matches_libm_to_an_ulp_or_two() {
        let mut worst = 0.0f64;
        let mut x = 1e-300;
        while x < 1e300 {
            for y in [
                x,
                x * 1.000_000_1,
                x * 0.999_999_9,
                1.0 + 1e-12,
                1.0 - 1e-12,
                0.5,
                2.0,
            ] {
                worst = worst
                    .max(rel(ln::<true>(y), y.ln()))
                    .max(rel(ln::<false>(y), y.ln()));
            }
            x *= 1.37;
        }
        assert!(worst < 4e-16, "worst relative error {worst:e}");
        assert_eq!(ln::<true>(1.0), 0.0);
    }

    #[test]
    fn exp_matches_libm_to_a_few_ulps() {
        let mut worst = 0.0f64;
        let mut x = -708.0;
        while x < 709.0 {
            worst = worst
                .max(rel(exp::<true>(x), x.exp()))
                .max(rel(exp::<false>(x), x.exp()));
            x += 0.0137;
        }
        for x in [
            0.0,
            1e-300,
            -1e-300,
            1e-10,
            -0.5,
            0.5 * std::f64::consts::LN_2,
        ] {
            worst = worst.max(rel(exp::<true>(x), x.exp()));
        }
        assert!(worst < 5e-16, "worst relative error {worst:e}");
        assert_eq!(exp::<true>(-800.0), 0.0);
        assert_eq!(exp::<false>(1000.0), f64::INFINITY);
    }
}
