"""Expiry filters, as users of the classic GEX tools expect them.

A filter keeps some of each grid time's live options and rebuilds the
by-strike, by-expiry and total tables from the kept inventory rows, so every
view of the filtered result (tables, profile, levels, series, charts) follows.
The filters are judged at each grid time t, per asset:

- ``max_days=d``: options with expiry − t <= d days (``max_days=1``: the
  options expiring within 24 hours);
- ``exclude_next=True``: drops the asset's nearest live expiry at t (the
  "ex-next expiry" curve of the classic tools, which hides the pin of the
  expiry about to go);
- ``expiry=date``: keeps the options expiring on that UTC calendar date.

Filters combine: a row is kept when every given filter keeps it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import OptionError

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["filter_expiries", "expiry_day"]

DAY_NS = 86_400 * 10**9


def expiry_day(expiry: Any) -> int:
    """A date-like value as days since the epoch (UTC)."""
    try:
        ts = pd.Timestamp(expiry)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"invalid option expiry: expected a date such as '2024-12-27', found {expiry!r}") from exc
    if ts is pd.NaT:
        raise OptionError("invalid option expiry: expected a date, found NaT")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value) // DAY_NS


def _group_sums(keys: list[np.ndarray], values: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Sums ``values`` over groups of equal ``keys`` (sorted by keys[0], keys[1], ...)."""
    n = len(keys[0])
    if n == 0:
        return [k[:0] for k in keys], [v[:0] for v in values]
    order = np.lexsort(tuple(reversed(keys)))
    sk = [k[order] for k in keys]
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for k in sk:
        change[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(change)
    return [k[starts] for k in sk], [np.add.reduceat(v[order], starts) for v in values]


def filter_expiries(
    res: GexResult,
    *,
    max_days: float | None = None,
    exclude_next: bool = False,
    expiry: Any = None,
) -> GexResult:
    """``res`` restricted to the options each filter keeps (see the module docstring)."""
    if max_days is not None and (
        isinstance(max_days, bool)
        or not isinstance(max_days, (int, float))
        or not math.isfinite(max_days)
        or max_days < 0
    ):
        raise OptionError(f"invalid option max_days: expected a number of days >= 0, found {max_days!r}")
    if not isinstance(exclude_next, bool):
        raise OptionError(f"invalid option exclude_next: expected True or False, found {exclude_next!r}")

    inv = res._t["inventory"]
    time, inst = inv["time"], inv["inst"]
    strike_times = np.unique(res._t["by_strike"]["time"])
    if not np.isin(strike_times, np.unique(time)).all():
        raise OptionError(
            "filter needs the inventory of every grid time, but this result kept only the last "
            "(keep_inventory='last'); rerun with keep_inventory='all'"
        )
    exp = res._inst["expiry"][inst]
    asset = res._inst["asset"][inst].astype(np.int64)
    keep = np.ones(len(time), dtype=bool)
    if max_days is not None:
        keep &= (exp - time) <= round(float(max_days) * DAY_NS)
    if expiry is not None:
        keep &= exp // DAY_NS == expiry_day(expiry)
    if exclude_next and len(time):
        nearest = pd.DataFrame({"t": time, "a": asset, "e": exp}).groupby(["t", "a"])["e"].transform("min")
        keep &= exp != nearest.to_numpy()

    sel = np.flatnonzero(keep)
    t, a, e = time[sel], asset[sel], exp[sel]
    gex = inv["gex"][sel]
    k = res._inst["strike"][inst[sel]]
    call = res._inst["is_call"][inst[sel]]
    # Assets sort by name, as in the engine's tables.
    rank = np.argsort(np.argsort(np.array(res._assets, dtype=object))) if res._assets else np.empty(0, np.int64)
    r = rank[a] if len(a) else a

    # DEX, VEX, CEX (when computed) are summed the same way as GEX.
    xs = [inv[x][sel] for x in res.exposures]
    (st, sr, sk), (sc, sp, *sx) = _group_sums([t, r, k], [np.where(call, gex, 0.0), np.where(call, 0.0, gex), *xs])
    (et, er, ee), (eg, *ex) = _group_sums([t, r, e], [gex, *xs])
    by_rank = np.argsort(rank) if len(rank) else rank

    tot = res._t["total"]
    idx = pd.MultiIndex.from_arrays([tot["time"], tot["asset"].astype(np.int64)])
    pos = idx.get_indexer(pd.MultiIndex.from_arrays([t, a]))

    def per_total(v: np.ndarray) -> np.ndarray:
        return np.bincount(pos, weights=v, minlength=len(tot["time"])) if len(pos) else np.zeros(len(tot["time"]))

    return res._derive(
        {
            "inventory": {col: v[sel] for col, v in inv.items()},
            "by_strike": {
                "time": st,
                "asset": by_rank[sr].astype(np.uint16),
                "strike": sk,
                "call_gex": sc,
                "put_gex": sp,
                "gex": sc + sp,
                **dict(zip(res.exposures, sx)),
            },
            "by_expiry": {
                "time": et,
                "asset": by_rank[er].astype(np.uint16),
                "expiry": ee,
                "gex": eg,
                **dict(zip(res.exposures, ex)),
            },
            "total": {**tot, "gex": per_total(gex), **{x: per_total(v) for x, v in zip(res.exposures, xs)}},
        }
    )
