"""The typed internal result form (flowgex._tables): conversions, the one aggregation, the one merge.

Each check compares against something computed independently of the function
under test: the Rust core's own tables, or one engine run over all assets.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

import flowgex as fg
from flowgex._tables import Registry, ResultData, aggregate, group_sum, merge


@pytest.fixture(scope="module")
def market() -> fg.SimulatedMarket:
    return fg.simulate(days=1, assets=("BTC", "ETH", "SOL"), seed=11, trades_per_day=300)


def _same(a: ResultData, b: ResultData) -> None:
    for name, table in a.tables().items():
        other = getattr(b, name).columns()
        cols = table.columns()
        assert cols.keys() == other.keys(), name
        for c, v in cols.items():
            assert v.dtype == other[c].dtype, (name, c)
            assert np.array_equal(v.view(np.uint8), other[c].view(np.uint8)), (name, c)  # bit for bit


def test_core_dict_round_trip_and_unknown_columns(market: fg.SimulatedMarket) -> None:
    res = fg.flow_gex(market.trades, market.chain, market.spot, greeks=["delta"])
    data = res.data
    assert data.inventory.dex is not None and data.inventory.vex is None  # only the asked exposure
    _same(ResultData.from_core(data.to_core()), data)
    with pytest.raises(TypeError):
        ResultData.from_core({**data.to_core(), "inventory.bogus": np.zeros(len(data.inventory))})
    with pytest.raises(TypeError):
        ResultData.from_core({**data.to_core(), "nowhere.time": np.zeros(0)})


def test_group_sum_sorts_and_adds_only_repeated_keys() -> None:
    cols = {"k": np.array([2, 1, 2, 3]), "x": np.array([1.0, 2.0, 4.0, 8.0]), "first": np.array([10, 20, 30, 40])}
    out = group_sum(cols, ["k"], ["x"])
    assert out["k"].tolist() == [1, 2, 3]
    assert out["x"].tolist() == [2.0, 5.0, 8.0]
    assert out["first"].tolist() == [20, 10, 40]  # the group's first row in key order (stable)
    empty = group_sum({"k": np.zeros(0), "x": np.zeros(0)}, ["k"], ["x"])
    assert len(empty["k"]) == 0


def test_aggregate_of_every_inventory_row_is_the_cores_tables(market: fg.SimulatedMarket) -> None:
    """The core aggregates during the replay; aggregate() redoes it from the inventory rows:
    same keys in the same order, sums equal up to the order of addition."""
    res = fg.flow_gex(market.trades, market.chain, market.spot, greeks=["delta", "charm"])
    data = res.data
    by_strike, by_expiry, total = aggregate(data, np.arange(len(data.inventory)), res.exposures)
    for mine, core in ((by_strike, data.by_strike), (by_expiry, data.by_expiry), (total, data.total)):
        a, b = mine.columns(), core.columns()
        assert a.keys() == b.keys()
        for c in a:
            if a[c].dtype.kind == "f":
                np.testing.assert_allclose(a[c], b[c], rtol=1e-9, atol=1e-6 * (1 + np.abs(b[c]).max(initial=0)))
            else:
                assert np.array_equal(a[c], b[c]), c


def test_merge_of_per_asset_runs_is_the_single_run(market: fg.SimulatedMarket) -> None:
    """Each asset replayed alone, merged over the full run's registry: bit-identical tables
    (an asset's rows never mix with another's, so nothing is re-added)."""
    full = fg.flow_gex(market.trades, market.chain, market.spot)
    # The merge's registry has its ids in the core's canonical order (as distributed builds it).
    core_reg = full.data.registry
    # The core's canonical instrument order: asset, strike, expiry, kind (C < P), quote (none first).
    insts = [
        (core_reg.assets[a], float(k), int(e), "C" if c else "P", q or "")
        for a, q, e, k, c in zip(core_reg.asset, core_reg.quote, core_reg.expiry, core_reg.strike, core_reg.is_call)
    ]
    order = np.array(sorted(range(len(insts)), key=lambda i: insts[i]), dtype=np.int64)
    reg = Registry(
        **{
            f: getattr(core_reg, f)[order]
            for f in ("name", "asset", "quote", "expiry", "strike", "is_call", "multiplier")
        },
        assets=core_reg.assets,
    )
    inst_id = {str(n): i for i, n in enumerate(reg.name)}
    pieces = []
    for asset in ("SOL", "BTC", "ETH"):  # not in name order: merge must restore the core's order
        part = fg.flow_gex(
            market.trades.filter(pc.match_substring_regex(market.trades["instrument"].cast("string"), f"^{asset}[-_]")),
            market.chain.filter(pc.match_substring_regex(market.chain["instrument"].cast("string"), f"^{asset}[-_]")),
            market.spot,
            start=full.times[0],
            end=full.times[-1],
        )
        d = part.data
        pieces.append(
            (
                d,
                np.array([inst_id[str(n)] for n in d.registry.name], dtype=np.int64),
                np.array([reg.assets.index(a) for a in d.registry.assets], dtype=np.int64),
            )
        )
    merged = merge(pieces, reg, last_step=int(full.data.steps.time[-1]))
    for name in ("inventory", "by_strike", "by_expiry", "total"):
        a, b = getattr(merged, name).columns(), getattr(full.data, name).columns()
        if name == "inventory":  # ids differ (canonical vs registration order): compare the names
            a["inst"], b["inst"] = reg.name[a["inst"]], core_reg.name[b["inst"]]
        assert a.keys() == b.keys()
        for c in a:
            assert np.array_equal(a[c], b[c]), (name, c)
            assert a[c].dtype == b[c].dtype, (name, c)
