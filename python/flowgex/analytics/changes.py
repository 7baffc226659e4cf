"""What changed: every exposure per strike (or expiry) at a grid time t and at
t − lookback, and the change (DESIGN rule 17).

Both times must be reported grid times of the result: the change of a value on
the grid is value(t) − value(t − L), and a strike (or option) absent at one of
the two times counts 0 there. The inventory change is the sum, over the
strike's options, of the live dealer inventory at t minus that at t − L, in
contracts (an option that expired in between counts 0 at t, as its exposure
does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..options import duration_ns
from .book import check_asset

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["changes"]

_KEYS = {"strike": "by_strike", "expiry": "by_expiry"}


def _grid_time(res: GexResult, t: int, lookback: Any) -> None:
    """``t`` (= at − lookback) must be a reported grid time."""
    steps = res.data.steps.time
    if len(steps) == 0 or t < int(steps[0]):
        first = res.times[0] if len(steps) else "none"
        raise OptionError(
            f"invalid option lookback: {lookback!r} reaches {pd.Timestamp(t, tz='UTC')}, before the "
            f"result's first grid time ({first})"
        )
    i = int(np.searchsorted(steps, t))
    if i >= len(steps) or int(steps[i]) != t:
        raise OptionError(
            f"invalid option lookback: {lookback!r} does not land on the result's grid "
            f"(no grid time at {pd.Timestamp(t, tz='UTC')}); use a multiple of the resolution"
        )


def _kept(res: GexResult, table: str, asset_id: int, t: int) -> None:
    """Refuses a time whose rows a ``keep_*="last"`` run dropped (rows start later than the totals)."""
    data = res.data
    tot = data.total
    tot_times = tot.time[tot.asset == asset_id]
    times = (
        data.inventory.time[data.inventory_asset() == asset_id]
        if table == "inventory"
        else (getattr(data, table).time[getattr(data, table).asset == asset_id])
    )
    if len(tot_times) and len(times) and times[0] > tot_times[0] and t < times[0]:
        option = "keep_inventory" if table == "inventory" else "keep_aggregates"
        raise OptionError(
            f"changes needs the {table} rows at {pd.Timestamp(t, tz='UTC')}, but this result kept only "
            f"later ones ({option}='last'); rerun with {option}='all'"
        )


def changes(res: GexResult, asset: str, *, lookback: Any = "1h", at: Any = "last", by: str = "strike") -> pd.DataFrame:
    """Per strike (or expiry) of ``asset``: each exposure at ``at``, at ``at − lookback``
    and the change, and the inventory change in contracts; sorted by |change of GEX|,
    largest first (then by key)."""
    if by not in _KEYS:
        raise OptionError(f"invalid option by: expected 'strike' or 'expiry', found {by!r}")
    name = check_asset(res, asset)
    step = res.grid_time_ns(at)
    if step is None:
        raise OptionError("invalid option at: expected 'last' or a time, found None")
    t1 = step
    t0 = t1 - duration_ns(lookback, name="lookback")
    _grid_time(res, t0, lookback)
    aid = res.data.registry.asset_id(name)
    assert aid is not None  # check_asset passed
    table = _KEYS[by]
    for tb in (table, "inventory"):
        _kept(res, tb, aid, t0)

    values = ["gex", *res.exposures]
    at_t = [getattr(res, table)(name, at=pd.Timestamp(t, tz="UTC")) for t in (t1, t0)]
    now, before = (f.set_index(by)[values] for f in at_t)
    keys = now.index.union(before.index)
    now, before = now.reindex(keys, fill_value=0.0), before.reindex(keys, fill_value=0.0)

    inv = [res.inventory(at=pd.Timestamp(t, tz="UTC"), asset=name) for t in (t1, t0)]
    held = [f.groupby(by)["inventory"].sum().reindex(keys, fill_value=0.0) for f in inv]

    out: dict[str, Any] = {
        "asset": name,
        "time": pd.Timestamp(t1, tz="UTC"),
        "before": pd.Timestamp(t0, tz="UTC"),
        by: keys.to_numpy(),
    }
    for v in values:
        out[v] = now[v].to_numpy()
        out[f"{v}_before"] = before[v].to_numpy()
        out[f"{v}_change"] = now[v].to_numpy() - before[v].to_numpy()
    out["inventory_change"] = held[0].to_numpy() - held[1].to_numpy()
    df = pd.DataFrame(out)
    order = np.lexsort((df[by].to_numpy(), -np.abs(df["gex_change"].to_numpy())))
    return df.iloc[order].reset_index(drop=True)
