"""The heatmap: GEX by strike (rows) and grid time (columns), with the spot path on top.

Colours diverge around zero (red negative, green positive, white none) with
symmetric limits at the 99th percentile of |GEX|, so one extreme cell does not
wash out the rest. Strikes shown are those within ±``width`` of the spot
path's range.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.figure import Figure

from .._chart_style import (
    GREEN,
    RED,
    SPOT,
    check_exposure,
    exposure_label,
    new_figure,
    price_formatter,
    save,
    value_formatter,
)
from ..analytics.book import check_asset
from ..errors import OptionError

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["plot_heatmap"]

_CMAP = LinearSegmentedColormap.from_list("flowgex_diverging", [RED, "#f7f7f7", GREEN])


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway between sorted centres (extended by half a gap at the ends)."""
    if len(centres) == 1:
        half = max(abs(centres[0]) * 0.005, 0.5)
        return np.array([centres[0] - half, centres[0] + half])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def plot_heatmap(
    res: GexResult,
    asset: str,
    *,
    width: float = 0.1,
    flips: pd.DataFrame | None = None,
    title: str | None = None,
    path: str | Path | None = None,
    exposure: str = "gex",
) -> Figure:
    """Strike × time heatmap of ``asset``'s GEX (or ``exposure="dex"``, ``"vex"``,
    ``"cex"`` when computed) with the spot path overlaid.

    ``flips`` (the output of :meth:`GexResult.levels_series`) adds the flip
    path. Returns the Figure; with ``path`` it is also written as a PNG.
    """
    check_exposure(res, exposure)
    name = check_asset(res, asset)
    table = res.by_strike(asset=name)
    totals = res.total(asset=name)
    if table.empty:
        raise OptionError(f"plot_heatmap: {name} has no GEX rows to draw")
    spot = totals["spot"].to_numpy(dtype=np.float64)
    live = spot[spot > 0]
    if len(live):
        lo, hi = live.min() * (1 - width), live.max() * (1 + width)
        inside = table[(table["strike"] >= lo) & (table["strike"] <= hi)]
        table = inside if not inside.empty else table
    grid = table.pivot_table(index="strike", columns="time", values=exposure, aggfunc="sum", fill_value=0.0)
    times = pd.DatetimeIndex(totals["time"])
    grid = grid.reindex(columns=times, fill_value=0.0)
    strikes = grid.index.to_numpy(dtype=np.float64)
    z = grid.to_numpy(dtype=np.float64)
    t_num = mdates.date2num(times.tz_convert(None).to_pydatetime())
    step = float(np.median(np.diff(t_num))) if len(t_num) > 1 else 1.0 / 144
    # A grid time t reports the bucket [t − Δ, t): draw each column over that interval.
    t_edges = np.concatenate([[t_num[0] - step], t_num])

    vmax = float(np.percentile(np.abs(z[z != 0]), 99)) if (z != 0).any() else 1.0
    fig = new_figure(11.0, 6.0)
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(
        t_edges, _edges(strikes), z, cmap=_CMAP, norm=TwoSlopeNorm(vcenter=0.0, vmin=-vmax, vmax=vmax), shading="flat"
    )
    ax.plot(times.tz_convert(None), np.where(spot > 0, spot, np.nan), color=SPOT, lw=1.6, label="spot")
    if flips is not None and "flip" in flips:
        f = flips["flip"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        ax.plot(pd.DatetimeIndex(flips["time"]).tz_convert(None), f, color="#e08a00", lw=1.2, ls=":", label="flip")
    bar = fig.colorbar(mesh, ax=ax, pad=0.01, extend="both")
    bar.set_label(exposure_label(exposure, res.unit))
    bar.formatter = value_formatter(res.unit)
    bar.update_ticks()
    ax.set_ylim(_edges(strikes)[0], _edges(strikes)[-1])
    ax.yaxis.set_major_formatter(price_formatter())
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_ylabel("strike")
    ax.set_xlabel("time (UTC)")
    ax.legend(loc="upper left", fontsize=9, framealpha=0.9)
    shown = "GEX" if exposure == "gex" else exposure.upper()
    ax.set_title(title or f"{name} {res.method} {shown} by strike and time", fontsize=13)
    save(fig, path)
    return fig
