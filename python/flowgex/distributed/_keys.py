"""Instrument identities and partition keys, computed in Python exactly as the core does.

Rows are routed to engines by a *key*: the asset (``partition_by="asset"``)
or the asset plus a stable hash group of the instrument
(``partition_by="instrument"``). The identity of an option must match the
core's registry (asset, quote, expiry, strike, kind), whatever the spelling
(letter case, the four-column form), or two spellings of one option would
land in different engines. Unparseable rows go to the catch-all key ``""``:
they are rejected wherever they go, and only need to be counted once.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np

from .. import _core
from .._encode import NULL_TS
from ..errors import FlowgexError

__all__ = ["Inst", "Partitioning", "CATCH_ALL", "instruments_of", "parse_name", "spot_asset", "canonical_key"]

#: The key of rows that belong to no option or asset (they are only validated and counted).
CATCH_ALL = ""


class Inst(NamedTuple):
    """An option's identity as the core registry keys it (``quote`` is "" for inverse options)."""

    asset: str
    quote: str
    expiry: int
    strike: float
    kind: str


def canonical_key(inst: Inst) -> tuple[str, float, int, str, str]:
    """The core's canonical instrument order: asset, strike, expiry, kind (C < P), quote (none first)."""
    return (inst.asset, inst.strike, inst.expiry, inst.kind, inst.quote)


@lru_cache(maxsize=1 << 16)
def parse_name(name: str) -> Inst | None:
    """A Deribit name's identity, or None when the core cannot parse it."""
    try:
        asset, quote, expiry, strike, kind = _core.parse_instrument(name)
    except FlowgexError:
        return None
    return Inst(asset, quote or "", int(expiry), float(strike), kind)


def _ascii_upper(s: str) -> str:
    return "".join(c.upper() if c.isascii() else c for c in s)


def _from_parts(asset: str, expiry: int, strike: float, kind: str) -> Inst | None:
    """Mirrors ``Instrument::from_parts`` and ``Kind::parse`` in the core."""
    if not asset or not (asset.isascii() and asset.isalnum()):
        return None
    if not (math.isfinite(strike) and strike > 0) or expiry == NULL_TS:
        return None
    k = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}.get(_ascii_upper(kind or ""))
    if k is None:
        return None
    return Inst(_ascii_upper(asset), "", int(expiry), float(strike), k)


def instruments_of(encoded: dict[str, Any]) -> list[Inst | None]:
    """The identity of each dictionary code of an encoded trades/chain/initial table."""
    if encoded.get("names") is not None:
        return [parse_name(n) for n in encoded["names"]]
    parts = encoded["parts"]
    return [
        _from_parts(a, e, s, k) for a, e, s, k in zip(parts["asset"], parts["expiry"], parts["strike"], parts["kind"])
    ]


def spot_asset(name: Any) -> str | None:
    """A spot row's asset as the core names it (trimmed, ASCII upper case), None when missing."""
    if not isinstance(name, str) or not name.strip():
        return None
    return _ascii_upper(name.strip())


@dataclass(frozen=True)
class Partitioning:
    """Which engine each option belongs to.

    ``"asset"``: one engine per asset, always exact. ``"instrument"``: each
    asset's options are spread over ``groups`` engines by a stable hash of
    their identity; exact only when the underlying price of every option comes
    from its own chain rows or the asset's spot table (checked by the caller).
    """

    by: Literal["asset", "instrument"]
    groups: int = 1

    def key(self, inst: Inst | None) -> str:
        if inst is None:
            return CATCH_ALL
        if self.by == "asset":
            return inst.asset
        ident = f"{inst.asset}|{inst.quote}|{inst.expiry}|{inst.strike.hex()}|{inst.kind}".encode()
        return f"{inst.asset}/{zlib.crc32(ident) % self.groups}"

    def asset_keys(self, asset: str | None) -> list[str]:
        """Every key holding options of ``asset`` (spot rows go to each of them)."""
        if asset is None:
            return [CATCH_ALL]
        if self.by == "asset":
            return [asset]
        return [f"{asset}/{g}" for g in range(self.groups)]

    def keys_of_codes(self, insts: list[Inst | None], codes: np.ndarray) -> np.ndarray:
        """The key of each row, given its dictionary code (-1 for null)."""
        lookup = np.array([self.key(i) for i in insts] + [CATCH_ALL], dtype=object)
        return lookup[np.asarray(codes, dtype=np.int64)]  # code -1 picks the trailing catch-all
