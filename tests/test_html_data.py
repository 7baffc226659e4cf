"""report.html: the numbers in the page are the library's, read back out of the written file.

Every expected value here comes from the public functions called directly
(fg.levels, fg.profile, res.by_strike, fg.compare at each time), not from the
levels series or the bar-building code the page writer uses.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from tests.html_page import bars, f64, market_results, read_blob

import flowgex as fg
from flowgex.html import page_data

FILTERS = {
    "all": {},
    "ex_next": {"exclude_next": True},
    "max_7d": {"max_days": 7.0},
    "max_1d": {"max_days": 1.0},
}


@pytest.fixture(scope="module")
def results():
    return market_results()


@pytest.fixture(scope="module")
def page(results, tmp_path_factory):
    flow, classic = results
    path = tmp_path_factory.mktemp("html") / "report.html"
    fg.write_html(flow, path, classic=classic, max_days=(7, 1), max_steps=40)
    return path, read_blob(path)


def _nan_or(x):
    return np.nan if x is None else x


def test_offered_times_are_every_kth_grid_time_ending_at_the_last(results, page):
    flow, _ = results
    _, data = page
    assert [f["key"] for f in data["filters"]] == list(FILTERS)
    for asset in ("BTC", "ETH"):
        times = flow.total(asset=asset)["time"]
        n = len(times)
        assert n == 288 and data["assets"][asset]["steps"] == n
        stride = -(-n // 40)  # ceil: 8 -> 36 offered steps
        expected = [int(t.value // 10**9) for t in times.iloc[::-1].iloc[::stride].iloc[::-1]]
        assert data["assets"][asset]["t"] == expected
        assert data["assets"][asset]["stride"] == stride
        assert expected[-1] == int(times.iloc[-1].value // 10**9)


@pytest.mark.parametrize("key", list(FILTERS))
def test_bars_levels_and_profile_equal_the_library(results, page, key):
    flow, _ = results
    _, data = page
    res = flow.filter(**FILTERS[key]) if FILTERS[key] else flow
    rel = np.linspace(0.8, 1.2, 81)
    assert np.array_equal(f64(data["rel"]), rel)
    for asset in ("BTC", "ETH"):
        v = data["assets"][asset]["variants"][key]
        times = data["assets"][asset]["t"]
        spot, total, near, flip = (f64(v[c]) for c in ("spot", "total", "near", "flip"))
        pwall, nwall = f64(v["pwall"]), f64(v["nwall"])
        prof = f64(v["profile"]).reshape(len(times), len(rel))
        for j in (0, len(times) // 2, len(times) - 1):
            at = pd.Timestamp(times[j], unit="s", tz="UTC")
            lv = fg.levels(res, asset, at=at)
            assert lv.time == at
            assert spot[j] == lv.spot and total[j] == lv.total_gex
            # The levels series sums near-spot GEX with bincount, fg.levels with a pairwise sum: an ulp apart.
            assert near[j] == pytest.approx(lv.near_spot_gex, rel=1e-12, abs=1e-9)
            np.testing.assert_array_equal(
                [flip[j], pwall[j], nwall[j]], [_nan_or(lv.flip), _nan_or(lv.positive_wall), _nan_or(lv.negative_wall)]
            )
            assert v["regime"][j] == ("S" if lv.regime == "sticky" else "L")

            table = res.by_strike(asset=asset, at=at)
            table = table[(table["strike"] - lv.spot).abs() <= 0.15 * lv.spot]
            b = bars(v, j)
            assert len(b["strike"]) == len(table) > 0
            np.testing.assert_array_equal(b["strike"], table["strike"])
            np.testing.assert_array_equal(b["call"], table["call_gex"])
            np.testing.assert_array_equal(b["put"], table["put_gex"])
            np.testing.assert_array_equal(b["gex"], table["gex"])

            curve = fg.profile(res, asset, at=at, spots=rel * lv.spot)
            np.testing.assert_array_equal(prof[j], curve["gex"])


def test_classic_curve_and_comparison_equal_the_library(results, page):
    flow, classic = results
    _, data = page
    for asset in ("BTC", "ETH"):
        c = data["assets"][asset]["variants"]["all"]["classic"]
        cmp = fg.compare(flow, classic, asset)
        lv = fg.levels(classic, asset)
        assert c["summary"] == cmp.summary
        assert c["sign_agreement"] == cmp.sign_agreement
        assert (c["flow_total"], c["classic_total"]) == (cmp.flow_total, cmp.classic_total)
        assert c["flip"] == lv.flip and c["spot"] == lv.spot
        curve = fg.profile(classic, asset, spots=np.linspace(0.8, 1.2, 81) * lv.spot)["gex"]
        np.testing.assert_array_equal(f64(c["curve"]), curve)
        assert sum(c["verdicts"].values()) == len(cmp.table)
        top = f64(c["top"]["strike"])
        biggest = cmp.table.loc[cmp.table["difference"].abs().idxmax(), "strike"]
        assert top[0] == biggest
        # The filtered page compares the filtered classic result.
        ex = data["assets"][asset]["variants"]["ex_next"]["classic"]
        assert (
            ex["summary"]
            == fg.compare(flow.filter(exclude_next=True), classic.filter(exclude_next=True), asset).summary
        )


def test_page_is_self_contained_and_rewritten_atomically(results, page, tmp_path):
    flow, _ = results
    path, _ = page
    text = path.read_text(encoding="utf-8")
    assert "<script src" not in text and "<link" not in text
    assert "http://" not in text.split('id="fgx-data"')[1]  # nothing after plotly.js points outside
    # A second write to the same path replaces the file and leaves no temporary file behind.
    out = tmp_path / "sub" / "report.html"
    fg.write_html(flow, out, assets=["eth"], max_steps=5, max_days=())
    first = read_blob(out)
    assert list(first["assets"]) == ["ETH"] and len(first["assets"]["ETH"]["t"]) == 5
    assert [f["key"] for f in first["filters"]] == ["all", "ex_next"]
    fg.write_html(flow, out, assets=["BTC"], max_steps=3, max_days=2)
    assert list(read_blob(out)["assets"]) == ["BTC"]
    assert sorted(os.listdir(out.parent)) == ["report.html"]


def test_a_result_with_only_the_last_inventory_shows_the_last_time(tmp_path):
    m = fg.simulate(days=1, assets=("BTC",), seed=3, trades_per_day=500)
    res = fg.flow_gex(m.trades, spot=m.spot, keep_inventory="last")
    data = read_blob(fg.write_html(res, tmp_path / "r.html"))
    assert data["assets"]["BTC"]["t"] == [int(res.times[-1].value // 10**9)]
    assert [f["key"] for f in data["filters"]] == ["all"]
    lv = fg.levels(res, "BTC")
    v = data["assets"]["BTC"]["variants"]["all"]
    assert f64(v["spot"])[0] == lv.spot and f64(v["total"])[0] == lv.total_gex
    assert any("last grid time" in n for n in data["notes"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"assets": ["DOGE"]}, "DOGE"),
        ({"assets": "BTC"}, "list of names"),
        ({"assets": []}, "at least one"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": True}, "max_steps"),
        ({"max_days": (-1,)}, "max_days"),
        ({"max_days": (float("nan"),)}, "max_days"),
        ({"max_days": "7"}, "max_days"),
        ({"classic": "oi"}, "classic"),
    ],
)
def test_bad_options_are_clear_errors(results, tmp_path, kwargs, match):
    flow, _ = results
    with pytest.raises(fg.OptionError, match=match):
        fg.write_html(flow, tmp_path / "r.html", **kwargs)
    assert not (tmp_path / "r.html").exists()


def test_bad_targets_are_clear_errors(results, tmp_path):
    flow, _ = results
    with pytest.raises(fg.OptionError, match="GexResult"):
        fg.write_html(flow.by_strike(), tmp_path / "r.html")
    with pytest.raises(fg.OptionError, match="folder"):
        fg.write_html(flow, tmp_path, max_steps=2)


def test_a_classic_result_alone_and_a_title_with_markup(results, tmp_path):
    _, classic = results
    path = fg.write_html(classic, tmp_path / "c.html", title="<b>OI</b> & co")
    text = path.read_text(encoding="utf-8")
    assert "<title>&lt;b&gt;OI&lt;/b&gt; &amp; co</title>" in text and "<b>OI</b>" not in text
    data = read_blob(path)
    assert data["title"] == "<b>OI</b> & co" and data["resolution_s"] is None
    lv = fg.levels(classic, "BTC")
    v = data["assets"]["BTC"]["variants"]["all"]
    assert data["assets"]["BTC"]["t"] == [int(lv.time.value // 10**9)]
    assert f64(v["spot"])[0] == lv.spot and f64(v["total"])[0] == lv.total_gex


def test_exposures_travel_only_when_computed_with_their_units(results, page, tmp_path):
    _, data = page
    assert data["exposures"] == [{"key": "gex", "name": "GEX", "label": "GEX (USD per 1% move)"}]
    assert all(v["bars"]["x"] == {} for a in data["assets"].values() for v in a["variants"].values())
    flow, _ = market_results(greeks=fg.GREEKS)
    data = read_blob(fg.write_html(flow, tmp_path / "greeks.html", max_days=(7,), max_steps=40))
    assert [(e["key"], e["name"]) for e in data["exposures"]] == [
        ("gex", "GEX"),
        ("dex", "DEX"),
        ("vex", "VEX"),
        ("cex", "CEX"),
    ]
    labels = {e["key"]: e["label"] for e in data["exposures"]}
    assert labels["dex"] == "DEX: delta held (USD)"
    assert labels["vex"] == "VEX: delta change per +1 vol point (USD)"
    assert labels["cex"] == "CEX: delta change per day (USD)"
    # In underlying units the labels drop USD, as the PNG charts' do.
    m = fg.simulate(days=1, assets=("BTC",), seed=3, trades_per_day=300)
    und = fg.flow_gex(m.trades, spot=m.spot, greeks=fg.GREEKS, unit="underlying")
    und_labels = {e["key"]: e["label"] for e in page_data(und)["exposures"]}
    assert und_labels["dex"] == "DEX: delta held (underlying units)"
    assert und_labels["gex"] == "GEX (underlying units per 1-point move)"


@pytest.mark.parametrize("key", ["all", "max_7d"])
def test_dex_vex_cex_bars_equal_by_strike(tmp_path, key):
    flow, _ = market_results(greeks=fg.GREEKS)
    data = read_blob(fg.write_html(flow, tmp_path / "greeks.html", max_days=(7,), max_steps=40))
    res = flow.filter(**FILTERS[key]) if FILTERS[key] else flow
    for asset in ("BTC", "ETH"):
        v = data["assets"][asset]["variants"][key]
        times = data["assets"][asset]["t"]
        for j in (0, len(times) - 1):
            at = pd.Timestamp(times[j], unit="s", tz="UTC")
            spot = fg.levels(res, asset, at=at).spot
            table = res.by_strike(asset=asset, at=at)
            table = table[(table["strike"] - spot).abs() <= 0.15 * spot]
            b = bars(v, j)
            assert len(b["strike"]) == len(table) > 0
            np.testing.assert_array_equal(b["strike"], table["strike"])
            for e in ("gex", "dex", "vex", "cex"):
                np.testing.assert_array_equal(b[e], table[e])
            assert np.any(b["dex"] != 0) and np.any(b["vex"] != 0) and np.any(b["cex"] != 0)
