//! Replay throughput (trades/s) of the engine on synthetic trades.
//! Run: `cargo bench -p flowgex-core --bench replay`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowgex_core::batch::{OptF64, TradeBatch, TradeCols, UpdateBatch};
use flowgex_core::registry::InstrumentDict;
use flowgex_core::{Config, Engine};

fn bench(c: &mut Criterion) {
    let n = 1_000_000usize;
    let names: Vec<String> = (0..200)
        .map(|i| {
            format!(
                "BTC-{}-{}-{}",
                ["27DEC24", "28MAR25", "27JUN25"][i % 3],
                60_000 + (i / 6) * 2_000,
                if i % 2 == 0 { "C" } else { "P" }
            )
        })
        .collect();
    let dict = InstrumentDict::Names(names);
    let t0: i64 = 1_733_011_200_000_000_000;
    // One week of trades, ~1.65 per second.
    let step = 604_800_000_000_000 / n as i64;
    let ts: Vec<i64> = (0..n as i64).map(|i| t0 + i * step).collect();
    let inst: Vec<i32> = (0..n).map(|i| ((i * 7919) % 200) as i32).collect();
    let side: Vec<i8> = (0..n).map(|i| if i % 3 == 0 { -1 } else { 1 }).collect();
    let amount: Vec<f64> = (0..n).map(|i| 0.1 + (i % 17) as f64 * 0.1).collect();
    let px: Vec<f64> = (0..n).map(|i| 96_000.0 + (i % 1000) as f64).collect();
    let iv: Vec<f64> = (0..n).map(|i| 0.4 + (i % 40) as f64 * 0.01).collect();
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function("1M trades, 1 week, 10min grid, 200 instruments", |b| {
        b.iter(|| {
            let mut e = Engine::new(Config::new(600_000_000_000)).unwrap();
            let batch = UpdateBatch {
                trades: Some(TradeBatch::one(
                    &dict,
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
                            valid: None,
                        }),
                        trade_id: None,
                    },
                )),
                chain: None,
                spot: None,
            };
            e.update(&batch, true).unwrap();
            e.into_result().unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
