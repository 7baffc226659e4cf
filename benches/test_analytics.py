"""Analytics and the simulated market (pytest-benchmark).

Run: ``pytest benches/test_analytics.py --benchmark-enable``. The levels
series costs steps × live options × grid points gamma evaluations, so it
speeds up with the gamma kernel; ``points=101`` is the quick setting.
"""

from __future__ import annotations

import pytest

import flowgex as fg

DAYS, TPD = 3, 5_000


@pytest.fixture(scope="module")
def market():
    return fg.simulate(days=DAYS, assets=("BTC",), seed=7, trades_per_day=TPD)


@pytest.fixture(scope="module")
def flow(market):
    return fg.flow_gex(market.trades, spot=market.spot)


@pytest.mark.benchmark(group=f"simulate BTC {DAYS} days x {TPD} trades/day")
def test_simulate(benchmark):
    m = benchmark(fg.simulate, days=DAYS, assets=("BTC",), seed=7, trades_per_day=TPD)
    assert m.trades.num_rows > 0


@pytest.mark.benchmark(group=f"levels_series BTC {DAYS} days, 10min grid")
@pytest.mark.parametrize("points", [101, 401])
def test_levels_series(benchmark, flow, points):
    s = benchmark.pedantic(flow.levels_series, args=("BTC",), kwargs={"points": points}, rounds=3, iterations=1)
    assert len(s) == len(flow.times)


@pytest.mark.benchmark(group="one time")
def test_levels(benchmark, flow):
    assert benchmark(fg.levels, flow, "BTC").spot > 0
