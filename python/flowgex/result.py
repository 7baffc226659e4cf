"""`GexResult`: the engine's tables, with pandas and Arrow views.

The result holds flat numpy columns straight from the Rust core (moved, not
copied), sorted by time. Selecting a time is a binary search and selecting an
asset a mask, so ``by_strike(at="last")`` stays cheap even when the inventory
holds hundreds of millions of (instrument, step) rows; the aggregates were
computed in Rust during the replay and are never rebuilt from the inventory.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._tables import ResultData
from .analytics.book import check_asset
from .analytics.changes import changes as _changes
from .analytics.expiries import filter_expiries
from .analytics.regime import regime_study as _regime_study
from .analytics.regime_signal import gex_signal
from .analytics.series import levels_series as _levels_series
from .diagnostics import Diagnostics
from .errors import OptionError
from .options import EXPOSURES, parse_greeks, to_ns
from .schema import TIMESTAMP

__all__ = ["GexResult", "Book"]


@dataclass(frozen=True)
class Book:
    """The live options of one asset at one grid time, as arrays (for profiles and levels)."""

    asset: str
    time: pd.Timestamp
    spot: float
    instrument: np.ndarray
    s: np.ndarray
    k: np.ndarray
    tau: np.ndarray
    sigma: np.ndarray
    inventory: np.ndarray
    multiplier: np.ndarray
    is_call: np.ndarray
    gex: np.ndarray


#: The dtype pandas gives a column of strings (``str`` on pandas >= 3, object before).
_STRINGS = pd.Series(["x"]).dtype


def _frame(cols: Mapping[str, Any]) -> pd.DataFrame:
    """A DataFrame whose string columns have the same dtype with or without rows
    (pandas infers ``str`` from strings but leaves an empty object array as object)."""
    df = pd.DataFrame(cols)
    if len(df) == 0:
        df = df.astype({c: _STRINGS for c, t in df.dtypes.items() if t == np.dtype(object)})
    return df


def _ts(ns: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(ns, dtype=np.int64), type=pa.int64()).cast(TIMESTAMP)


class GexResult:
    """GEX by instrument, strike, expiry and asset over a grid of times.

    Build it with :func:`flowgex.flow_gex`, :meth:`flowgex.Engine.result` or
    :func:`flowgex.classic_gex`; do not construct it directly.
    """

    def __init__(
        self,
        data: ResultData,
        *,
        unit: str,
        r: float,
        method: str,
        diagnostics: Diagnostics,
        resolution_ns: int | None = None,
        greeks: tuple[str, ...] = ("gamma",),
    ) -> None:
        self.greeks = parse_greeks(greeks)
        #: The exposure columns this result carries (dex, vex, cex for the greeks asked).
        self.exposures: tuple[str, ...] = tuple(EXPOSURES[g] for g in self.greeks if g in EXPOSURES)
        self._data = data.with_exposures(self.exposures)
        self.unit = unit
        self.r = r
        self.method = method
        self.resolution_ns = resolution_ns
        self.diagnostics = diagnostics

    # -- the typed internal form (for flowgex's own layers) ----------------
    @property
    def data(self) -> ResultData:
        """The result's tables in their typed internal form (:class:`flowgex._tables.ResultData`):
        what analytics, charts and the distributed path read instead of private attributes."""
        return self._data

    def with_data(self, data: ResultData) -> GexResult:
        """A result with this one's metadata and diagnostics over other tables (filters, page steps)."""
        out = GexResult.__new__(GexResult)
        out.__dict__.update(self.__dict__)
        out._data = data.with_exposures(self.exposures)
        return out

    def grid_time_ns(self, at: Any) -> int | None:
        """The grid time ``at`` selects, in ns: None for None, the last for "last", else the
        latest grid time <= ``at`` (an OptionError before the first or with no grid time)."""
        return self._step(at)

    # -- metadata ---------------------------------------------------------
    @property
    def times(self) -> pd.DatetimeIndex:
        """Every reported grid time."""
        return pd.DatetimeIndex(pd.to_datetime(self._data.steps.time, utc=True))

    @property
    def assets(self) -> list[str]:
        """Assets with at least one reported row."""
        present = set(np.unique(self._data.total.asset).tolist())
        return sorted(self._data.registry.assets[i] for i in present)

    def __repr__(self) -> str:
        n = len(self._data.steps.time)
        span = f"{self.times[0]} .. {self.times[-1]}" if n else "empty"
        return (
            f"GexResult(method={self.method!r}, unit={self.unit!r}, steps={n} ({span}), "
            f"assets={self.assets}, inventory_rows={len(self._data.inventory)})"
        )

    # -- selection --------------------------------------------------------
    def _step(self, at: Any) -> int | None:
        """The grid time selected by ``at``: None (all), "last", or the latest grid time <= at."""
        if at is None:
            return None
        if len(self._data.steps.time) == 0:
            raise OptionError("invalid option at: the result has no grid times")
        if isinstance(at, str) and at == "last":
            return int(self._data.steps.time[-1])
        t = to_ns(at, name="at")
        i = int(np.searchsorted(self._data.steps.time, t, side="right")) - 1
        if i < 0:
            raise OptionError(
                f"invalid option at: {pd.Timestamp(t, tz='UTC')} is before the first grid time {self.times[0]}"
            )
        return int(self._data.steps.time[i])

    def _rows(self, table: str, asset: str | None, at: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
        cols = getattr(self._data, table).columns()
        time = cols["time"]
        lo, hi = 0, len(time)
        if at is not None and len(self._data.steps.time) == 0:
            # No grid time at all (e.g. every row was rejected): an empty table at any time.
            if not (isinstance(at, str) and at == "last"):
                to_ns(at, name="at")
            return cols, np.arange(0)
        step = self._step(at)
        if step is not None:
            lo, hi = int(np.searchsorted(time, step, "left")), int(np.searchsorted(time, step, "right"))
        sel = np.arange(lo, hi)
        if asset is not None:
            a = self._asset_id(asset)
            # Only the selected rows' assets: indexing every inventory row would cost O(rows) per call.
            asset_col = cols["asset"][lo:hi] if "asset" in cols else self._data.registry.asset[cols["inst"][lo:hi]]
            sel = sel[asset_col == a] if a is not None else sel[:0]
        return cols, sel

    def _asset_id(self, asset: str) -> int | None:
        return self._data.registry.asset_id(asset)

    def _names(self, ids: np.ndarray) -> np.ndarray:
        return self._data.registry.asset_names(ids)

    def _time(self, ns: np.ndarray) -> pd.Series:
        # A view as datetime64[ns] (what pd.to_datetime(ns, utc=True) gives, 20x faster).
        return pd.Series(pd.DatetimeIndex(ns.astype(np.int64).view("datetime64[ns]")).tz_localize("UTC"))

    # -- tables -----------------------------------------------------------
    def by_strike(self, asset: str | None = None, at: Any = None) -> pd.DataFrame:
        """GEX by (asset, time, strike), maturities and both legs summed: the strike chart
        (with ``dex``/``vex``/``cex`` when those greeks were asked for)."""
        c, s = self._rows("by_strike", asset, at)
        return _frame(
            {
                "asset": self._names(c["asset"][s]),
                "time": self._time(c["time"][s]),
                "strike": c["strike"][s],
                "call_gex": c["call_gex"][s],
                "put_gex": c["put_gex"][s],
                "gex": c["gex"][s],
                **{x: c[x][s] for x in self.exposures},
            }
        )

    def by_expiry(self, asset: str | None = None, at: Any = None) -> pd.DataFrame:
        """GEX by (asset, time, expiry)."""
        c, s = self._rows("by_expiry", asset, at)
        return _frame(
            {
                "asset": self._names(c["asset"][s]),
                "time": self._time(c["time"][s]),
                "expiry": self._time(c["expiry"][s]),
                "gex": c["gex"][s],
                **{x: c[x][s] for x in self.exposures},
            }
        )

    def total(self, asset: str | None = None) -> pd.DataFrame:
        """Total GEX and the asset's spot at every grid time."""
        c, s = self._rows("total", asset, None)
        return _frame(
            {
                "asset": self._names(c["asset"][s]),
                "time": self._time(c["time"][s]),
                "spot": c["spot"][s],
                "gex": c["gex"][s],
                **{x: c[x][s] for x in self.exposures},
            }
        )

    def _inventory_columns(self, asset: str | None, at: Any) -> dict[str, Any]:
        c, s = self._rows("inventory", asset, at)
        inst = c["inst"][s]
        reg = self._data.registry
        return {
            "asset": self._names(reg.asset[inst]),
            "time": c["time"][s],
            "instrument": reg.name[inst],
            "expiry": reg.expiry[inst],
            "strike": reg.strike[inst],
            "kind": np.where(reg.is_call[inst], "C", "P").astype(object),
            "inventory": c["inventory"][s],
            "spot": c["spot"][s],
            "vol": c["vol"][s],
            "gamma": c["gamma"][s],
            "gex": c["gex"][s],
            **{x: c[x][s] for x in self.exposures},
        }

    def _asset_at(self, asset: Any, at: Any, method: str) -> tuple[str | None, Any]:
        """(asset, at) for :meth:`inventory` and :meth:`to_arrow`, which took ``(at, asset)``
        positionally before they were given the order of every other table ``(asset, at)``.
        A time where the asset goes (``"last"``, a timestamp, a date string) is the old order:
        honoured, with a FutureWarning to pass ``at=`` by keyword."""
        if asset is None or (isinstance(asset, str) and self._asset_id(asset) is not None):
            return asset, at
        if isinstance(asset, str) and asset != "last":
            try:
                to_ns(asset, name="at")
            except OptionError:
                return asset, at  # an asset this result does not have: no rows, as before
        if at is not None and not isinstance(at, str):
            return asset, at  # no asset name in either place: leave the call as written
        warnings.warn(
            f"GexResult.{method}(at, asset) is the old argument order; the order is now (asset, at) "
            f"as in by_strike: pass at= (and asset=) by keyword",
            FutureWarning,
            stacklevel=3,
        )
        return at, asset

    def inventory(self, asset: str | None = None, at: Any = None) -> pd.DataFrame:
        """Dealer inventory, spot, vol, gamma and GEX per live instrument and grid time.

        Arguments in the order of :meth:`by_strike` (``asset``, then ``at``); the old
        positional order ``inventory(at, asset)`` still works, with a FutureWarning."""
        asset, at = self._asset_at(asset, at, "inventory")
        cols = self._inventory_columns(asset, at)
        cols["time"] = self._time(cols["time"])
        cols["expiry"] = self._time(cols["expiry"])
        return _frame(cols)

    def to_arrow(self, asset: str | None = None, at: Any = None) -> pa.Table:
        """The inventory rows as a ``pyarrow.Table`` (same columns and arguments as :meth:`inventory`)."""
        asset, at = self._asset_at(asset, at, "to_arrow")
        cols = self._inventory_columns(asset, at)
        return pa.table(
            {
                "asset": pa.array(list(cols["asset"]), pa.string()),
                "time": _ts(cols["time"]),
                "instrument": pa.array(list(cols["instrument"]), pa.string()),
                "expiry": _ts(cols["expiry"]),
                "strike": pa.array(cols["strike"], pa.float64()),
                "kind": pa.array(list(cols["kind"]), pa.string()),
                **{
                    k: pa.array(cols[k], pa.float64())
                    for k in ("inventory", "spot", "vol", "gamma", "gex", *self.exposures)
                },
            }
        )

    def book(self, asset: str, at: Any = None) -> Book:
        """The live options of ``asset`` at ``at`` (default: the last grid time), as arrays."""
        if self._asset_id(asset) is None:
            raise OptionError(f"invalid option asset: {asset!r} is not in this result (assets: {self.assets})")
        step = self._step("last" if at is None else at)
        c, s = self._rows("inventory", asset, step if step is None else pd.Timestamp(step, tz="UTC"))
        inst = c["inst"][s]
        reg = self._data.registry
        tc, ts = self._rows("total", asset, pd.Timestamp(step, tz="UTC") if step is not None else None)
        spot = float(tc["spot"][ts][0]) if len(ts) else 0.0
        expiry = reg.expiry[inst]
        return Book(
            asset=str(asset).upper(),
            time=pd.Timestamp(step, tz="UTC"),
            spot=spot,
            instrument=reg.name[inst],
            s=c["spot"][s],
            k=reg.strike[inst],
            tau=(expiry - step) / (365.0 * 86_400.0 * 1e9),
            sigma=c["vol"][s],
            inventory=c["inventory"][s],
            multiplier=reg.multiplier[inst],
            is_call=reg.is_call[inst],
            gex=c["gex"][s],
        )

    # -- analytics (implemented in flowgex.analytics) ----------------------
    def filter(
        self,
        *,
        max_days: float | None = None,
        exclude_next: bool = False,
        expiry: Any = None,
    ) -> GexResult:
        """The same result restricted to some expiries, judged at each grid time.

        ``max_days`` keeps options expiring within that many days of the grid
        time, ``exclude_next`` drops each asset's nearest live expiry,
        ``expiry`` keeps one expiry date (UTC). Filters combine (all must hold).
        Every table, profile, level and chart of the filtered result follows.
        """
        return filter_expiries(self, max_days=max_days, exclude_next=exclude_next, expiry=expiry)

    def levels_series(
        self,
        asset: str,
        *,
        band: float = 0.02,
        width: float = 0.2,
        points: int = 401,
        threads: int | None = None,
        lookback: Any = None,
    ) -> pd.DataFrame:
        """Spot, total and near-spot GEX, flip and regime of ``asset`` at every grid time (backtests);
        with ``lookback``, their change over it (``total_gex_change``, ``near_spot_gex_change``)."""
        return _levels_series(self, asset, band=band, width=width, points=points, threads=threads, lookback=lookback)

    def changes(self, asset: str, *, lookback: Any = "1h", at: Any = "last", by: str = "strike") -> pd.DataFrame:
        """What changed over ``lookback`` before ``at`` (DESIGN rule 17), per strike or expiry.

        One row per strike (``by="expiry"``: per expiry) of ``asset`` live at either time:
        ``gex``, ``gex_before``, ``gex_change`` (and the same for ``dex``/``vex``/``cex``
        when computed) and ``inventory_change`` in contracts, sorted by the size of the
        GEX change. Both times must be grid times of the result; a strike absent at
        one of them counts 0 there.
        """
        return _changes(self, asset, lookback=lookback, at=at, by=by)

    def regime_study(
        self,
        asset: str,
        signal: str = "near_spot_gex",
        price: pd.Series | None = None,
        *,
        band: float = 0.02,
        **options: Any,
    ) -> Any:
        """Forward volatility by regime of this result's ``signal`` ("near_spot_gex" or "total_gex").

        The price is the result's own spot at each grid time unless ``price``
        (a Series on a DatetimeIndex, best at least as fine as the grid) is
        given. ``options`` go to :func:`flowgex.regime_study` (horizons, block,
        n_boot, seed, control, ...). Returns a :class:`flowgex.RegimeStudy`.
        """
        name = check_asset(self, asset)
        by_strike = self.by_strike(name) if signal == "near_spot_gex" else None
        sig, spot = gex_signal(self.total(name), by_strike, signal=signal, band=band)
        return _regime_study(sig, spot if price is None else price, **options)
