//! A fixed replay workload for profilers (callgrind counts instructions, so it
//! is repeatable on a loaded machine). With `FLOWGEX_WORKLOAD=dir` it replays a
//! workload dumped as raw arrays (ts, inst, side, amount, index_price, iv,
//! trade_id_int `.bin` files and `names.txt`); otherwise a synthetic one:
//! `cargo build --release --example profile_replay -p flowgex-core &&
//!  valgrind --tool=callgrind target/release/examples/profile_replay 200000`.

use flowgex_core::batch::{OptF64, TradeBatch, TradeCols, TradeIds, UpdateBatch};
use flowgex_core::output::{Keep, Retention};
use flowgex_core::registry::InstrumentDict;
use flowgex_core::{Config, Engine};

/// Names, ts, inst, side, amount, index_price, iv, trade ids.
type Workload = (
    Vec<String>,
    Vec<i64>,
    Vec<i32>,
    Vec<i8>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<i64>,
);

/// Reads a workload dumped as raw little-endian arrays (see benches/README.md).
fn load(dir: &str) -> Workload {
    let read = |name: &str| std::fs::read(format!("{dir}/{name}.bin")).expect("workload file");
    let f64s = |b: Vec<u8>| {
        b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect::<Vec<f64>>()
    };
    let i64s = |b: Vec<u8>| {
        b.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect::<Vec<i64>>()
    };
    let names = std::fs::read_to_string(format!("{dir}/names.txt"))
        .expect("names")
        .lines()
        .map(String::from)
        .collect();
    let inst = read("inst")
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let side = read("side").into_iter().map(|b| b as i8).collect();
    (
        names,
        i64s(read("ts")),
        inst,
        side,
        f64s(read("amount")),
        f64s(read("index_price")),
        f64s(read("iv")),
        i64s(read("trade_id_int")),
    )
}

/// Replays one batch and reports the time taken.
fn replay(w: Workload, keep: Retention) {
    let (names, ts, inst, side, amount, px, iv, ids) = w;
    let dict = InstrumentDict::Names(names);
    let mut cfg = Config::new(600_000_000_000);
    cfg.keep = keep;
    let mut e = Engine::new(cfg).unwrap();
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
                trade_id: Some(TradeIds::Int {
                    values: &ids,
                    valid: None,
                }),
            },
        )),
        chain: None,
        spot: None,
    };
    let t = std::time::Instant::now();
    e.update(&batch, true).unwrap();
    let r = e.into_result().unwrap();
    eprintln!(
        "{} trades: {:?}, {} inventory rows kept",
        ts.len(),
        t.elapsed(),
        r.out.inventory.len()
    );
}

/// One week of synthetic BTC trades over 200 options.
fn synthetic(n: usize) -> Workload {
    let names: Vec<String> = (0..200)
        .map(|i| {
            let expiry = ["27DEC24", "28MAR25", "27JUN25"][i % 3];
            let kind = if i % 2 == 0 { "C" } else { "P" };
            format!("BTC-{expiry}-{}-{kind}", 60_000 + (i / 6) * 2_000)
        })
        .collect();
    let t0: i64 = 1_733_011_200_000_000_000;
    let step = 604_800_000_000_000 / n as i64;
    (
        names,
        (0..n as i64).map(|i| t0 + i * step).collect(),
        (0..n).map(|i| ((i * 7919) % 200) as i32).collect(),
        (0..n).map(|i| if i % 3 == 0 { -1 } else { 1 }).collect(),
        (0..n).map(|i| 0.1 + (i % 17) as f64 * 0.1).collect(),
        (0..n).map(|i| 96_000.0 + (i % 1000) as f64).collect(),
        (0..n).map(|i| 0.4 + (i % 40) as f64 * 0.01).collect(),
        (0..n as i64).map(|i| 1_000_000 + i).collect(),
    )
}

fn main() {
    match std::env::var("FLOWGEX_WORKLOAD") {
        // A backtest's settings: totals every step, the rest for the last step only.
        Ok(dir) => replay(
            load(&dir),
            Retention {
                inventory: Keep::Last,
                aggregates: Keep::Last,
            },
        ),
        Err(_) => {
            let n = std::env::args()
                .nth(1)
                .and_then(|a| a.parse().ok())
                .unwrap_or(1_000_000);
            replay(synthetic(n), Retention::ALL)
        }
    }
}
