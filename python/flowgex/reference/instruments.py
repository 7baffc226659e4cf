"""Instrument identity: Deribit names parsed and printed, and the canonical order of options.

An option is (asset, quote, expiry ns, strike, kind); DESIGN section 2 names it
``BTC-27DEC24-100000-C`` (``BTC_USDC-...`` for linear options, ``d`` for a decimal point).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Key", "MONTHS", "parse_name", "display_name", "instrument", "canonical_order", "INT64_MIN", "INT64_MAX"]

#: (asset, quote or None, expiry ns, strike, "C" or "P").
Key = tuple[str, "str | None", int, float, str]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_NAME = re.compile(r"^([A-Z0-9]+)(?:_([A-Z0-9]+))?-(\d{1,2})([A-Z]{3})(\d{2})-(\d+(?:[D.]\d+)?)-([CP])$")


def parse_name(name: str) -> tuple[str, str | None, int, float, str] | None:
    """(asset, quote, expiry_ns, strike, kind) of a Deribit name, or None."""
    m = _NAME.match(name.upper()) if isinstance(name, str) else None
    if m is None:
        return None
    asset, quote, day, mon, yy, strike, kind = m.groups()
    if mon not in MONTHS:
        return None
    try:
        expiry = dt.datetime(2000 + int(yy), MONTHS.index(mon) + 1, int(day), 8, tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    k = float(strike.replace("D", "."))
    if not (math.isfinite(k) and k > 0):
        return None
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return asset, quote, (expiry - epoch) // dt.timedelta(microseconds=1) * 1000, k, kind


def strike_text(strike: float) -> str:
    """A strike as a name prints it: the shortest decimal that reads back as the same double,
    never an exponent, ``d`` for the point (``100000``, ``0d625``, ``42336799360664970``)."""
    text = format(decimal.Decimal(repr(strike)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", "d")


def display_name(asset: str, quote: str | None, expiry_ns: int, strike: float, kind: str) -> str:
    """The Deribit name of an option (expiry day at 08:00 UTC)."""
    day = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=expiry_ns // 1000)
    k = strike_text(strike)
    under = asset if quote is None else f"{asset}_{quote}"
    return f"{under}-{day.day}{MONTHS[day.month - 1]}{day.year % 100:02d}-{k}-{kind}"


def _positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def instrument(row: Mapping[str, Any], parts: bool) -> Key | None:
    """The option of an input row: its ``instrument`` name, or (with ``parts``) its
    asset/expiry/strike/kind columns; None when it names no valid option."""
    if not parts:
        return parse_name(row.get("instrument"))  # type: ignore[arg-type]
    asset, expiry, strike, kind = row.get("asset"), row.get("expiry"), row.get("strike"), row.get("kind")
    if not isinstance(asset, str) or not (asset.isascii() and asset.isalnum()) or expiry in (None, INT64_MIN):
        return None
    if not _positive(strike):
        return None
    k = str(kind).upper() if kind is not None else ""
    k = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}.get(k)
    return (asset.upper(), None, int(expiry), float(strike), k) if k else None


def canonical_order(key: Key) -> tuple[Any, ...]:
    """Every sum runs over options in this order: asset, strike, expiry, kind, then quote (none first)."""
    return (key[0], key[3], key[2], key[4], (0, "") if key[1] is None else (1, key[1]))
