"""All four Black-76 greeks in one pass vs gamma alone, side by side in one process (issue 15: within 2×).

Run: ``python -m benches.greeks_ratio [--n 10000000] [--threads 2] [--repeats 11]`` (from the repository root).

Why a script beside ``benches/test_greeks.py``: this VM's two cores are shared
with other jobs, so wall-clock times swing by 2× between minutes. Here gamma
and the one pass alternate (gamma, all four, gamma, ...), each timed by the
process's CPU time (``time.process_time``: every thread's, and not the time
spent waiting for a core), and the ratio is the median of the pairs' ratios,
with the medians of each also printed. Both write into buffers allocated once
(``out=``), so page faults of fresh arrays do not enter. Before timing, the one
pass's gamma is checked bit for bit equal to ``fg.black76_gamma`` and its delta
against put-call parity (Δ_C − Δ_P = 1 for r = 0).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from benches.peers import kernel

import flowgex as fg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=11)
    a = ap.parse_args()
    s, k, t, sigma = kernel.inputs(a.n)
    calls = np.arange(a.n) % 2 == 0
    out = {g: np.empty(a.n) for g in fg.GREEKS}

    def gamma() -> None:
        fg.black76_gamma(s, k, t, sigma, out=out["gamma"], threads=a.threads)

    def four() -> None:
        fg.black76_greeks(s, k, t, sigma, calls, out=out, threads=a.threads)

    four()
    assert np.array_equal(out["gamma"], fg.black76_gamma(s, k, t, sigma))
    puts = fg.black76_delta(s, k, t, sigma, "P", threads=a.threads)
    assert np.allclose(fg.black76_delta(s, k, t, sigma, "C", threads=a.threads) - puts, 1.0, rtol=0, atol=1e-15)
    gamma()
    tg, ta = [], []
    for _ in range(a.repeats):
        t0 = time.process_time()
        gamma()
        t1 = time.process_time()
        four()
        t2 = time.process_time()
        tg.append(t1 - t0)
        ta.append(t2 - t1)
    ratios = np.array(ta) / np.array(tg)
    print(
        f"{a.n:,} options, {a.threads} threads, {a.repeats} pairs (CPU time): "
        f"gamma median {np.median(tg) * 1e3:.1f} ms, "
        f"all four median {np.median(ta) * 1e3:.1f} ms; ratio: median of pairs {np.median(ratios):.2f} "
        f"(range {ratios.min():.2f}-{ratios.max():.2f}), of medians {np.median(ta) / np.median(tg):.2f}"
    )


if __name__ == "__main__":
    main()
