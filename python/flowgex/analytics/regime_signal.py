"""GEX signals for :func:`~flowgex.regime_study` from flowgex outputs: total or
near-spot GEX, and the spot, at every grid time of one asset.

Works on the two public tables (``total``: time, spot, gex; ``by_strike``:
time, strike, gex), so an in-memory result (:meth:`GexResult.regime_study
<flowgex.GexResult.regime_study>`) and the Parquet files a run or a replay
wrote (``flowgex study``) give the same signal. Near-spot GEX is DESIGN rule
14: the GEX of the strikes within ±``band`` of the spot at that time, summed
(0 when none), as :func:`~flowgex.levels_series` computes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import OptionError, SchemaError
from .book import check_band

__all__ = ["SIGNALS", "gex_signal"]

SIGNALS = ("near_spot_gex", "total_gex")


def _need(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"invalid {name} table: expected columns {list(columns)}, missing {missing}")


def gex_signal(
    total: pd.DataFrame, by_strike: pd.DataFrame | None, *, signal: str = "near_spot_gex", band: float = 0.02
) -> tuple[pd.Series, pd.Series]:
    """(signal, price) Series on the grid times of one asset's ``total`` table.

    The price is the ``spot`` column at the times where it is a usable price
    (finite and > 0; a step before any spot observation has none), so the
    study takes it as of each time like any other price.
    """
    if signal not in SIGNALS:
        raise OptionError(f"invalid option signal: expected one of {SIGNALS}, found {signal!r}")
    band = check_band(band)
    _need(total, "total", ("time", "spot", "gex"))
    total = total.sort_values("time", kind="stable")
    times = pd.DatetimeIndex(total["time"])
    if times.has_duplicates:
        raise OptionError("invalid total table: a grid time appears twice (more than one asset?)")
    spot = total["spot"].to_numpy(dtype=np.float64)
    if signal == "total_gex":
        values = total["gex"].to_numpy(dtype=np.float64)
    else:
        if by_strike is None:
            raise OptionError("signal='near_spot_gex' needs the by_strike table")
        _need(by_strike, "by_strike", ("time", "strike", "gex"))
        bt = pd.DatetimeIndex(by_strike["time"]).as_unit("ns").asi8
        tns = times.as_unit("ns").asi8
        step = np.searchsorted(tns, bt)
        if len(bt) and (np.any(step >= len(tns)) or np.any(tns[np.minimum(step, len(tns) - 1)] != bt)):
            raise OptionError("invalid by_strike table: it has grid times the total table lacks")
        k = by_strike["strike"].to_numpy(dtype=np.float64)
        s_at = spot[step]
        near = np.abs(k - s_at) <= band * s_at
        gex = by_strike["gex"].to_numpy(dtype=np.float64)
        values = np.bincount(step, weights=np.where(near, gex, 0.0), minlength=len(tns))
    good = np.isfinite(spot) & (spot > 0)
    return pd.Series(values, index=times, name=signal), pd.Series(spot[good], index=times[good], name="spot")
