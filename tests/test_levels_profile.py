"""fg.profile and fg.levels against a brute-force computation (tests/brute.py:
reference.gamma, plain loops, bisection), on flow and on classic results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brute
import flowgex as fg

T0 = pd.Timestamp("2024-12-02T00:00:00Z")


def flow_market(n: int = 600, seed: int = 11) -> pd.DataFrame:
    """Takers buy upside calls and sell downside puts: dealers short calls above, long puts below."""
    rng = np.random.default_rng(seed)
    strikes = np.array([88_000, 92_000, 94_000, 96_000, 98_000, 100_000, 104_000])
    k = strikes[rng.integers(0, len(strikes), n)]
    call = k >= 96_000
    expiry = np.where(rng.random(n) < 0.6, "6DEC24", "27DEC24")
    buy = np.where(call, rng.random(n) < 0.8, rng.random(n) < 0.2)
    return pd.DataFrame(
        {
            "timestamp": T0 + pd.to_timedelta(np.sort(rng.integers(0, 86_400, n)), unit="s"),
            "instrument": [f"BTC-{e}-{s}-{'C' if c else 'P'}" for e, s, c in zip(expiry, k, call)],
            "side": np.where(buy, "buy", "sell"),
            "amount": rng.integers(1, 30, n) / 10.0,
            "index_price": 96_000 * np.exp(np.cumsum(rng.normal(0, 0.0005, n))),
            "iv": rng.uniform(0.45, 0.7, n),
        }
    )


def classic_chain() -> pd.DataFrame:
    rows = []
    for e, tau_vol in (("6DEC24", 0.6), ("27DEC24", 0.55)):
        for k in (85_000, 90_000, 95_000, 100_000, 105_000, 110_000):
            for kind in "CP":
                rows.append(
                    {
                        "timestamp": T0,
                        "instrument": f"BTC-{e}-{k}-{kind}",
                        "mark_iv": tau_vol + 0.02 * abs(np.log(k / 97_000)) * 10,
                        "underlying_price": 97_000.0,
                        # Downside puts and upside calls: classic GEX negative below spot, positive above.
                        "open_interest": float(
                            60 if kind == "P" and k < 97_000 else 40 + k // 5000 if kind == "C" and k > 97_000 else 5
                        ),
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def flow() -> fg.GexResult:
    return fg.flow_gex(flow_market())


@pytest.fixture(scope="module")
def classic() -> fg.GexResult:
    return fg.classic_gex(classic_chain())


@pytest.mark.parametrize("which", ["flow", "classic"])
def test_profile_equals_brute_force(which, flow, classic):
    res = flow if which == "flow" else classic
    at = res.times[len(res.times) // 2] if which == "flow" else None
    rows, spot, _ = brute.options(res, "BTC", at if at is not None else "last")
    curve = fg.profile(res, "BTC", at=at)
    assert list(curve.columns) == ["spot", "gex"] and len(curve) == 401
    np.testing.assert_allclose(curve["spot"], np.linspace(0.8, 1.2, 401) * spot, rtol=1e-15)
    expected = np.array([brute.gex_at(rows, spot, x) for x in curve["spot"]])
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(curve["gex"], expected, rtol=0, atol=1e-9 * scale)
    # At x = spot the curve is the total GEX of the live book.
    totals = res.total(asset="BTC")
    t = res.times[len(res.times) // 2] if which == "flow" else res.times[-1]
    total = totals.loc[totals["time"] == t, "gex"].iloc[0]
    assert np.isclose(fg.profile(res, "BTC", at=at, spots=[spot])["gex"].iloc[0], total, rtol=1e-9)


@pytest.mark.parametrize("which", ["flow", "classic"])
def test_levels_equal_brute_force(which, flow, classic):
    res = flow if which == "flow" else classic
    rows, spot, t = brute.options(res, "BTC", "last")
    want = brute.levels(rows, spot)
    got = fg.levels(res, "btc")
    assert got.asset == "BTC" and got.time == t and got.spot == spot and got.unit == "usd_per_1pct"
    assert len(want["flips"]) >= 1, "the fixture should cross zero"
    assert len(got.flips) == len(want["flips"])
    for a, b in zip(got.flips, want["flips"]):
        assert brute.close(a, b, rel=1e-9)
    assert brute.close(got.flip, want["flip"], rel=1e-9)
    for key in ("positive_wall", "negative_wall", "abs_gamma_strike"):
        assert getattr(got, key) == want[key], key
    assert brute.close(got.near_spot_gex, want["near_spot_gex"], rel=1e-9)
    assert brute.close(got.total_gex, want["total"], rel=1e-9)
    assert got.regime == want["regime"]
    assert got.as_dict()["flip"] == got.flip


def test_flow_and_classic_disagree_on_this_market(flow, classic):
    """Dealers short upside calls (flow) vs long calls (classic): opposite walls above spot."""
    lf = fg.levels(flow, "BTC")
    assert lf.negative_wall is not None and lf.negative_wall >= 96_000
    assert lf.positive_wall is not None and lf.positive_wall < 96_000


def test_band_controls_near_spot_gex(flow):
    by = flow.by_strike(asset="BTC", at="last")
    spot = fg.levels(flow, "BTC").spot
    for band in (0.0, 0.01, 0.05, 0.5):
        want = by.loc[(by.strike - spot).abs() <= band * spot, "gex"].sum()
        assert fg.levels(flow, "BTC", band=band).near_spot_gex == pytest.approx(want, rel=1e-12, abs=1e-9)


def test_custom_spots_and_an_earlier_time(flow):
    at = flow.times[10]
    rows, spot, t = brute.options(flow, "BTC", at)
    xs = [90_000.0, 95_500.0, 101_000.0]
    curve = fg.profile(flow, "BTC", at=at, spots=xs)
    np.testing.assert_allclose(curve["gex"], [brute.gex_at(rows, spot, x) for x in xs], rtol=1e-9)
    assert fg.levels(flow, "BTC", at=at + pd.Timedelta("3min")).time == t


def test_a_lone_long_option_has_no_flip_and_is_sticky():
    trades = pd.DataFrame(
        {
            "timestamp": [T0],
            "instrument": ["BTC-27DEC24-96000-C"],
            "side": ["sell"],  # taker sells: dealers long
            "amount": [5.0],
            "index_price": [96_000.0],
            "iv": [0.5],
        }
    )
    lv = fg.levels(fg.flow_gex(trades), "BTC")
    assert lv.flip is None and lv.flips == () and lv.regime == "sticky"
    assert lv.positive_wall == 96_000 and lv.negative_wall is None and lv.abs_gamma_strike == 96_000
    assert (fg.profile(fg.flow_gex(trades), "BTC")["gex"] > 0).all()


def test_zero_gex_is_slippery_and_has_no_walls():
    trades = pd.DataFrame(
        {
            "timestamp": [T0, T0 + pd.Timedelta("1s")],
            "instrument": ["BTC-27DEC24-96000-C"] * 2,
            "side": ["buy", "sell"],  # flat again: live with inventory 0
            "amount": [2.0, 2.0],
            "index_price": [96_000.0] * 2,
            "iv": [0.5] * 2,
        }
    )
    lv = fg.levels(fg.flow_gex(trades), "BTC")
    assert lv.near_spot_gex == 0 and lv.regime == "slippery"
    assert lv.positive_wall is None and lv.negative_wall is None and lv.abs_gamma_strike is None and lv.flip is None


def test_unit_follows_the_result():
    res = fg.flow_gex(flow_market(200), unit="usd_per_point")
    rows, spot, _ = brute.options(res, "BTC", "last")
    curve = fg.profile(res, "BTC", spots=[spot * 0.95, spot])
    want = [brute.gex_at(rows, spot, x, unit="usd_per_point") for x in curve["spot"]]
    np.testing.assert_allclose(curve["gex"], want, rtol=1e-9)
    assert fg.levels(res, "BTC").unit == "usd_per_point"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spots": [3.0, 2.0]}, "strictly increasing"),
        ({"spots": [1.0, np.nan]}, "finite"),
        ({"spots": [[1.0]]}, "1-D"),
        ({"width": 1.5}, "width"),
        ({"points": 2}, "points"),
    ],
)
def test_bad_profile_options(flow, kwargs, match):
    with pytest.raises(fg.OptionError, match=match):
        fg.profile(flow, "BTC", **kwargs)


def test_bad_levels_options(flow):
    with pytest.raises(fg.OptionError, match="not in this result"):
        fg.levels(flow, "DOGE")
    with pytest.raises(fg.OptionError, match="band"):
        fg.levels(flow, "BTC", band=-0.1)
    with pytest.raises(fg.OptionError, match="before the first grid time"):
        fg.levels(flow, "BTC", at="2020-01-01")
