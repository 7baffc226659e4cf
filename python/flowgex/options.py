"""Keyword options shared by :func:`flowgex.flow_gex`, :class:`flowgex.Engine`
and the reference engine: parsed and checked once, here, so every engine sees
the same normalised values (nanosecond integers, upper-case asset keys)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import OptionError

__all__ = ["EngineOptions", "to_ns", "UNITS", "GREEKS", "EXPOSURES", "parse_greeks", "duration_ns"]

UNITS = ("usd_per_1pct", "usd_per_point", "underlying")

#: Greeks a run may compute (gamma always is).
GREEKS = ("gamma", "delta", "vanna", "charm")
#: The exposure column of each greek beyond gamma (DESIGN rule 16).
EXPOSURES = {"delta": "dex", "vanna": "vex", "charm": "cex"}


def parse_greeks(greeks: Any) -> tuple[str, ...]:
    """The asked greeks in canonical order, gamma included; anything else is an OptionError."""
    if isinstance(greeks, str):
        greeks = (greeks,)
    try:
        names = list(greeks)
    except TypeError as exc:
        raise OptionError(f"invalid option greeks: expected names among {GREEKS}, found {greeks!r}") from exc
    for g in names:
        if not isinstance(g, str) or g not in GREEKS:
            raise OptionError(f"invalid option greeks: expected names among {GREEKS}, found {g!r}")
    return tuple(g for g in GREEKS if g == "gamma" or g in names)


TimeLike = str | dt.datetime | dt.date | pd.Timestamp | np.datetime64 | int


def to_ns(value: Any, *, name: str) -> int:
    """A point in time as UTC nanoseconds since the epoch (naive times are UTC)."""
    if isinstance(value, bool):
        raise OptionError(f"invalid option {name}: expected a timestamp, found {value!r}")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise OptionError(f"invalid option {name}: expected a timestamp, found {value!r}") from exc
    if ts is pd.NaT:
        raise OptionError(f"invalid option {name}: expected a timestamp, found NaT")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    try:
        return int(ts.as_unit("ns").value)
    except (ValueError, OverflowError) as exc:  # pandas' OutOfBoundsDatetime is a ValueError
        raise OptionError(
            f"invalid option {name}: expected a timestamp within 1677-09-21..2262-04-11, found {value!r}"
        ) from exc


def _duration_ns(name: str, value: Any) -> int:
    if isinstance(value, str):
        # "1d" as users write it: pandas deprecates the lower-case day unit (it wants "1D").
        value = re.sub(r"(?<=\d)\s*d$", "D", value.strip())
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise OptionError(f"invalid option {name}: expected a duration such as '10min', found {value!r}") from exc
    ns = int(td.value)
    if td is pd.NaT or ns <= 0:
        raise OptionError(f"invalid option {name}: expected a positive duration, found {value!r}")
    return ns


def duration_ns(value: Any, *, name: str) -> int:
    """A positive duration (``"1h"``, a Timedelta) in nanoseconds; anything else is an OptionError."""
    return _duration_ns(name, value)


def _resolution_ns(value: Any) -> int:
    return _duration_ns("resolution", value)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise OptionError(f"invalid option {name}: expected one of {allowed}, found {value!r}")
    return str(value)


@dataclass(frozen=True)
class EngineOptions:
    """Validated engine options (times in ns, multipliers as (KEY, m) pairs)."""

    resolution_ns: int
    unit: str
    start_ns: int | None
    end_ns: int | None
    multipliers: tuple[tuple[str, float], ...]
    missing_vol: str | float
    missing_spot: str
    errors: str
    threads: int | None
    r: float
    keep_inventory: str
    keep_aggregates: str = "all"
    grid_limit: int | None = None
    outlier_gap_ns: int | None = 30 * 86_400 * 10**9
    greeks: tuple[str, ...] = ("gamma",)

    @classmethod
    def parse(
        cls,
        *,
        resolution: Any = "10min",
        unit: str = "usd_per_1pct",
        start: Any = None,
        end: Any = None,
        multipliers: Mapping[str, float] | None = None,
        missing_vol: Literal["error", "skip"] | float = "error",
        missing_spot: Literal["error", "skip"] = "error",
        errors: Literal["raise", "quarantine"] = "raise",
        threads: int | None = None,
        r: float = 0.0,
        keep_inventory: Literal["all", "last"] = "all",
        keep_aggregates: Literal["all", "last"] = "all",
        grid_limit: int | None = None,
        outlier_gap: Any = "30D",
        greeks: Any = ("gamma",),
    ) -> EngineOptions:
        res = _resolution_ns(resolution)
        start_ns = None if start is None else to_ns(start, name="start")
        end_ns = None if end is None else to_ns(end, name="end")
        if start_ns is not None:
            start_ns = -((-start_ns) // res) * res  # first grid time >= start
        if end_ns is not None:
            end_ns = (end_ns // res) * res  # last grid time <= end
        if start_ns is not None and end_ns is not None and start_ns > end_ns:
            raise OptionError(
                f"invalid option start/end: expected start <= end on the {resolution} grid, "
                f"found start={pd.Timestamp(start_ns, tz='UTC')} end={pd.Timestamp(end_ns, tz='UTC')}"
            )
        mult: list[tuple[str, float]] = []
        for key, m in (multipliers or {}).items():
            try:
                mf = float(m)
            except (TypeError, ValueError) as exc:
                raise OptionError(f"invalid option multipliers: {key!r} maps to {m!r}") from exc
            if not (math.isfinite(mf) and mf > 0):
                raise OptionError(f"invalid option multipliers: expected positive finite values, found {key}: {m!r}")
            mult.append((str(key).upper(), mf))
        if isinstance(missing_vol, str):
            mv: str | float = _choice("missing_vol", missing_vol, ("error", "skip"))
        else:
            try:
                mv = float(missing_vol)
            except (TypeError, ValueError) as exc:
                raise OptionError(
                    f"invalid option missing_vol: expected 'error', 'skip' or a number, found {missing_vol!r}"
                ) from exc
            if not (math.isfinite(mv) and mv > 0):
                raise OptionError(f"invalid option missing_vol: a fill volatility must be > 0, found {mv}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise OptionError(f"invalid option threads: expected a positive int or None, found {threads!r}")
        try:
            rate = float(r)
        except (TypeError, ValueError) as exc:
            raise OptionError(f"invalid option r: expected a number, found {r!r}") from exc
        if not math.isfinite(rate):
            raise OptionError(f"invalid option r: expected a finite rate, found {r!r}")
        if grid_limit is not None and (
            isinstance(grid_limit, bool) or not isinstance(grid_limit, int) or not 0 < grid_limit < 2**64
        ):
            raise OptionError(f"invalid option grid_limit: expected a positive int or None, found {grid_limit!r}")
        gap_ns = None if outlier_gap is None else _duration_ns("outlier_gap", outlier_gap)
        return cls(
            resolution_ns=res,
            unit=_choice("unit", unit, UNITS),
            start_ns=start_ns,
            end_ns=end_ns,
            multipliers=tuple(mult),
            missing_vol=mv,
            missing_spot=_choice("missing_spot", missing_spot, ("error", "skip")),
            errors=_choice("errors", errors, ("raise", "quarantine")),
            threads=threads,
            r=rate,
            keep_inventory=_choice("keep_inventory", keep_inventory, ("all", "last")),
            keep_aggregates=_choice("keep_aggregates", keep_aggregates, ("all", "last")),
            grid_limit=grid_limit,
            outlier_gap_ns=gap_ns,
            greeks=parse_greeks(greeks),
        )

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> EngineOptions:
        d = dict(d)
        d["multipliers"] = tuple((str(k), float(v)) for k, v in d["multipliers"])
        d["greeks"] = parse_greeks(d.get("greeks", ("gamma",)))
        return cls(**d)
