"""``GexResult.changes`` (DESIGN rule 17) against a hand computation from the
result's own tables at the two times: value(t) − value(t − L) per strike or
expiry, a key absent at one time counting 0, inventory change summed over the
key's options, sorted by |GEX change|."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import flowgex as fg
from simmarket import market

KW = {"missing_vol": 0.5, "missing_spot": "skip", "errors": "quarantine"}


@pytest.fixture(scope="module")
def res():
    m = market(5, 1500, chain=True, spot=True)
    return fg.flow_gex(m.trades, m.chain, m.spot, greeks=("gamma", "delta", "charm"), **KW)


def _by_key(frame: pd.DataFrame, key: str, col: str) -> dict:
    out: dict = {}
    for k, v in zip(frame[key], frame[col]):
        out[k] = out.get(k, 0.0) + float(v)
    return out


@pytest.mark.parametrize(
    "asset, lookback, at, by",
    [
        ("BTC", "1h", "last", "strike"),
        ("eth", "6h", 40, "strike"),
        ("SOL", "30min", 200, "expiry"),
        ("BTC", "2h", 15, "expiry"),
    ],
)
def test_changes_equal_a_hand_computation(res, asset, lookback, at, by):
    t1 = res.times[-1] if at == "last" else res.times[at]
    t0 = t1 - pd.Timedelta(lookback)
    got = res.changes(asset, lookback=lookback, at="last" if at == "last" else t1, by=by)
    table = res.by_strike if by == "strike" else res.by_expiry
    cols = ["gex", "dex", "cex"]
    now = {c: _by_key(table(asset, at=t1), by, c) for c in cols}
    before = {c: _by_key(table(asset, at=t0), by, c) for c in cols}
    inv_now = _by_key(res.inventory(at=t1, asset=asset), by, "inventory")
    inv_before = _by_key(res.inventory(at=t0, asset=asset), by, "inventory")
    keys = set(now["gex"]) | set(before["gex"])
    assert len(got) == len(keys) > 0
    assert "vex" not in got.columns and "vex_change" not in got.columns
    for row in got.itertuples(index=False):
        k = getattr(row, by)
        k = k if by == "strike" else pd.Timestamp(k)
        for c in cols:
            a, b = now[c].get(k, 0.0), before[c].get(k, 0.0)
            assert getattr(row, c) == a and getattr(row, f"{c}_before") == b
            assert getattr(row, f"{c}_change") == a - b
        assert math.isclose(row.inventory_change, inv_now.get(k, 0.0) - inv_before.get(k, 0.0), abs_tol=1e-9)
        assert row.time == t1 and row.before == t0 and row.asset == asset.upper()
    size = got["gex_change"].abs().to_numpy()
    assert (size[:-1] >= size[1:]).all()


def test_a_strike_absent_before_counts_zero(res):
    # Early in the run most strikes have not traded an hour before.
    t1 = res.times[12]
    got = res.changes("BTC", lookback="2h", at=t1)
    before = set(res.by_strike("BTC", at=t1 - pd.Timedelta("2h"))["strike"])
    new = got[~got["strike"].isin(before)]
    assert len(new) > 0
    assert (new["gex_before"] == 0).all() and (new["gex_change"] == new["gex"]).all()
    assert (new["dex_change"] == new["dex"]).all()


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"lookback": "7min"}, "grid"),
        ({"lookback": "3000D"}, "first grid time"),
        ({"lookback": "-1h"}, "lookback"),
        ({"lookback": "soon"}, "lookback"),
        ({"by": "kind"}, "by"),
        ({"at": None}, "at"),
    ],
)
def test_bad_options_are_option_errors(res, kw, match):
    with pytest.raises(fg.errors.OptionError, match=match):
        res.changes("BTC", **kw)
    with pytest.raises(fg.errors.OptionError, match="asset"):
        res.changes("DOGE")


def test_dropped_rows_are_refused_not_read_as_zero():
    m = market(5, 800, chain=True, spot=True)
    lean = fg.flow_gex(m.trades, m.chain, m.spot, keep_aggregates="last", keep_inventory="last", **KW)
    with pytest.raises(fg.errors.OptionError, match="keep_"):
        lean.changes("BTC", lookback="1h")
