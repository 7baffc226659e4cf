"""Shared plumbing of the analytics: checking the asked-for asset, building the
profile grid and the arrays the Rust profile kernels take.

Kept apart so that :func:`~flowgex.profile`, :func:`~flowgex.levels` and the
levels series build their books and grids in exactly one way, which is what
lets the series reproduce the one-time levels bit for bit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import OptionError

if TYPE_CHECKING:
    from ..result import Book, GexResult

__all__ = ["YEAR_NS", "check_asset", "asset_book", "relative_grid", "check_band", "weights"]

#: Rule 7: years of 365 days, in nanoseconds.
YEAR_NS = 365 * 86_400 * 10**9


def check_asset(res: GexResult, asset: str) -> str:
    """The asset's canonical (upper-case) name; an unknown asset is a clear error."""
    if not isinstance(asset, str) or not asset:
        raise OptionError(f"invalid asset: expected a name such as 'BTC', found {asset!r}")
    up = asset.upper()
    if up not in res.assets:
        raise OptionError(f"invalid asset: {asset!r} is not in this result (assets: {res.assets})")
    return up


def asset_book(res: GexResult, asset: str, at: Any) -> Book:
    """The live book of ``asset`` at ``at`` (None: the last grid time)."""
    return res.book(check_asset(res, asset), at=at)


def relative_grid(width: float, points: int) -> np.ndarray:
    """Hypothetical spots as multiples of the spot: ``linspace(1 - width, 1 + width, points)``."""
    if isinstance(width, bool) or not (isinstance(width, (int, float)) and math.isfinite(width) and 0 < width < 1):
        raise OptionError(f"invalid option width: expected a fraction in (0, 1) such as 0.2, found {width!r}")
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 3:
        raise OptionError(f"invalid option points: expected an int >= 3, found {points!r}")
    return np.linspace(1.0 - width, 1.0 + width, int(points))


def check_band(band: float) -> float:
    if isinstance(band, bool) or not (isinstance(band, (int, float)) and math.isfinite(band) and 0 <= band < 1):
        raise OptionError(f"invalid option band: expected a fraction in [0, 1) such as 0.02, found {band!r}")
    return float(band)


def weights(book: Book) -> np.ndarray:
    """Inventory × multiplier: the underlying units each option's gamma applies to."""
    return np.ascontiguousarray(book.inventory * book.multiplier, dtype=np.float64)


def contiguous(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)
