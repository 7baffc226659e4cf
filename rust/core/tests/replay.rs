//! Engine-level tests: a hand-computed scenario and properties of the stream
//! (any chunking equals one call, snapshot/restore continues exactly, the
//! thread count does not change a bit).

use flowgex_core::batch::{OptF64, TradeBatch, TradeCols, TradeIds, UpdateBatch};
use flowgex_core::greeks::black76_gamma;
use flowgex_core::grid::YEAR_NS;
use flowgex_core::output::{Keep, Retention};
use flowgex_core::parallel::install;
use flowgex_core::registry::InstrumentDict;
use flowgex_core::{Config, Engine, ResultData};
use proptest::prelude::*;

const MIN: i64 = 60_000_000_000;
const TEN: i64 = 10 * MIN;
/// 2024-12-01T00:00:00Z
const T0: i64 = 1_733_011_200_000_000_000;

#[derive(Clone, Debug)]
struct Trade {
    ts: i64,
    inst: i32,
    side: i8,
    amount: f64,
    px: f64,
    iv: f64,
    id: i64,
}

fn names() -> InstrumentDict {
    InstrumentDict::Names(vec![
        "BTC-27DEC24-100000-C".into(),
        "BTC-27DEC24-100000-P".into(),
        "BTC-6DEC24-95000-C".into(),
        "ETH-27DEC24-4000-P".into(),
        "SOL_USDC-27DEC24-200-C".into(),
    ])
}

fn feed(engine: &mut Engine, dict: &InstrumentDict, trades: &[Trade]) {
    try_feed(engine, dict, trades).unwrap();
}

fn try_feed(
    engine: &mut Engine,
    dict: &InstrumentDict,
    trades: &[Trade],
) -> flowgex_core::error::Result<()> {
    let ts: Vec<i64> = trades.iter().map(|t| t.ts).collect();
    let inst: Vec<i32> = trades.iter().map(|t| t.inst).collect();
    let side: Vec<i8> = trades.iter().map(|t| t.side).collect();
    let amount: Vec<f64> = trades.iter().map(|t| t.amount).collect();
    let px: Vec<f64> = trades.iter().map(|t| t.px).collect();
    let iv: Vec<f64> = trades.iter().map(|t| t.iv).collect();
    // A NaN iv stands for a missing one (null).
    let iv_valid: Vec<bool> = iv.iter().map(|x| !x.is_nan()).collect();
    let id: Vec<i64> = trades.iter().map(|t| t.id).collect();
    let batch = UpdateBatch {
        trades: Some(TradeBatch::one(
            dict,
            TradeCols {
                ts: &ts,
                inst: &inst,
                inst_lut: None,
                side: &side,
                amount: &amount,
                index_price: Some(OptF64 {
                    values: &px,
                    valid: None,
                }),
                iv: Some(OptF64 {
                    values: &iv,
                    valid: Some(&iv_valid),
                }),
                trade_id: Some(TradeIds::Int {
                    values: &id,
                    valid: None,
                }),
            },
        )),
        chain: None,
        spot: None,
    };
    let report = engine.update(&batch, false)?;
    assert!(report.applied);
    Ok(())
}

fn bits(r: &ResultData) -> Vec<u64> {
    let o = &r.out;
    let mut v: Vec<u64> = Vec::new();
    v.extend(o.inventory.time.iter().map(|&x| x as u64));
    v.extend(o.inventory.inst.iter().map(|&x| x as u64));
    for col in [
        &o.inventory.inventory,
        &o.inventory.spot,
        &o.inventory.vol,
        &o.inventory.gamma,
        &o.inventory.gex,
    ] {
        v.extend(col.iter().map(|x| x.to_bits()));
    }
    for col in [
        &o.by_strike.strike,
        &o.by_strike.call_gex,
        &o.by_strike.put_gex,
        &o.by_strike.gex,
        &o.by_expiry.gex,
        &o.total.spot,
        &o.total.gex,
    ] {
        v.extend(col.iter().map(|x| x.to_bits()));
    }
    v.extend(
        o.by_strike
            .time
            .iter()
            .chain(&o.by_expiry.time)
            .chain(&o.by_expiry.expiry)
            .chain(&o.total.time)
            .map(|&x| x as u64),
    );
    v
}

#[test]
fn hand_computed_two_trades() {
    // A taker buys 3 calls at 00:04, then sells 1 at 00:15: dealers are short 3
    // after the first bucket and short 2 after the second.
    let dict = names();
    let trades = vec![
        Trade {
            ts: T0 + 4 * MIN,
            inst: 0,
            side: 1,
            amount: 3.0,
            px: 96_000.0,
            iv: 0.6,
            id: 1,
        },
        Trade {
            ts: T0 + 15 * MIN,
            inst: 0,
            side: -1,
            amount: 1.0,
            px: 97_000.0,
            iv: 0.5,
            id: 2,
        },
    ];
    let mut e = Engine::new(Config::new(TEN)).unwrap();
    feed(&mut e, &dict, &trades);
    let r = e.result().unwrap();
    let inv = &r.out.inventory;
    assert_eq!(inv.time, vec![T0 + TEN, T0 + 2 * TEN]);
    assert_eq!(inv.inventory, vec![-3.0, -2.0]);
    assert_eq!(inv.spot, vec![96_000.0, 97_000.0]);
    assert_eq!(inv.vol, vec![0.6, 0.5]);
    let expiry = 1_735_286_400_000_000_000i64; // 2024-12-27T08:00Z
    for (k, &t) in inv.time.iter().enumerate() {
        let tau = (expiry - t) as f64 / YEAR_NS;
        let g = black76_gamma(inv.spot[k], 100_000.0, tau, inv.vol[k], 0.0);
        // The engine's vectorised kernel is within 1e-12 of the scalar formula.
        assert!(
            (inv.gamma[k] - g).abs() <= 1e-12 * g,
            "{} vs {g}",
            inv.gamma[k]
        );
        let want = inv.gamma[k] * inv.inventory[k] * 1.0 * inv.spot[k] * inv.spot[k] * 0.01;
        assert_eq!(inv.gex[k], want);
        assert_eq!(r.out.total.gex[k], want);
        assert_eq!(r.out.by_strike.call_gex[k], want);
        assert_eq!(r.out.by_strike.put_gex[k], 0.0);
    }
}

#[test]
fn expiry_rolls_off_and_steps_without_trades_carry_inventory() {
    let dict = names();
    // The 6DEC24 call expires at 08:00 on Dec 6; trade at 07:55, then ETH trades on Dec 7.
    let exp = T0 + 5 * 86_400_000_000_000 + 8 * 60 * MIN;
    let trades = vec![
        Trade {
            ts: exp - 25 * MIN,
            inst: 2,
            side: 1,
            amount: 1.0,
            px: 1.0e5,
            iv: 0.5,
            id: 1,
        },
        Trade {
            ts: exp + 86_400_000_000_000,
            inst: 3,
            side: -1,
            amount: 2.0,
            px: 4.0e3,
            iv: 0.7,
            id: 2,
        },
    ];
    let mut e = Engine::new(Config::new(TEN)).unwrap();
    feed(&mut e, &dict, &trades);
    let r = e.result().unwrap();
    let inv = &r.out.inventory;
    // Live from the bucket ending 07:40 through 07:50 (08:00 is expiry: gone).
    let btc_rows: Vec<i64> = inv
        .time
        .iter()
        .zip(&inv.inst)
        .filter(|(_, &i)| i == 2)
        .map(|(&t, _)| t)
        .collect();
    assert_eq!(btc_rows, vec![exp - 20 * MIN, exp - 10 * MIN]);
    assert_eq!(r.counters.expired, 1);
    // BTC keeps a total row of 0 on every step after its instruments expired.
    let steps = (r.out.stats.time.last().unwrap() - r.out.stats.time[0]) / TEN + 1;
    assert_eq!(r.out.stats.len() as i64, steps);
    let btc_totals = r.out.total.asset.iter().filter(|&&a| a == 0).count() as i64;
    assert_eq!(btc_totals, steps);
}

fn arb_trades() -> impl Strategy<Value = Vec<Trade>> {
    prop::collection::vec(
        (
            0i64..(3 * 86_400 * 1_000),
            0i32..5,
            prop::bool::ANY,
            1u32..2000,
            1u32..100,
            1u32..150,
        ),
        1..120,
    )
    .prop_map(|rows| {
        let mut v: Vec<Trade> = rows
            .into_iter()
            .enumerate()
            .map(|(k, (ms, inst, buy, amt, px, iv))| Trade {
                // Snap a third of the times onto bucket edges.
                ts: if ms % 3 == 0 {
                    T0 + (ms / 600_000) * TEN
                } else {
                    T0 + ms * 1_000_000
                },
                inst,
                side: if buy { 1 } else { -1 },
                amount: amt as f64 / 10.0,
                px: 1000.0 * px as f64,
                iv: iv as f64 / 100.0,
                id: k as i64,
            })
            .collect();
        v.sort_by_key(|t| t.ts);
        v
    })
}

#[test]
fn per_asset_replay_raises_the_serial_error() {
    // Two assets trade without an iv (null), so no vol is known for them:
    // the serial replay stops at the earliest (step, option); so must the parallel one.
    let dict = names();
    let trade = |min: i64, inst: i32, iv: f64| Trade {
        ts: T0 + min * MIN,
        inst,
        side: 1,
        amount: 1.0,
        px: 97_000.0,
        iv,
        id: min,
    };
    let trades = [
        trade(1, 0, 0.5),
        trade(3, 4, f64::NAN),
        trade(25, 3, f64::NAN),
        trade(47, 0, 0.5),
    ];
    let run = |threads| {
        install(Some(threads), || {
            let mut cfg = Config::new(TEN);
            cfg.keep = Retention {
                inventory: Keep::Last,
                aggregates: Keep::Last,
            };
            let mut e = Engine::new(cfg).unwrap();
            try_feed(&mut e, &dict, &trades).map_err(|err| err.to_string())
        })
        .unwrap()
    };
    let serial = run(1);
    assert!(
        serial.as_ref().is_err_and(|m| m.contains("SOL")),
        "{serial:?}"
    );
    assert_eq!(run(2), serial);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_chunking_is_bit_identical(trades in arb_trades(), cuts in prop::collection::vec(0usize..1000, 0..6)) {
        let dict = names();
        let mut one = Engine::new(Config::new(TEN)).unwrap();
        feed(&mut one, &dict, &trades);
        let want = bits(&one.result().unwrap());

        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (trades.len() + 1)).collect();
        cuts.sort();
        let mut chunked = Engine::new(Config::new(TEN)).unwrap();
        let mut lo = 0;
        for c in cuts.into_iter().chain([trades.len()]) {
            feed(&mut chunked, &dict, &trades[lo..c]);
            // Snapshot and restore between every chunk.
            chunked = Engine::restore(&chunked.snapshot().unwrap()).unwrap();
            lo = c;
        }
        prop_assert_eq!(bits(&chunked.result().unwrap()), want);
    }

    /// `advance` between chunks, to any time up to the next chunk's first trade
    /// (DESIGN rule 19: a live feed's clock), changes no bit of the result.
    #[test]
    fn clock_ticks_between_chunks_change_nothing(
        trades in arb_trades(),
        cuts in prop::collection::vec(0usize..1000, 0..6),
        lag in 0.0f64..1.0,
    ) {
        let dict = names();
        let mut trades = trades;
        trades.sort_by_key(|t| t.ts);
        let mut one = Engine::new(Config::new(TEN)).unwrap();
        feed(&mut one, &dict, &trades);
        let want = bits(&one.result().unwrap());

        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (trades.len() + 1)).collect();
        cuts.sort();
        let mut ticked = Engine::new(Config::new(TEN)).unwrap();
        let mut lo = 0;
        for c in cuts.into_iter().chain([trades.len()]) {
            feed(&mut ticked, &dict, &trades[lo..c]);
            if c > lo && c < trades.len() {
                let (last, next) = (trades[c - 1].ts, trades[c].ts);
                ticked.advance(last + ((next - last) as f64 * lag) as i64).unwrap();
            }
            lo = c;
        }
        prop_assert_eq!(bits(&ticked.result().unwrap()), want);
    }

    #[test]
    fn thread_count_does_not_change_a_bit(trades in arb_trades()) {
        let dict = names();
        let run = |threads| install(Some(threads), || {
            let mut e = Engine::new(Config::new(TEN)).unwrap();
            feed(&mut e, &dict, &trades);
            bits(&e.result().unwrap())
        }).unwrap();
        prop_assert_eq!(run(1), run(2));
    }

    /// With last-step retention and two threads, updates are replayed asset by
    /// asset in parallel (`shard`); chunked anywhere, with the state carried
    /// across chunks, every table, count and later result equals the serial replay.
    #[test]
    fn per_asset_replay_equals_serial(trades in arb_trades(), cuts in prop::collection::vec(0usize..1000, 0..6)) {
        let dict = names();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (trades.len() + 1)).collect();
        cuts.sort();
        let run = |threads| install(Some(threads), || {
            let mut cfg = Config::new(TEN);
            cfg.keep = Retention { inventory: Keep::Last, aggregates: Keep::Last };
            let mut e = Engine::new(cfg).unwrap();
            let mut lo = 0;
            let mut seen = Vec::new();
            for &c in cuts.iter().chain([trades.len()].iter()) {
                feed(&mut e, &dict, &trades[lo..c]);
                let r = e.result().unwrap();
                seen.push((bits(&r), r.out.stats.clone(), format!("{:?}", r.counters)));
                lo = c;
            }
            seen
        }).unwrap();
        prop_assert_eq!(run(1), run(2));
    }
}
