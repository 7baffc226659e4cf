"""Charts: valid non-empty PNGs, and Figures whose bars, lines, colours, labels
and titles carry the numbers of the analytics they draw."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_hex

import flowgex as fg
from flowgex._chart_style import GREEN, RED
from flowgex._format import compact, money, price_text
from test_levels_profile import classic_chain, flow_market

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def flow() -> fg.GexResult:
    return fg.flow_gex(flow_market(), resolution="1h")


def assert_png(path, *, min_bytes=10_000, max_bytes=300_000):
    data = path.read_bytes()
    assert data[:8] == PNG and min_bytes < len(data) < max_bytes
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 1000 and height >= 500


def test_tick_formats():
    assert [compact(x) for x in (86_000, 96_500, 1_200_000, 3_600, 230, 2.3, -350_000)] == [
        "86k",
        "96.5k",
        "1.2M",
        "3.6k",
        "230",
        "2.3",
        "\u2212350k",
    ]
    assert money(1_234_567) == "$1.23M" and money(-350_000) == "\u2212$350k" and money(0) == "$0"
    assert money(500e6, 2) == "$500M" and compact(150, 2) == "150" and compact(0.025) == "0.025"
    assert price_text(98_540.7) == "98,541" and price_text(2.31456) == "2.315" and price_text(None) == "none"


def test_strike_chart(flow, tmp_path):
    lv = fg.levels(flow, "BTC")
    fig = fg.plot_strikes(flow, "BTC", path=tmp_path / "s.png")
    assert_png(tmp_path / "s.png")
    (ax,) = fig.axes
    assert ax.get_title() == f"BTC flow GEX by strike \u2014 {lv.time:%Y-%m-%d %H:%M} UTC"
    assert ax.get_ylabel() == "GEX (USD per 1% move)" and ax.get_xlabel() == "strike"
    by = flow.by_strike(asset="BTC", at="last")
    by = by[(by.strike - lv.spot).abs() <= 0.15 * lv.spot]
    bars = ax.patches
    assert len(bars) == len(by)
    for bar, (k, g) in zip(bars, zip(by.strike, by.gex)):
        assert bar.get_x() + bar.get_width() / 2 == pytest.approx(k)
        assert bar.get_height() == pytest.approx(g)
        assert to_hex(bar.get_facecolor()) == (GREEN if g >= 0 else RED)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"spot {price_text(lv.spot)}" in labels and f"gamma flip {price_text(lv.flip)}" in labels
    texts = [t.get_text() for t in ax.texts]
    assert f"+ wall {price_text(lv.positive_wall)}" in texts
    assert f"\u2212 wall {price_text(lv.negative_wall)}" in texts
    assert "dealers long gamma" in labels and "dealers short gamma" in labels
    assert any(lv.regime in t for t in texts)
    ticks = [ax.xaxis.get_major_formatter()(v, 0) for v in (86_000, 100_000)]
    assert ticks == ["86k", "100k"] and ax.yaxis.get_major_formatter()(1_200_000, 0) == "$1.2M"


def test_heatmap(flow, tmp_path):
    fig = fg.plot_heatmap(flow, "BTC", path=tmp_path / "h.png")
    assert_png(tmp_path / "h.png")
    ax = fig.axes[0]
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    z = mesh.get_array()
    times = flow.times
    assert z.shape[1] == len(times)
    assert mesh.norm.vcenter == 0 and mesh.norm.vmin == -mesh.norm.vmax
    spot_line = [ln for ln in ax.lines if ln.get_label() == "spot"][0]
    np.testing.assert_allclose(spot_line.get_ydata(), flow.total(asset="BTC")["spot"])
    # The cells hold the by-strike GEX: each column sums to the strikes' total at that time.
    by = flow.by_strike(asset="BTC")
    lo, hi = flow.total(asset="BTC").spot.min() * 0.9, flow.total(asset="BTC").spot.max() * 1.1
    inside = by[(by.strike >= lo) & (by.strike <= hi)].groupby("time")["gex"].sum()
    np.testing.assert_allclose(np.asarray(z).sum(axis=0)[-len(inside) :], inside.to_numpy(), rtol=1e-9)
    assert "strike and time" in ax.get_title() and fig.axes[1].get_ylabel() == "GEX (USD per 1% move)"


def test_heatmap_with_the_flip_path(flow, tmp_path):
    series = flow.levels_series("BTC")
    fig = fg.plot_heatmap(flow, "BTC", flips=series)
    flip_line = [ln for ln in fig.axes[0].lines if ln.get_label() == "flip"][0]
    ys = np.asarray(flip_line.get_ydata(), dtype=float)
    assert np.array_equal(np.isnan(ys), series.flip.isna().to_numpy())


def test_profile_chart_with_classic_overlay(flow, tmp_path):
    classic = fg.classic_gex(classic_chain())
    fig = fg.plot_profile(flow, "BTC", others={"classic": classic}, path=tmp_path / "p.png")
    assert_png(tmp_path / "p.png")
    ax = fig.axes[0]
    main, other = ax.lines[0], ax.lines[1]
    curve = fg.profile(flow, "BTC")
    np.testing.assert_allclose(main.get_xdata(), curve.spot)
    np.testing.assert_allclose(main.get_ydata(), curve.gex)
    np.testing.assert_allclose(other.get_ydata(), fg.profile(classic, "BTC", spots=curve.spot).gex)
    lv = fg.levels(flow, "BTC")
    flip_dot = [ln for ln in ax.lines if ln.get_marker() == "o"][0]
    assert flip_dot.get_xdata()[0] == lv.flip and flip_dot.get_ydata()[0] == 0
    ylo, yhi = ax.get_ylim()
    assert ylo <= min(curve.gex.min(), np.min(other.get_ydata())) and yhi >= curve.gex.max()
    assert ax.get_xlabel() == "hypothetical spot" and "profile" in ax.get_title()


def test_other_units_and_empty_books(tmp_path):
    res = fg.flow_gex(flow_market(100), unit="underlying")
    fig = fg.plot_strikes(res, "BTC", path=tmp_path / "u.png")
    assert fig.axes[0].get_ylabel() == "GEX (underlying units per 1-point move)"
    assert fig.axes[0].yaxis.get_major_formatter()(1500, 0) == "1.5k"
    fg.plot_profile(res, "BTC", path=tmp_path / "u2.png")
    assert_png(tmp_path / "u2.png", min_bytes=5_000)
