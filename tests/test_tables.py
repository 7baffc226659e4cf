"""The typed internal result form (flowgex._tables): conversions, the one aggregation, the one merge.

Each check compares against something computed independently of the function
under test: the Rust core's own tables, or one engine run over all assets.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

import flowgex as fg
from flowgex._tables import ResultData, aggregate, group_sum, merge, union


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


def test_canonical_order_is_the_cores_order_of_live_instruments(market: fg.SimulatedMarket) -> None:
    """The core lists each step's live instruments in its canonical order; the registry's ids
    are in registration order. canonical_order() must sort them as the core does."""
    data = fg.flow_gex(market.trades, market.chain, market.spot).data
    inv = data.inventory
    last = inv.time == inv.time[-1]
    live = inv.inst[last].astype(np.int64)
    assert len(live) > 50 and not np.array_equal(live, np.sort(live))  # registration order differs
    order = data.registry.canonical_order()
    assert sorted(order.tolist()) == list(range(len(data.registry)))
    assert order[np.isin(order, live)].tolist() == live.tolist()


@pytest.mark.parametrize("greeks", [("gamma",), ("gamma", "delta", "vanna")])
def test_merge_of_per_asset_runs_is_the_single_run(market: fg.SimulatedMarket, greeks: tuple[str, ...]) -> None:
    """Each asset replayed alone, the registries united and the tables merged, as distributed
    does: bit-identical tables to one run over every asset (an asset's rows never mix with
    another's, so nothing is re-added), exposure columns included."""
    full = fg.flow_gex(market.trades, market.chain, market.spot, greeks=greeks)
    parts = []
    for asset in ("SOL", "BTC", "ETH"):  # not in name order: merge must restore the core's order
        parts.append(
            fg.flow_gex(
                market.trades.filter(
                    pc.match_substring_regex(market.trades["instrument"].cast("string"), f"^{asset}[-_]")
                ),
                market.chain.filter(
                    pc.match_substring_regex(market.chain["instrument"].cast("string"), f"^{asset}[-_]")
                ),
                market.spot,
                start=full.times[0],
                end=full.times[-1],
                greeks=greeks,
            ).data
        )
    reg, inst_maps, asset_maps = union([d.registry for d in parts])
    assert reg.assets == ("BTC", "ETH", "SOL")
    assert sorted(reg.name.tolist()) == sorted(full.data.registry.name.tolist())
    merged = merge(list(zip(parts, inst_maps, asset_maps)), reg, last_step=int(full.data.steps.time[-1]))
    for name in ("inventory", "by_strike", "by_expiry", "total"):
        a, b = getattr(merged, name).columns(), getattr(full.data, name).columns()
        if name == "inventory":  # ids differ (canonical vs registration order): compare the names
            a["inst"], b["inst"] = reg.name[a["inst"]], full.data.registry.name[b["inst"]]
        assert a.keys() == b.keys()
        for c in a:
            assert np.array_equal(a[c], b[c]), (name, c)
            assert a[c].dtype == b[c].dtype, (name, c)


def test_union_keeps_an_option_once_and_maps_every_id(market: fg.SimulatedMarket) -> None:
    """The same registry twice (and an empty one): each option once, both maps onto the same ids."""
    reg = fg.flow_gex(market.trades, market.chain, market.spot).data.registry
    empty = reg.take(np.zeros(0, np.int64))
    out, inst_maps, asset_maps = union([reg, empty, reg])
    assert len(out) == len(reg) and out.assets == tuple(sorted(reg.assets))
    assert np.array_equal(inst_maps[0], inst_maps[2]) and len(inst_maps[1]) == 0
    assert out.name[inst_maps[0]].tolist() == reg.name.tolist()
    assert [out.assets[i] for i in asset_maps[0]] == list(reg.assets)
