"""All four Black-76 greeks in one pass vs gamma alone, 10M options (issue 15: within 2×).

Run: ``pytest benches/test_greeks.py --benchmark-enable --benchmark-only`` (part of
``make bench``); the numbers and the machine are in ``benches/README.md``. Both rows
write into buffers allocated once (``out=``), so the page faults of fresh result
arrays (large and noisy on the CI VM, see the README) do not enter the comparison;
the "fresh" rows show what a call without ``out=`` costs. The inputs are the gamma
kernel bench's (``benches/peers/kernel.py``: strikes within ±4 standard moves),
half calls, half puts. Before anything is timed, the one-pass gamma is checked
bit-identical to ``fg.black76_gamma`` and delta against put-call parity.
On a loaded machine the wall clock swings; ``python -m benches.greeks_ratio`` times
the same two calls side by side by CPU time (the number in the README).
"""

from __future__ import annotations

import numpy as np
import pytest
from benches.peers import kernel

import flowgex as fg

N = 10_000_000
GROUP = f"greeks, {N:,} options, 2 threads"


@pytest.fixture(scope="module")
def options():
    s, k, t, sigma = kernel.inputs(N)
    calls = np.arange(N) % 2 == 0
    return s, k, t, sigma, calls


@pytest.fixture(scope="module")
def buffers():
    return {g: np.empty(N) for g in fg.GREEKS}


@pytest.mark.benchmark(group=GROUP)
def test_gamma_alone(benchmark, options, buffers):
    s, k, t, sigma, _ = options
    benchmark.pedantic(
        fg.black76_gamma,
        args=(s, k, t, sigma),
        kwargs={"out": buffers["gamma"], "threads": 2},
        rounds=7,
        warmup_rounds=1,
    )


@pytest.mark.benchmark(group=GROUP)
def test_all_four_greeks_one_pass(benchmark, options, buffers):
    s, k, t, sigma, calls = options
    got = benchmark.pedantic(
        fg.black76_greeks,
        args=(s, k, t, sigma, calls),
        kwargs={"out": buffers, "threads": 2},
        rounds=7,
        warmup_rounds=1,
    )
    assert np.array_equal(got["gamma"], fg.black76_gamma(s, k, t, sigma))
    puts = fg.black76_delta(s[:1000], k[:1000], t[:1000], sigma[:1000], "P")
    assert np.allclose(
        fg.black76_delta(s[:1000], k[:1000], t[:1000], sigma[:1000], "C") - puts, 1.0, rtol=0, atol=1e-15
    )


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("greek", ["delta", "vanna", "charm"])
def test_one_greek(benchmark, options, buffers, greek):
    s, k, t, sigma, calls = options
    fn = {"delta": fg.black76_delta, "vanna": fg.black76_vanna, "charm": fg.black76_charm}[greek]
    extra = () if greek == "vanna" else (calls,)
    benchmark.pedantic(fn, args=(s, k, t, sigma, *extra), kwargs={"out": buffers[greek], "threads": 2}, rounds=5)


@pytest.mark.benchmark(group=GROUP + ", fresh result arrays")
@pytest.mark.parametrize("what", ["gamma", "all four"])
def test_fresh(benchmark, options, what):
    s, k, t, sigma, calls = options
    if what == "gamma":
        benchmark.pedantic(fg.black76_gamma, args=(s, k, t, sigma), kwargs={"threads": 2}, rounds=3)
    else:
        benchmark.pedantic(fg.black76_greeks, args=(s, k, t, sigma, calls), kwargs={"threads": 2}, rounds=3)
