"""``plot_strikes(..., exposure="dex"|"vex"|"cex")``: the bars are the result's
by-strike exposure, labelled with its own unit; a column not computed is an
OptionError."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex

import flowgex as fg
from flowgex._chart_style import GREEN, RED
from test_levels_profile import flow_market


@pytest.fixture(scope="module")
def res() -> fg.GexResult:
    return fg.flow_gex(flow_market(), resolution="1h", greeks=("delta", "vanna", "charm"))


@pytest.mark.parametrize(
    "exposure, label",
    [
        ("dex", "DEX: delta held (USD)"),
        ("vex", "VEX: delta change per +1 vol point (USD)"),
        ("cex", "CEX: delta change per day (USD)"),
    ],
)
def test_exposure_bars(res, exposure, label, tmp_path):
    lv = fg.levels(res, "BTC")
    fig = fg.plot_strikes(res, "BTC", exposure=exposure, path=tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
    (ax,) = fig.axes
    assert ax.get_ylabel() == label
    assert ax.get_title().startswith(f"BTC flow {exposure.upper()} by strike")
    by = res.by_strike(asset="BTC", at="last")
    by = by[(by.strike - lv.spot).abs() <= 0.15 * lv.spot]
    assert len(ax.patches) == len(by) > 0
    for bar, (k, v) in zip(ax.patches, zip(by.strike, by[exposure])):
        assert bar.get_x() + bar.get_width() / 2 == pytest.approx(k)
        assert bar.get_height() == pytest.approx(v)
        assert to_hex(bar.get_facecolor()) == (GREEN if v >= 0 else RED)
    assert not any("wall" in t.get_text() for t in ax.texts)


def test_missing_exposure_is_an_option_error(tmp_path):
    plain = fg.flow_gex(flow_market(), resolution="1h", greeks=("charm",))
    with pytest.raises(fg.errors.OptionError, match="exposure"):
        fg.plot_strikes(plain, "BTC", exposure="vex")
    fig = fg.plot_strikes(plain, "BTC", exposure="cex")
    assert fig.axes[0].get_ylabel().startswith("CEX")


def test_heatmap_of_an_exposure(res, tmp_path):
    fig = fg.plot_heatmap(res, "BTC", exposure="vex", path=tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    ax = fig.axes[0]
    assert ax.get_title() == "BTC flow VEX by strike and time"
    assert fig.axes[1].get_ylabel() == "VEX: delta change per +1 vol point (USD)"
    mesh = next(c for c in ax.collections if c.__class__.__name__ == "QuadMesh")
    z = np.asarray(mesh.get_array()).reshape(-1)
    by = res.by_strike(asset="BTC")
    # Every drawn cell is a by-strike VEX value or 0 (no row), and the largest one is drawn.
    assert np.isin(z[z != 0], by["vex"].to_numpy()).all()
    assert np.abs(z).max() > 0
    with pytest.raises(fg.errors.OptionError, match="exposure"):
        fg.plot_heatmap(fg.flow_gex(flow_market(), resolution="1h"), "BTC", exposure="dex")
