"""Shared chart style: figures without pyplot, tick formats, colours, unit labels.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas, never
through pyplot, so charts need no display, keep no global state and can be
drawn from any thread.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .._format import compact, money, price_text, value_text

__all__ = [
    "GREEN",
    "RED",
    "SPOT",
    "FLIP",
    "new_figure",
    "compact",
    "money",
    "unit_label",
    "value_text",
    "price_text",
    "plain",
    "value_formatter",
    "price_formatter",
    "stamp",
    "save",
]

GREEN = "#2e9e44"
RED = "#d63a3a"
SPOT = "#1f3b73"
FLIP = "#e08a00"

_UNITS = {
    "usd_per_1pct": "USD per 1% move",
    "usd_per_point": "USD per 1-point move",
    "underlying": "underlying units per 1-point move",
}


def new_figure(width: float = 11.0, height: float = 5.6) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plain(text: str) -> str:
    """Escapes ``$`` so matplotlib shows it instead of starting mathtext."""
    return text.replace("$", r"\$")


def unit_label(unit: str) -> str:
    return f"GEX ({_UNITS.get(unit, unit)})"


def value_formatter(unit: str) -> FuncFormatter:
    """Money ticks for USD units, compact numbers otherwise."""
    if unit.startswith("usd"):
        return FuncFormatter(lambda v, _pos: money(v, 2))
    return FuncFormatter(lambda v, _pos: compact(v, 2))


def price_formatter() -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: compact(v, 3))


def stamp(t: pd.Timestamp) -> str:
    return f"{pd.Timestamp(t):%Y-%m-%d %H:%M} UTC"


def save(fig: Figure, path: str | Path | None) -> None:
    """Writes ``fig`` as PNG at ``path`` (parent folders created), if a path is given."""
    if path is None:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, format="png")
