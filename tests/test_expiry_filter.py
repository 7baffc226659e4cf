"""res.filter: the classic tools' expiry filters, checked against the inventory
rows filtered and summed by hand (pandas group-bys written in the test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brute
import flowgex as fg
from test_api import market

DAY = pd.Timedelta("1D")


@pytest.fixture(scope="module")
def res() -> fg.GexResult:
    return fg.flow_gex(market(800))


def by_strike_by_hand(inv: pd.DataFrame) -> pd.DataFrame:
    inv = inv.assign(call_gex=np.where(inv.kind == "C", inv.gex, 0.0), put_gex=np.where(inv.kind == "P", inv.gex, 0.0))
    out = inv.groupby(["time", "asset", "strike"], as_index=False)[["call_gex", "put_gex", "gex"]].sum()
    return out.sort_values(["time", "asset", "strike"], ignore_index=True)


def check(filtered: fg.GexResult, kept: pd.DataFrame, original: fg.GexResult) -> None:
    got = filtered.by_strike().sort_values(["time", "asset", "strike"], ignore_index=True)
    want = by_strike_by_hand(kept)
    assert len(got) == len(want)
    np.testing.assert_allclose(got[["call_gex", "put_gex", "gex"]], want[["call_gex", "put_gex", "gex"]], rtol=1e-12)
    assert (got["strike"].to_numpy() == want["strike"].to_numpy()).all()
    exp = kept.groupby(["time", "asset", "expiry"], as_index=False)["gex"].sum()
    got_e = filtered.by_expiry().sort_values(["time", "asset", "expiry"], ignore_index=True)
    np.testing.assert_allclose(got_e["gex"], exp["gex"], rtol=1e-12)
    tot = original.total()[["time", "asset", "spot"]].merge(
        kept.groupby(["time", "asset"], as_index=False)["gex"].sum(), how="left", on=["time", "asset"]
    )
    got_t = filtered.total()
    assert (got_t["spot"].to_numpy() == tot["spot"].to_numpy()).all()
    np.testing.assert_allclose(got_t["gex"], tot["gex"].fillna(0.0), rtol=1e-12, atol=1e-9)
    pd.testing.assert_frame_equal(filtered.inventory().reset_index(drop=True), kept.reset_index(drop=True))


def test_no_filter_reproduces_the_engine(res):
    same = res.filter()
    pd.testing.assert_frame_equal(same.by_strike(), res.by_strike(), rtol=1e-12)
    pd.testing.assert_frame_equal(same.by_expiry(), res.by_expiry(), rtol=1e-12)
    pd.testing.assert_frame_equal(same.total(), res.total(), rtol=1e-12)


def test_max_days(res):
    inv = res.inventory()
    for days in (4.0, 5.5, 30):
        kept = inv[(inv.expiry - inv.time) <= days * DAY]
        check(res.filter(max_days=days), kept, res)


def test_exclude_next(res):
    inv = res.inventory()
    nearest = inv.groupby(["time", "asset"])["expiry"].transform("min")
    kept = inv[inv.expiry != nearest]
    check(res.filter(exclude_next=True), kept, res)


def test_one_expiry_by_date(res):
    inv = res.inventory()
    kept = inv[inv.expiry.dt.date == pd.Timestamp("2024-12-27").date()]
    check(res.filter(expiry="2024-12-27"), kept, res)
    check(res.filter(expiry=pd.Timestamp("2024-12-27T15:00Z")), kept, res)


def test_filters_combine(res):
    inv = res.inventory()
    nearest = inv.groupby(["time", "asset"])["expiry"].transform("min")
    kept = inv[(inv.expiry != nearest) & ((inv.expiry - inv.time) <= 30 * DAY)]
    check(res.filter(exclude_next=True, max_days=30), kept, res)


def test_levels_and_profile_follow_the_filter(res):
    f = res.filter(exclude_next=True)
    rows, spot, _ = brute.options(f, "BTC", "last")
    assert {r["tau"] for r in rows} and len(rows) < len(res.inventory(at="last", asset="BTC"))
    want = brute.levels(rows, spot)
    lv = fg.levels(f, "BTC")
    assert brute.close(lv.near_spot_gex, want["near_spot_gex"]) and lv.positive_wall == want["positive_wall"]
    np.testing.assert_allclose(
        fg.profile(f, "BTC", spots=[spot])["gex"], [brute.gex_at(rows, spot, spot)], rtol=1e-9, atol=1e-9
    )
    assert fg.filter_expiries(res, exclude_next=True).by_strike().equals(f.by_strike())


def test_classic_results_filter_too():
    chain = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-12-01T00:00Z"),
            "instrument": ["BTC-6DEC24-95000-C", "BTC-27DEC24-95000-C", "BTC-27DEC24-90000-P"],
            "mark_iv": [0.5, 0.5, 0.6],
            "underlying_price": [96_000.0] * 3,
            "open_interest": [10.0, 20.0, 30.0],
        }
    )
    c = fg.classic_gex(chain)
    assert set(c.filter(exclude_next=True).inventory().instrument) == {"BTC-27DEC24-95000-C", "BTC-27DEC24-90000-P"}
    assert set(c.filter(max_days=7).inventory().instrument) == {"BTC-6DEC24-95000-C"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_days": -1}, "max_days"),
        ({"max_days": "x"}, "max_days"),
        ({"exclude_next": 1}, "exclude_next"),
        ({"expiry": "not a date"}, "expiry"),
    ],
)
def test_bad_filters(res, kwargs, match):
    with pytest.raises(fg.OptionError, match=match):
        res.filter(**kwargs)


def test_filter_needs_every_steps_inventory():
    with pytest.raises(fg.OptionError, match="keep_inventory='all'"):
        fg.flow_gex(market(200), keep_inventory="last").filter(max_days=3)
