"""The levels traders act on (DESIGN rules 12 and 14), at one grid time.

- **flip**: the zero crossing of the spot profile nearest to spot (the lower
  one on a tie); ``flips`` lists every crossing on the ±``width`` grid.
- **walls**: the strike with the largest positive by-strike GEX and the one
  with the most negative (None when no strike is positive / negative).
- **absolute-gamma strike**: the strike whose options carry the largest sum of
  |GEX| (each option counted on its own, so a long call and a short put at the
  same strike add up instead of cancelling) — where hedging activity is
  largest whatever its direction.
- **near-spot GEX**: by-strike GEX summed over strikes K with
  |K − S| <= band·S (inclusive); **regime** "sticky" when it is > 0 and
  "slippery" otherwise. Exactly 0 (nothing live near spot, or an exact
  cancellation) is "slippery": no dealer gamma near spot means nothing pins
  the price, so the conservative call is that moves are not dampened.

Ties between strikes go to the lower strike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .book import asset_book, check_band, relative_grid
from .profile import profile_arrays

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["Levels", "levels", "regime_of", "nearest_flip"]

Regime = Literal["sticky", "slippery"]


@dataclass(frozen=True)
class Levels:
    """Key GEX levels of one asset at one grid time (values in ``unit``; prices in the quote currency)."""

    asset: str
    time: pd.Timestamp
    spot: float
    flip: float | None
    flips: tuple[float, ...]
    positive_wall: float | None
    negative_wall: float | None
    abs_gamma_strike: float | None
    regime: Regime
    near_spot_gex: float
    total_gex: float
    unit: str

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for tables, JSON and reports)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def regime_of(near_spot_gex: float) -> Regime:
    """ "sticky" when near-spot GEX is > 0, else "slippery" (0 included: nothing pins the price)."""
    return "sticky" if near_spot_gex > 0 else "slippery"


def nearest_flip(roots: np.ndarray, spot: float) -> float | None:
    """The crossing nearest to ``spot``; the lower one on a tie; None without crossings."""
    if len(roots) == 0:
        return None
    order = np.lexsort((roots, np.abs(roots - spot)))
    return float(roots[order[0]])


def strike_extreme(strikes: np.ndarray, values: np.ndarray, sign: float) -> float | None:
    """The strike with the largest ``sign * value`` > 0 (lowest strike on ties)."""
    v = sign * values
    if len(v) == 0 or not (v > 0).any():
        return None
    best = v.max()
    return float(strikes[v == best].min())


def levels(
    res: GexResult,
    asset: str,
    *,
    at: Any = None,
    band: float = 0.02,
    width: float = 0.2,
    points: int = 401,
    threads: int | None = None,
) -> Levels:
    """Spot, gamma flip(s), walls, absolute-gamma strike, near-spot GEX and regime of ``asset``.

    ``at`` selects the grid time (default: the last). The flip is searched on
    ``points`` spots over ±``width`` of spot (the :func:`profile` grid).
    Works alike on :func:`flow_gex` and :func:`classic_gex` results; filter
    expiries first with :meth:`GexResult.filter`.
    """
    band = check_band(band)
    book = asset_book(res, asset, at)
    strikes_tab = res.by_strike(asset=book.asset, at=book.time)
    strikes = strikes_tab["strike"].to_numpy(dtype=np.float64)
    gex = strikes_tab["gex"].to_numpy(dtype=np.float64)
    spot = float(book.spot)

    if np.isfinite(spot) and spot > 0:
        xs = relative_grid(width, points) * spot
        _, roots = profile_arrays(book, xs, unit=res.unit, r=res.r, threads=threads)
    else:
        relative_grid(width, points)  # still validate the options
        roots = np.empty(0)
    near = float(gex[np.abs(strikes - spot) <= band * spot].sum()) if len(gex) else 0.0

    abs_strike: float | None = None
    if len(book.k):
        uk, inv = np.unique(book.k, return_inverse=True)
        abs_sum = np.bincount(inv, weights=np.abs(book.gex), minlength=len(uk))
        abs_strike = strike_extreme(uk, abs_sum, 1.0)

    totals = res.total(asset=book.asset)
    at_t = totals[totals["time"] == book.time]["gex"]
    return Levels(
        asset=book.asset,
        time=book.time,
        spot=spot,
        flip=nearest_flip(roots, spot),
        flips=tuple(float(x) for x in roots),
        positive_wall=strike_extreme(strikes, gex, 1.0),
        negative_wall=strike_extreme(strikes, gex, -1.0),
        abs_gamma_strike=abs_strike,
        regime=regime_of(near),
        near_spot_gex=near,
        total_gex=float(at_t.iloc[0]) if len(at_t) else 0.0,
        unit=res.unit,
    )
