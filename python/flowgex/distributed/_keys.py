"""Which engine a row belongs to: its asset, as the core names it.

Rows go to one engine per asset, so every rule that couples options (the
as-of underlying price, the asset's total spot, trade ids, which are numbered
per asset) is applied by one engine, exactly as on one machine. Names are
parsed by the core (:func:`flowgex._core.parse_instrument`); the four-column
form and spot rows name the asset directly (the core upper-cases ASCII
letters, and trims spot assets). A row no asset can be read from goes to the
catch-all key ``""``: it is rejected wherever it goes, so it only needs to be
counted once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .. import _core
from ..errors import FlowgexError

__all__ = ["CATCH_ALL", "Ident", "row_keys", "identities"]

CATCH_ALL = ""
#: An option's identity as the core's registry keys it: asset, quote, expiry, strike, kind.
Ident = tuple[str, str | None, int, float, str]
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@lru_cache(maxsize=1 << 16)
def _parse(name: str) -> Ident | None:
    try:
        asset, quote, expiry, strike, kind = _core.parse_instrument(name)
    except FlowgexError:
        return None
    return (asset, quote, int(expiry), float(strike), kind)


def _asset(value: Any, *, trim: bool = False) -> str:
    if not isinstance(value, str):
        return CATCH_ALL
    return (value.strip() if trim else value).translate(_UPPER)


def row_keys(enc: dict[str, Any]) -> np.ndarray:
    """The key (asset) of each row of an encoded trades, chain, spot or initial table."""
    if "price" in enc:  # spot
        names, codes = [_asset(a, trim=True) for a in enc["assets"]], enc["asset"]
    elif enc.get("names") is not None:
        names, codes = [(i[0] if (i := _parse(n)) else CATCH_ALL) for n in enc["names"]], enc["inst"]
    else:
        names, codes = [_asset(a) for a in enc["parts"]["asset"]], enc["inst"]
    lookup = np.array([*names, CATCH_ALL], dtype=object)
    return lookup[np.asarray(codes, dtype=np.int64)]  # a null (code -1) picks the trailing catch-all


def identities(enc: dict[str, Any]) -> list[Ident | None]:
    """The identity of each dictionary code of rows the core *accepted* (so every part is valid:
    the asset is ASCII, the kind one of C/CALL/P/PUT in any case)."""
    if enc.get("names") is not None:
        return [_parse(n) for n in enc["names"]]
    p = enc["parts"]
    return [
        (_asset(a), None, int(e), float(s), str(k)[:1].translate(_UPPER))
        for a, e, s, k in zip(p["asset"], p["expiry"], p["strike"], p["kind"])
    ]
