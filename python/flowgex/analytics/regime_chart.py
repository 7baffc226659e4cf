"""The regime-study chart: forward volatility by group, with 95% intervals, one panel per horizon."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure

from .._chart_style import GREEN, RED, new_figure, save

if TYPE_CHECKING:
    from .regime import RegimeStudy

__all__ = ["plot_regime"]

_COLOURS = {"positive": GREEN, "negative": RED, "all": "#222222", "flip": "#e08a00"}
_QUANTILE = "#1f3b73"


def plot_regime(study: RegimeStudy, *, title: str | None = None, path: str | Path | None = None) -> Figure:
    """Each group's mean forward volatility with its bootstrap interval; empty groups are named, not drawn.

    Returns the Figure; with ``path`` it is also written as a PNG.
    """
    hs = study.horizons
    fig = new_figure(width=max(6.0, 3.8 * len(hs)), height=4.8)
    axes = fig.subplots(1, len(hs), squeeze=False)[0]
    for ax, h in zip(axes, hs):
        rows = study.table[study.table["horizon"] == h].reset_index(drop=True)
        names = list(rows["group"])
        empty = []
        for i, row in rows.iterrows():
            if row["count"] == 0:
                empty.append(row["group"])
                continue
            mean = float(row["mean"])
            colour = _COLOURS.get(row["group"], _QUANTILE)
            if not pd.isna(row["ci_low"]):
                lo, hi = float(row["ci_low"]), float(row["ci_high"])
                yerr = [[max(mean - lo, 0.0)], [max(hi - mean, 0.0)]]
                ax.errorbar([i], [mean], yerr=yerr, fmt="o", color=colour, capsize=4, lw=1.6, ms=6)
            else:
                ax.plot([i], [mean], "o", color=colour, ms=6)
        ax.set_xticks(range(len(names)), names, rotation=45, fontsize=9)
        ax.set_title(f"{h}-step forward", fontsize=11)
        ax.grid(alpha=0.3, axis="y")
        if empty:
            ax.text(0.02, 0.02, "empty: " + ", ".join(empty), transform=ax.transAxes, fontsize=8, color="#555555")
    axes[0].set_ylabel(f"forward realized volatility (annualised, A = {study.periods_per_year:g})")
    fig.suptitle(
        title
        or f"Forward volatility by signal regime \u2014 mean and 95% block-bootstrap interval "
        f"({study.n_times:,} times)",
        fontsize=12,
    )
    save(fig, path)
    return fig
