"""The strike chart: GEX by strike at one time, with spot, flip and walls marked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .._chart_style import (
    FLIP,
    GREEN,
    RED,
    SPOT,
    check_exposure,
    exposure_label,
    new_figure,
    plain,
    price_formatter,
    price_text,
    save,
    stamp,
    value_text,
)
from .._chart_style import value_formatter as _values
from ..analytics.levels import Levels, levels

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["plot_strikes"]


def _label_wall(ax: Any, strike: float | None, value: float, text: str, color: str) -> None:
    if strike is None:
        return
    ax.annotate(
        f"{text} {price_text(strike)}",
        xy=(strike, value),
        xytext=(0, 10 if value >= 0 else -10),
        textcoords="offset points",
        ha="center",
        va="bottom" if value >= 0 else "top",
        fontsize=9,
        fontweight="bold",
        color=color,
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    )


def plot_strikes(
    res: GexResult,
    asset: str,
    *,
    at: Any = None,
    width: float = 0.15,
    lv: Levels | None = None,
    title: str | None = None,
    path: str | Path | None = None,
    exposure: str = "gex",
) -> Figure:
    """GEX (or ``exposure="dex"``, ``"vex"``, ``"cex"`` when computed) by strike as bars
    (green positive, red negative) for strikes within ±``width`` of spot.

    Spot and the gamma flip are vertical lines, the positive and negative
    walls are labelled, the y axis carries the result's unit and the title the
    asset, method and time. ``lv`` reuses levels already computed. Returns the
    Figure; with ``path`` it is also written as a PNG. For another exposure the
    spot and flip lines stay; the GEX walls are not labelled.
    """
    check_exposure(res, exposure)
    lv = lv if lv is not None else levels(res, asset, at=at)
    table = res.by_strike(asset=lv.asset, at=lv.time)
    k = table["strike"].to_numpy(dtype=np.float64)
    g = table[exposure].to_numpy(dtype=np.float64)
    if lv.spot > 0:
        near = np.abs(k - lv.spot) <= width * lv.spot
        if near.any():
            k, g = k[near], g[near]
    fig = new_figure()
    ax = fig.add_subplot()
    gaps = np.diff(np.unique(k))
    bar = 0.8 * (gaps.min() if len(gaps) else max(abs(lv.spot) * 0.01, 1.0))
    ax.bar(k, g, width=bar, color=np.where(g >= 0, GREEN, RED))
    ax.axhline(0, color="#555555", lw=0.8)
    if lv.spot > 0:
        ax.axvline(lv.spot, color=SPOT, lw=1.6, ls="--", label=f"spot {price_text(lv.spot)}")
    if lv.flip is not None:
        ax.axvline(lv.flip, color=FLIP, lw=1.6, ls=":", label=f"gamma flip {price_text(lv.flip)}")
    by_k = dict(zip(k, g)) if exposure == "gex" else {}
    if lv.positive_wall in by_k:
        _label_wall(ax, lv.positive_wall, by_k[lv.positive_wall], "+ wall", GREEN)
    if lv.negative_wall in by_k:
        _label_wall(ax, lv.negative_wall, by_k[lv.negative_wall], "\u2212 wall", RED)
    ax.margins(y=0.15)
    ax.xaxis.set_major_formatter(price_formatter())
    ax.yaxis.set_major_formatter(_values(res.unit))
    ax.set_xlabel("strike")
    ax.set_ylabel(exposure_label(exposure, res.unit))
    ax.grid(axis="y", alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    if exposure == "gex":
        handles += [Patch(color=GREEN, label="dealers long gamma"), Patch(color=RED, label="dealers short gamma")]
    else:
        name = exposure.upper()
        handles += [Patch(color=GREEN, label=f"positive {name}"), Patch(color=RED, label=f"negative {name}")]
    ax.legend(handles=handles, loc="upper left", fontsize=9, framealpha=0.9)
    shown = "GEX" if exposure == "gex" else exposure.upper()
    ax.set_title(title or f"{lv.asset} {res.method} {shown} by strike \u2014 {stamp(lv.time)}", fontsize=13)
    ax.text(
        0.99,
        0.97,
        plain(
            f"total {value_text(lv.total_gex, res.unit)}  \u00b7  near spot "
            f"{value_text(lv.near_spot_gex, res.unit)} ({lv.regime})"
        ),
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=9,
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "#cccccc"},
    )
    save(fig, path)
    return fig
