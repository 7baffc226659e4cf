/* Black-76 gamma, r = 0, as a plain C loop: the "what the hardware gives" row of
 * the gamma kernel comparison (benches/peers/kernel.py builds it at run time with
 * gcc -O3 -ffast-math -march=native -fopenmp into a temporary directory). */
#include <math.h>
#include <omp.h>

void gamma_loop(const double *s, const double *k, const double *t, const double *sigma, double *out, long n,
                int threads) {
    const double inv_sqrt_2pi = 0.3989422804014327;
#pragma omp parallel for simd num_threads(threads) schedule(static)
    for (long i = 0; i < n; i++) {
        double sst = sigma[i] * sqrt(t[i]);
        double d1 = (log(s[i] / k[i]) + 0.5 * sst * sst) / sst;
        out[i] = inv_sqrt_2pi * exp(-0.5 * d1 * d1) / (s[i] * sst);
    }
}
