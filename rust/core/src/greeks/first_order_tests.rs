//! Tests of `first_order` (the greeks against mpmath tables, the vector kernels
//! against the one-lane formula, gamma bit for bit `gamma_into`'s).

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
                            assert_eq!(o[g][i].to_bits(), f[g][i].to_bits(), "greek {g} row {i}");
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
