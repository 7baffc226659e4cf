"""GEX as a function of a hypothetical spot (DESIGN rule 12).

Every option's underlying moves by the same factor (S_i → S_i·x/S) with σ, T
and inventory held, so the curve answers "what would dealer gamma be if spot
were x right now". The sum runs in the Rust core, in parallel over grid points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _core
from ..errors import OptionError
from .book import asset_book, contiguous, relative_grid, weights

if TYPE_CHECKING:
    from ..result import Book, GexResult

__all__ = ["profile", "profile_arrays"]


def _spots(spots: Any, spot: float, width: float, points: int) -> np.ndarray:
    if spots is None:
        if not (np.isfinite(spot) and spot > 0):
            raise OptionError(
                f"profile: the asset's spot is {spot!r}, so there is no default grid; pass spots= explicitly"
            )
        return relative_grid(width, points) * spot
    try:
        xs = np.asarray(spots, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"invalid option spots: expected numbers, found {spots!r}") from exc
    if xs.ndim != 1 or len(xs) < 1:
        raise OptionError(f"invalid option spots: expected a non-empty 1-D sequence, found shape {xs.shape}")
    if not (np.isfinite(xs).all() and (xs > 0).all()):
        raise OptionError("invalid option spots: every hypothetical spot must be finite and > 0")
    if len(xs) > 1 and not (np.diff(xs) > 0).all():
        raise OptionError("invalid option spots: expected strictly increasing values")
    return xs


def profile_arrays(
    book: Book, xs: np.ndarray, *, unit: str, r: float, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(GEX at each x, every zero crossing refined on the exact curve) for one book."""
    ys, roots = _core.profile(
        contiguous(book.s),
        contiguous(book.k),
        contiguous(book.tau),
        contiguous(book.sigma),
        weights(book),
        spot=float(book.spot),
        xs=contiguous(xs),
        rate=float(r),
        unit=unit,
        threads=threads,
    )
    return np.asarray(ys), np.asarray(roots)


def profile(
    res: GexResult,
    asset: str,
    *,
    at: Any = None,
    spots: Any = None,
    width: float = 0.2,
    points: int = 401,
    threads: int | None = None,
) -> pd.DataFrame:
    """GEX of ``asset``'s live book at hypothetical spots: a DataFrame ``spot, gex``.

    ``at`` selects the grid time (default: the last). ``spots`` is a strictly
    increasing sequence of hypothetical spots; by default ``points`` spots
    evenly spread over ±``width`` (20%) of the asset's spot. ``gex`` is in the
    result's unit (``res.unit``) and, at x = spot, equals the total GEX of the
    live book. Works alike on :func:`flow_gex` and :func:`classic_gex` results
    (with ``gamma="chain"`` the curve still uses the model gamma).
    """
    book = asset_book(res, asset, at)
    xs = _spots(spots, book.spot, width, points)
    ys, _ = profile_arrays(book, xs, unit=res.unit, r=res.r, threads=threads)
    return pd.DataFrame({"spot": xs, "gex": ys})
