"""The profile chart: GEX against hypothetical spot, with the zero line, spot and flip."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from .._chart_style import (
    FLIP,
    GREEN,
    RED,
    SPOT,
    new_figure,
    price_formatter,
    price_text,
    save,
    stamp,
    unit_label,
    value_formatter,
)
from ..analytics.levels import levels
from ..analytics.profile import profile

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["plot_profile"]

_OTHER_COLOURS = ("#7b4ea3", "#888888", "#1b9e9e", "#b5651d")


def plot_profile(
    res: GexResult,
    asset: str,
    *,
    at: Any = None,
    width: float = 0.2,
    label: str | None = None,
    others: Mapping[str, GexResult] | None = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """GEX of ``asset``'s live book as spot moves ±``width``, the flip marked.

    The area between the curve and zero is green where dealers would be long
    gamma and red where short. ``others`` overlays more results (e.g.
    ``{"classic": classic_res}`` or an expiry-filtered result) as lines on the
    same spot grid. Returns the Figure; with ``path`` it is also written as a PNG.
    """
    lv = levels(res, asset, at=at, width=width)
    curve = profile(res, lv.asset, at=lv.time, width=width)
    x, y = curve["spot"].to_numpy(), curve["gex"].to_numpy()
    fig = new_figure()
    ax = fig.add_subplot()
    ax.fill_between(x, y, 0, where=y >= 0, color=GREEN, alpha=0.18, interpolate=True, lw=0)
    ax.fill_between(x, y, 0, where=y < 0, color=RED, alpha=0.18, interpolate=True, lw=0)
    ax.plot(x, y, color="#222222", lw=2.0, label=label or f"{res.method} GEX")
    curves = [y]
    for i, (name, other) in enumerate((others or {}).items()):
        oy = profile(other, lv.asset, at=at, spots=x)["gex"].to_numpy()
        ax.plot(x, oy, color=_OTHER_COLOURS[i % len(_OTHER_COLOURS)], lw=1.6, label=name)
        curves.append(oy)
    ax.axhline(0, color="#555555", lw=0.8)
    ax.axvline(lv.spot, color=SPOT, lw=1.6, ls="--", label=f"spot {price_text(lv.spot)}")
    if lv.flip is not None:
        ax.axvline(lv.flip, color=FLIP, lw=1.6, ls=":", label=f"gamma flip {price_text(lv.flip)}")
        ax.plot([lv.flip], [0.0], "o", color=FLIP, ms=7, zorder=5)
    ax.set_xlim(x[0], x[-1])
    every = np.concatenate(curves)
    span = float(np.abs(every).max()) if len(every) and np.abs(every).max() > 0 else 1.0
    ax.set_ylim(min(every.min(), -0.05 * span) * 1.1, max(every.max(), 0.05 * span) * 1.1)
    ax.xaxis.set_major_formatter(price_formatter())
    ax.yaxis.set_major_formatter(value_formatter(res.unit))
    ax.set_xlabel("hypothetical spot")
    ax.set_ylabel(unit_label(res.unit))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9, framealpha=0.9)
    ax.set_title(title or f"{lv.asset} {res.method} GEX profile \u2014 {stamp(lv.time)}", fontsize=13)
    save(fig, path)
    return fig
