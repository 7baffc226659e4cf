//! A fixed replay workload for profilers (callgrind counts instructions, so it
//! is repeatable on a loaded machine):
//! `cargo build --release --example profile_replay -p flowgex-core &&
//!  valgrind --tool=callgrind target/release/examples/profile_replay 200000`.

use flowgex_core::batch::{OptF64, TradeBatch, TradeIds, UpdateBatch};
use flowgex_core::registry::InstrumentDict;
use flowgex_core::{Config, Engine};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let names: Vec<String> = (0..200)
        .map(|i| {
            let expiry = ["27DEC24", "28MAR25", "27JUN25"][i % 3];
            let kind = if i % 2 == 0 { "C" } else { "P" };
            format!("BTC-{expiry}-{}-{kind}", 60_000 + (i / 6) * 2_000)
        })
        .collect();
    let dict = InstrumentDict::Names(names);
    let t0: i64 = 1_733_011_200_000_000_000;
    let step = 604_800_000_000_000 / n as i64;
    let ts: Vec<i64> = (0..n as i64).map(|i| t0 + i * step).collect();
    let inst: Vec<i32> = (0..n).map(|i| ((i * 7919) % 200) as i32).collect();
    let side: Vec<i8> = (0..n).map(|i| if i % 3 == 0 { -1 } else { 1 }).collect();
    let amount: Vec<f64> = (0..n).map(|i| 0.1 + (i % 17) as f64 * 0.1).collect();
    let px: Vec<f64> = (0..n).map(|i| 96_000.0 + (i % 1000) as f64).collect();
    let iv: Vec<f64> = (0..n).map(|i| 0.4 + (i % 40) as f64 * 0.01).collect();
    let ids: Vec<i64> = (0..n as i64).map(|i| 1_000_000 + i).collect();
    let mut e = Engine::new(Config::new(600_000_000_000)).unwrap();
    let batch = UpdateBatch {
        trades: Some(TradeBatch {
            dict: &dict,
            ts: &ts,
            inst: &inst,
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
            trade_id: Some(TradeIds::Int {
                values: &ids,
                valid: None,
            }),
        }),
        chain: None,
        spot: None,
    };
    let t = std::time::Instant::now();
    e.update(&batch, true).unwrap();
    let r = e.into_result().unwrap();
    eprintln!(
        "{n} trades: {:?}, {} inventory rows",
        t.elapsed(),
        r.out.inventory.len()
    );
}
