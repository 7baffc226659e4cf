"""Rust engine vs the pure-Python reference on the same trades (pytest-benchmark).

Run: ``pytest benches/test_engine_vs_reference.py --benchmark-enable``.
The groups put the rows side by side; compare per-trade cost (mean / n).
"""

from __future__ import annotations

import pytest

import flowgex as fg
from flowgex._example import example_trades

N = 2_000


@pytest.fixture(scope="module")
def trades():
    return example_trades(N)


@pytest.mark.benchmark(group=f"flow_gex {N} trades, 1 day, 10min grid")
@pytest.mark.parametrize("threads", [1, 2])
def test_rust(benchmark, trades, threads):
    res = benchmark(fg.flow_gex, trades, threads=threads)
    assert len(res.times) == 144


@pytest.mark.benchmark(group=f"flow_gex {N} trades, 1 day, 10min grid")
def test_reference(benchmark, trades):
    res = benchmark.pedantic(fg.flow_gex, args=(trades,), kwargs={"engine": "reference"}, rounds=3, iterations=1)
    assert len(res.times) == 144
