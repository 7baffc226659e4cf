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

from .._tables import aggregate
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

    data = res.data
    time, exp = data.inventory.time, data.registry.expiry[data.inventory.inst]
    if not np.isin(np.unique(data.by_strike.time), np.unique(time)).all():
        raise OptionError(
            "filter needs the inventory of every grid time, but this result kept only the last "
            "(keep_inventory='last'); rerun with keep_inventory='all'"
        )
    keep = np.ones(len(time), dtype=bool)
    if max_days is not None:
        keep &= (exp - time) <= round(float(max_days) * DAY_NS)
    if expiry is not None:
        keep &= exp // DAY_NS == expiry_day(expiry)
    if exclude_next and len(time):
        asset = data.inventory_asset().astype(np.int64)
        nearest = pd.DataFrame({"t": time, "a": asset, "e": exp}).groupby(["t", "a"])["e"].transform("min")
        keep &= exp != nearest.to_numpy()

    sel = np.flatnonzero(keep)
    by_strike, by_expiry, total = aggregate(data, sel, res.exposures)
    return res.with_data(
        data.replace(inventory=data.inventory.take(sel), by_strike=by_strike, by_expiry=by_expiry, total=total)
    )
