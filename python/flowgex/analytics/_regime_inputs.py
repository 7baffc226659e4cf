"""Checking what :func:`~flowgex.regime_study` is given, and taking the price as of each signal time.

Kept apart from the study so its rules are in one place: a signal and a price
are pandas Series on a DatetimeIndex, with finite values (prices > 0) and no
repeated time; options are keyword-only and checked before any work. Every
departure is a flowgex error naming what was expected and what was found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OptionError, SchemaError

__all__ = ["Aligned", "check_options", "align"]

CONTROLS = (None, "trailing_rv")


def _int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise OptionError(f"invalid option {name}: expected an int >= {low}, found {value!r}")
    return int(value)


def check_options(
    horizons: Iterable[int],
    periods_per_year: float | None,
    quantiles: int,
    block: int,
    n_boot: int,
    seed: int,
    control: str | None,
    control_window: int | None,
) -> tuple[tuple[int, ...], float | None, int | None]:
    """Checked (horizons sorted and unique, periods_per_year, control window); raises OptionError."""
    if isinstance(horizons, (str, bytes)) or not isinstance(horizons, Iterable):
        raise OptionError(f"invalid option horizons: expected ints >= 1 such as (1, 5, 21), found {horizons!r}")
    hs = [_int(h, "horizons", 1) for h in horizons]
    if not hs:
        raise OptionError("invalid option horizons: expected at least one horizon, found none")
    if periods_per_year is not None and (
        isinstance(periods_per_year, bool)
        or not isinstance(periods_per_year, (int, float, np.integer, np.floating))
        or not math.isfinite(periods_per_year)
        or not 0 < periods_per_year <= 1e12
    ):
        raise OptionError(
            f"invalid option periods_per_year: expected a number in (0, 1e12] such as 252, found {periods_per_year!r}"
        )
    _int(quantiles, "quantiles", 2)
    _int(block, "block", 1)
    _int(n_boot, "n_boot", 20)
    _int(seed, "seed", 0)
    if control not in CONTROLS:
        raise OptionError(f"invalid option control: expected None or 'trailing_rv', found {control!r}")
    window = None if control_window is None else _int(control_window, "control_window", 2)
    ppy = None if periods_per_year is None else float(periods_per_year)
    return tuple(sorted(set(hs))), ppy, window


def _series(x: Any, name: str) -> pd.Series:
    if not isinstance(x, pd.Series):
        raise SchemaError(f"invalid {name}: expected a pandas Series on a DatetimeIndex, found {type(x).__name__}")
    if not isinstance(x.index, pd.DatetimeIndex):
        raise SchemaError(f"invalid {name}: expected a DatetimeIndex, found {type(x.index).__name__}")
    if x.index.hasnans:
        raise OptionError(f"invalid {name}: its index has a missing time (NaT)")
    try:
        values = np.asarray(x.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"invalid {name}: expected numbers, found dtype {x.dtype}") from exc
    bad = ~np.isfinite(values)
    if name == "price":
        bad |= values <= 0
    if bad.any():
        at = list(x.index[bad][:3].astype(str))
        what = "finite prices > 0" if name == "price" else "finite numbers"
        hint = (
            " (drop missing prices; gaps between observations are handled as of each time)" if name == "price" else ""
        )
        raise OptionError(f"invalid {name}: expected {what}, found {int(bad.sum())} bad value(s), first at {at}{hint}")
    out = pd.Series(values, index=x.index)
    if not out.index.is_monotonic_increasing:
        out = out.sort_index(kind="stable")
    if out.index.has_duplicates:
        dup = list(out.index[out.index.duplicated()][:3].astype(str))
        raise OptionError(f"invalid {name}: each time must appear once, found repeats at {dup}")
    return out


@dataclass(frozen=True)
class Aligned:
    """The signal times that have a price, with the signal and the price as of each."""

    index: pd.DatetimeIndex
    signal: np.ndarray
    price: np.ndarray
    without_price: int
    stale: int


def align(signal: Any, price: Any) -> Aligned:
    """The price as of each signal time (the latest at or before it).

    Signal times before the first price have none: they are left out and
    counted (``without_price``). ``stale`` counts times whose as-of price is
    the same observation as at the previous time (a gap in the price: the
    return into that time is 0).
    """
    s, p = _series(signal, "signal"), _series(price, "price")
    if len(s) == 0:
        raise OptionError("invalid signal: it is empty")
    if (s.index.tz is None) != (p.index.tz is None):
        raise SchemaError(
            "invalid price: the signal and price indexes must both be time-zone aware or both naive, found "
            f"signal tz={s.index.tz}, price tz={p.index.tz}"
        )
    s_ns = s.index.as_unit("ns").asi8
    p_ns = (p.index.tz_convert(s.index.tz) if s.index.tz is not None else p.index).as_unit("ns").asi8
    pos = np.searchsorted(p_ns, s_ns, side="right") - 1
    has = pos >= 0
    first = int(np.argmax(has)) if has.any() else len(has)
    if first == len(has):
        raise OptionError(
            f"invalid price: no price at or before any signal time (signal from {s.index[0]}, price from "
            f"{p.index[0] if len(p) else 'nowhere: it is empty'})"
        )
    pos = pos[first:]
    return Aligned(
        index=s.index[first:],
        signal=s.to_numpy()[first:],
        price=p.to_numpy()[pos],
        without_price=first,
        stale=int((np.diff(pos) == 0).sum()),
    )
