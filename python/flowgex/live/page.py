"""``out/report.html`` of a live run: the interactive page (:func:`flowgex.write_html`)
over a rolling window of the final steps, refreshed after each commit that wrote steps.

Why a window of drained parts and not the engine: the engine hands every final
step out (:meth:`flowgex.Engine.drain`) to keep memory bounded by the live
instruments, so the page keeps its own copy of the last ``window`` of steps
(default one day: 144 ten-minute steps), trimmed by time at every commit.

Why :func:`flowgex._tables.union` of the *latest* registry only: every part
comes from one engine, whose registry only grows and whose ids never change, so
each part's instrument and asset ids are ids of the latest registry; its maps
into the core's canonical order serve every part, and :func:`flowgex._tables.merge`
then concatenates the parts' columns (no key repeats across parts: a step is
drained once). A part whose registry is not a prefix of the next one's (which
the engine never produces) restarts the window rather than mislabel a strike.

The live engine keeps the inventory of every step (``keep_inventory="all"``,
the default; ``fg.live`` does not accept the option), so the page draws the
profile and the levels of every step in the window, as for ``fg.flow_gex``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np

from .._tables import ResultData, merge, union
from ..result import GexResult

__all__ = ["PageWindow", "plotly_available", "PAGE_NAME"]

PAGE_NAME = "report.html"


def plotly_available() -> bool:
    """Whether the optional ``plotly`` (``pip install 'flowgex[html]'``) can be imported."""
    return importlib.util.find_spec("plotly") is not None


def _since(data: ResultData, cutoff: int) -> ResultData:
    """Only the rows of grid times after ``cutoff`` (every table, the step table too)."""
    return replace(data, **{name: t.take(t.time > cutoff) for name, t in data.tables().items()})


def _extends(old: GexResult, new: GexResult) -> bool:
    """Whether ``new``'s registry starts with ``old``'s (same ids, same instruments, same assets)."""
    a, b = old.data.registry, new.data.registry
    n = len(a)
    return (
        b.assets[: len(a.assets)] == a.assets
        and len(b) >= n
        and bool(np.array_equal(a.name, b.name[:n]) and np.array_equal(a.asset, b.asset[:n]))
    )


class PageWindow:
    """The drained parts of the last ``window_ns`` of grid steps, and the page written from them."""

    def __init__(self, window_ns: int, *, title: str = "flowgex live") -> None:
        self.window_ns = int(window_ns)
        self.title = title
        self.parts: list[GexResult] = []

    def add(self, part: GexResult) -> None:
        """Appends a drained part with steps, then drops the steps older than the window."""
        if len(part.data.steps) == 0:
            return
        if self.parts and not _extends(self.parts[-1], part):
            self.parts = []  # not one engine's registry: start over rather than mislabel
        self.parts.append(part)
        cutoff = int(part.data.steps.time[-1]) - self.window_ns
        kept = []
        for p in self.parts:
            if int(p.data.steps.time[-1]) <= cutoff:
                continue
            if int(p.data.steps.time[0]) <= cutoff:
                p = p.with_data(_since(p.data, cutoff))
            kept.append(p)
        self.parts = kept

    @property
    def first_ns(self) -> int | None:
        """The window's first grid time (ns), None when empty."""
        return int(self.parts[0].data.steps.time[0]) if self.parts else None

    def result(self) -> GexResult | None:
        """The window as one result (the latest part's metadata), None when empty."""
        if not self.parts:
            return None
        latest = self.parts[-1]
        registry, inst_maps, asset_maps = union([latest.data.registry])
        pieces = [(p.data, inst_maps[0], asset_maps[0]) for p in self.parts]
        data = merge(pieces, registry, last_step=int(latest.data.steps.time[-1]))
        return latest.with_data(data)

    def write(self, out: Path) -> Path | None:
        """Writes ``out/report.html`` over the window (atomically); None when there is nothing to show."""
        res = self.result()
        if res is None or not res.assets:
            return None
        from ..html import write_html  # here: it loads matplotlib (chart styles); `import flowgex` must not

        return write_html(res, out / PAGE_NAME, title=self.title)
