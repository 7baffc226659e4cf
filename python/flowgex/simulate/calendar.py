"""Deribit's listing calendar and strike ladders, simplified but recognisable.

Every expiry is at 08:00 UTC. Each date gets the highest class it qualifies
for, and is listed (becomes tradable) that long before it expires:

| class     | dates                                   | listed before expiry |
|-----------|-----------------------------------------|----------------------|
| daily     | every day                               | 3 days               |
| weekly    | Fridays                                 | 3 weeks              |
| monthly   | the last Friday of a month              | 91 days              |
| quarterly | the last Friday of Mar, Jun, Sep, Dec   | 365 days             |

Strike ladders are set at listing around the spot of that moment: a fine step
within ±1σ√T of spot, twice that within ±2σ√T and four times that within
±3σ√T (at least ±6%, at most 0.3×–3× spot). The fine step is
spot·0.004·√(days to expiry), rounded down (with 1% slack) to 1, 2, 2.5 or
5 × 10ⁿ: 500 for a BTC daily at 95k, 1,000 for a weekly, 5,000 for a
quarterly; 25 / 50 / 250 for ETH at 3.6k.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Expiry", "expiries_between", "strike_ladder", "nice_step", "HOUR_NS", "DAY_NS"]

HOUR_NS = 3600 * 10**9
DAY_NS = 24 * HOUR_NS
_LEAD_DAYS = {"daily": 3, "weekly": 21, "monthly": 91, "quarterly": 365}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Expiry:
    """One listed expiry: its time, class and listing time (ns since the epoch, UTC)."""

    expiry_ns: int
    kind: str
    listed_ns: int


def _last_friday(year: int, month: int) -> dt.date:
    last = dt.date(year, month, _cal.monthrange(year, month)[1])
    return last - dt.timedelta(days=(last.weekday() - 4) % 7)


def _class_of(day: dt.date) -> str:
    if day.weekday() == 4 and day == _last_friday(day.year, day.month):
        return "quarterly" if day.month in (3, 6, 9, 12) else "monthly"
    return "weekly" if day.weekday() == 4 else "daily"


def _ns(day: dt.date) -> int:
    t = dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.timezone.utc)
    return (t - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def expiries_between(start_ns: int, end_ns: int) -> list[Expiry]:
    """Every expiry live at some time in [start_ns, end_ns): listed before end, expiring after start."""
    first = (_EPOCH + dt.timedelta(microseconds=start_ns // 1000)).date()
    last = (_EPOCH + dt.timedelta(microseconds=end_ns // 1000)).date() + dt.timedelta(days=366)
    out = []
    day = first
    while day <= last:
        e = _ns(day)
        kind = _class_of(day)
        listed = e - _LEAD_DAYS[kind] * DAY_NS
        if e > start_ns and listed < end_ns:
            out.append(Expiry(expiry_ns=e, kind=kind, listed_ns=listed))
        day += dt.timedelta(days=1)
    return out


def nice_step(raw: float) -> float:
    """The largest 1, 2, 2.5 or 5 × 10ⁿ that is <= ``raw`` (1% slack: 24.9 gives 25)."""
    exp = math.floor(math.log10(raw * 1.01))
    for m in (5.0, 2.5, 2.0, 1.0):
        if m * 10.0**exp <= raw * 1.01:
            return m * 10.0**exp
    return 10.0 ** (exp - 1) * 5.0


def strike_ladder(spot: float, years: float, atm_vol: float) -> np.ndarray:
    """The strikes listed for an expiry ``years`` away when spot is ``spot``."""
    days = max(years * 365.0, 1.0)
    step = nice_step(spot * 0.004 * math.sqrt(days))
    sd = max(atm_vol * math.sqrt(max(years, 1 / 365)), 0.02)
    lo_cap, hi_cap = 0.3 * spot, 3.0 * spot
    strikes: set[float] = set()
    for mult, reach in ((1, 1.0), (2, 2.0), (4, 3.0)):
        width = max(reach * sd, 0.02 * reach)
        s = step * mult
        lo = max(spot * math.exp(-width), lo_cap)
        hi = min(spot * math.exp(width), hi_cap)
        k0, k1 = math.ceil(lo / s), math.floor(hi / s)
        strikes.update(round(k * s, 10) for k in range(max(k0, 1), k1 + 1))
    return np.array(sorted(strikes), dtype=np.float64)
