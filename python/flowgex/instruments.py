"""Option instruments: Deribit names parsed by the Rust core."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from . import _core

__all__ = ["Instrument", "parse_instrument", "ns_to_datetime"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def ns_to_datetime(ns: int) -> dt.datetime:
    """UTC nanoseconds -> an aware datetime (microsecond precision, exact for expiries)."""
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


@dataclass(frozen=True)
class Instrument:
    """One option series. ``expiry`` is 08:00 UTC on the expiry date for Deribit names."""

    asset: str
    quote: str | None
    expiry: dt.datetime
    strike: float
    kind: Literal["C", "P"]

    @property
    def name(self) -> str:
        """The canonical Deribit-style name (``d`` as the decimal point of strikes)."""
        k = str(int(self.strike)) if float(self.strike).is_integer() else repr(float(self.strike)).replace(".", "d")
        under = self.asset if self.quote is None else f"{self.asset}_{self.quote}"
        return f"{under}-{self.expiry.day}{_MONTHS[self.expiry.month - 1]}{self.expiry.strftime('%y')}-{k}-{self.kind}"


def parse_instrument(name: str) -> Instrument:
    """Parses ``BTC-27DEC24-100000-C``, ``XRP_USDC-30JUN23-0d625-C`` (any case, 1- or 2-digit days).

    Raises :class:`flowgex.errors.InstrumentError` naming the string and what is wrong.
    """
    asset, quote, expiry_ns, strike, kind = _core.parse_instrument(name)
    return Instrument(asset=asset, quote=quote, expiry=ns_to_datetime(expiry_ns), strike=strike, kind=kind)
