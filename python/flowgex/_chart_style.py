"""Shared chart style: figures without pyplot, tick formats, colours, unit labels.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas, never
through pyplot, so charts need no display, keep no global state and can be
drawn from any thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ._format import compact, money, price_text, value_text
from .errors import OptionError

if TYPE_CHECKING:
    from .result import GexResult

__all__ = [
    "GREEN",
    "RED",
    "SPOT",
    "FLIP",
    "new_figure",
    "compact",
    "money",
    "unit_label",
    "exposure_label",
    "check_exposure",
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


#: Axis labels of the other exposures (DESIGN rule 16), in USD or, with unit="underlying", without S.
_EXPOSURE_LABELS = {
    "dex": ("DEX", "delta held", "USD", "underlying units"),
    "vex": ("VEX", "delta change per +1 vol point", "USD", "underlying units"),
    "cex": ("CEX", "delta change per day", "USD", "underlying units"),
}


def exposure_label(exposure: str, unit: str) -> str:
    """The axis label of ``exposure`` ("gex": :func:`unit_label`)."""
    if exposure == "gex":
        return unit_label(unit)
    name, what, usd, und = _EXPOSURE_LABELS[exposure]
    return f"{name}: {what} ({und if unit == 'underlying' else usd})"


def check_exposure(res: GexResult, exposure: str) -> None:
    """``exposure`` must be "gex" or a column the result computed."""
    if exposure not in ("gex", *res.exposures):
        raise OptionError(
            f"invalid option exposure: expected one of {('gex', *res.exposures)} "
            f"(dex, vex, cex need greeks=... in flow_gex), found {exposure!r}"
        )


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
