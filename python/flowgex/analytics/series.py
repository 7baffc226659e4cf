"""Levels at every grid time, for backtests.

The per-step profiles and flips run in the Rust core (``_core.profile_steps``,
parallel over steps); Python only slices the result's columns into the
kernel's flat arrays and sums near-spot GEX with one ``bincount``. Steps are
sent in batches of bounded size so a year of 10-minute steps does not need
every step's book copied at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _core
from ..errors import OptionError
from .book import YEAR_NS, check_asset, check_band, relative_grid

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["levels_series"]

#: Book rows sent to the kernel per call (bounds the temporary copies).
_BATCH_ROWS = 2_000_000


def _profile_flips(
    res: GexResult, asset_id: int, times: np.ndarray, spots: np.ndarray, rel: np.ndarray, threads: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flip, has_flip, crossings) per step of ``times`` for one asset."""
    data = res.data
    inv, reg = data.inventory, data.registry
    rows = np.flatnonzero(data.inventory_asset() == asset_id)
    row_time = inv.time[rows]
    bounds = np.searchsorted(row_time, times, side="left"), np.searchsorted(row_time, times, side="right")
    flip = np.zeros(len(times))
    has = np.zeros(len(times), dtype=bool)
    cross = np.zeros(len(times), dtype=np.int64)
    j = 0
    while j < len(times):
        # Steps j..e-1 form one batch of at most _BATCH_ROWS rows (at least one step).
        e = j + 1
        while e < len(times) and bounds[1][e] - bounds[0][j] <= _BATCH_ROWS:
            e += 1
        sel = rows[bounds[0][j] : bounds[1][e - 1]]
        inst = inv.inst[sel]
        offsets = np.concatenate([[0], np.cumsum(bounds[1][j:e] - bounds[0][j:e])]).astype(np.uint64)
        out = _core.profile_steps(
            offsets,
            np.ascontiguousarray(inv.spot[sel], dtype=np.float64),
            np.ascontiguousarray(reg.strike[inst]),
            np.ascontiguousarray((reg.expiry[inst] - inv.time[sel]) / YEAR_NS),
            np.ascontiguousarray(inv.vol[sel], dtype=np.float64),
            np.ascontiguousarray(inv.inventory[sel] * reg.multiplier[inst]),
            spot=np.ascontiguousarray(spots[j:e], dtype=np.float64),
            rel=rel,
            rate=float(res.r),
            unit=res.unit,
            threads=threads,
        )
        flip[j:e] = out["flip"]
        has[j:e] = out["has_flip"]
        cross[j:e] = out["crossings"]
        j = e
    return flip, has, cross


def _nullable(values: np.ndarray, present: np.ndarray) -> pd.arrays.FloatingArray:
    """A Float64 array with <NA> where ``present`` is False (never NaN)."""
    return pd.arrays.FloatingArray(np.where(present, values, 0.0).astype(np.float64), mask=~present)


def levels_series(
    res: GexResult,
    asset: str,
    *,
    band: float = 0.02,
    width: float = 0.2,
    points: int = 401,
    threads: int | None = None,
    lookback: Any = None,
) -> pd.DataFrame:
    """One row per grid time of ``asset``: time, spot, total_gex, near_spot_gex, flip, crossings, regime.

    With ``lookback`` (a multiple of the grid resolution, e.g. ``"1h"``) two more
    columns, ``total_gex_change`` and ``near_spot_gex_change``: value(t) −
    value(t − lookback) on the grid (DESIGN rule 17), nullable ``<NA>`` where
    t − lookback is before the series' first time.

    ``flip`` is a nullable Float64 (``<NA>`` when the profile does not cross
    zero within ±``width``), ``crossings`` counts every crossing, ``regime`` is
    "sticky" when near-spot GEX is > 0 and "slippery" otherwise, exactly as
    :func:`flowgex.levels` computes them at one time. Needs the inventory of
    every step (``keep_inventory="all"``, the default).
    """
    band = check_band(band)
    rel = relative_grid(width, points)
    name = check_asset(res, asset)
    data = res.data
    aid = data.registry.assets.index(name)
    tot = data.total
    tsel = np.flatnonzero(tot.asset == aid)
    times, spots, total = tot.time[tsel], tot.spot[tsel], tot.gex[tsel]

    bs = data.by_strike
    bsel = np.flatnonzero(bs.asset == aid)
    step = np.searchsorted(times, bs.time[bsel])
    inv_times = np.unique(data.inventory.time)
    if len(bsel) and not np.isin(np.unique(bs.time[bsel]), inv_times).all():
        raise OptionError(
            "levels_series needs the inventory of every grid time, but this result kept only the last "
            "(keep_inventory='last'); rerun with keep_inventory='all'"
        )
    k, s_at = bs.strike[bsel], spots[step]
    near_mask = np.abs(k - s_at) <= band * s_at
    near = np.bincount(step, weights=np.where(near_mask, bs.gex[bsel], 0.0), minlength=len(times))

    flip, has, cross = _profile_flips(res, aid, times, spots, rel, threads)
    out = pd.DataFrame(
        {
            "time": pd.Series(pd.to_datetime(times.astype(np.int64), utc=True).as_unit("ns")),
            "spot": spots.astype(np.float64),
            "total_gex": total.astype(np.float64),
            "near_spot_gex": near,
            "flip": _nullable(flip, has),
            "crossings": cross,
            "regime": pd.Categorical(np.where(near > 0, "sticky", "slippery"), categories=["sticky", "slippery"]),
        }
    )
    if lookback is not None:
        back = _lookback_steps(times, lookback, res.resolution_ns)
        for col, v in (("total_gex_change", out["total_gex"].to_numpy()), ("near_spot_gex_change", near)):
            has_back = back >= 0
            out[col] = _nullable(np.where(has_back, v - v[np.maximum(back, 0)], 0.0), has_back)
    return out


def _lookback_steps(times: np.ndarray, lookback: Any, resolution_ns: int | None) -> np.ndarray:
    """For each time t, the row of t − lookback in ``times`` (−1 when there is none)."""
    from ..options import duration_ns

    lb = duration_ns(lookback, name="lookback")
    if resolution_ns and lb % resolution_ns:
        raise OptionError(
            f"invalid option lookback: expected a multiple of the grid resolution ({resolution_ns} ns), "
            f"found {lookback!r}"
        )
    t = times.astype(np.int64)
    i = np.searchsorted(t, t - lb)
    found = (i < len(t)) & (t[np.minimum(i, len(t) - 1)] == t - lb) if len(t) else np.zeros(0, bool)
    return np.where(found, i, -1)
