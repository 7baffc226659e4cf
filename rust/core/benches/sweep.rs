//! Profile sweep throughput: 401 hypothetical spots × 700 live options (one
//! 10-minute step of a Deribit-sized BTC book), through `flip_series`, as
//! `levels_series` runs it. Run: `cargo bench -p flowgex-core --bench sweep`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowgex_core::exposure::Unit;
use flowgex_core::parallel::install;
use flowgex_core::profile::flip_series;

fn bench(c: &mut Criterion) {
    let (options, steps) = (700usize, 64usize);
    let n = options * steps;
    let s: Vec<f64> = (0..n)
        .map(|i| 96_000.0 + (i / options) as f64 * 10.0)
        .collect();
    let k: Vec<f64> = (0..n)
        .map(|i| 40_000.0 + (i % options) as f64 * 150.0)
        .collect();
    let tau: Vec<f64> = (0..n).map(|i| 0.002 + (i % 37) as f64 * 0.02).collect();
    let sigma: Vec<f64> = (0..n).map(|i| 0.45 + (i % 11) as f64 * 0.03).collect();
    // Dealers long the wings and short near the money, so each step has crossings to refine.
    let weight: Vec<f64> = (0..n)
        .map(|i| if (i % options) % 7 < 3 { -2.0 } else { 1.5 })
        .collect();
    let offsets: Vec<usize> = (0..=steps).map(|j| j * options).collect();
    let spot: Vec<f64> = (0..steps).map(|j| 96_000.0 + j as f64 * 10.0).collect();
    let rel: Vec<f64> = (0..401).map(|i| 0.8 + 0.001 * i as f64).collect();
    let mut g = c.benchmark_group("profile_sweep");
    g.throughput(Throughput::Elements((steps * 401 * options) as u64));
    g.sample_size(10);
    for threads in [1usize, 2] {
        g.bench_function(
            format!("{steps} steps x 401 points x {options} options, threads {threads}"),
            |b| {
                b.iter(|| {
                    install(Some(threads), || {
                        flip_series(
                            &offsets,
                            &s,
                            &k,
                            &tau,
                            &sigma,
                            &weight,
                            &spot,
                            &rel,
                            0.0,
                            Unit::UsdPer1Pct,
                        )
                    })
                    .unwrap()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
