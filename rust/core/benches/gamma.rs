//! Gamma kernel throughput (evaluations/s), serial and on the 2-thread pool.
//! Run: `cargo bench -p flowgex-core --bench gamma`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use flowgex_core::greeks::gamma_into;
use flowgex_core::parallel::install;

fn inputs(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let s = (0..n)
        .map(|i| 90_000.0 + (i % 2000) as f64 * 10.0)
        .collect();
    let k = (0..n)
        .map(|i| 50_000.0 + (i % 97) as f64 * 1000.0)
        .collect();
    let t = (0..n).map(|i| 0.001 + (i % 365) as f64 / 365.0).collect();
    let v = (0..n).map(|i| 0.3 + (i % 50) as f64 / 50.0).collect();
    (s, k, t, v)
}

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    let (s, k, t, v) = inputs(n);
    let mut out = vec![0.0; n];
    let mut g = c.benchmark_group("black76_gamma");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    for threads in [1usize, 2] {
        g.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &th| {
            b.iter(|| install(Some(th), || gamma_into(&mut out, &s, &k, &t, &v, 0.0)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
