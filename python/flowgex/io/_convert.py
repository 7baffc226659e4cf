"""Conversions every venue reader shares: venue units to canonical units,
text to numbers without losing a row, and provenance columns.

- Amounts: Deribit (and Tardis, which relays it) quote option sizes in base-coin
  units; the engine wants contracts, so amount / contract multiplier, resolved
  per distinct instrument name (names repeat millions of times, parse once).
- Percent volatilities become decimals.
- A value that is not a number becomes NaN (which the engine rejects with a
  reason) and an empty one null (no observation): a typo never drops a row and
  never passes for a good value.
- ``source_file`` (dictionary-encoded, one entry per file) and ``source_row``
  (the line in that file) let a BadRowsError say where each bad row came from.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import _core
from ..errors import FlowgexError
from ..multipliers import contract_multiplier
from ..schema import TIMESTAMP

__all__ = [
    "DICT",
    "provenance",
    "contracts",
    "numbers",
    "epoch_timestamps",
    "percent",
    "as_dictionary",
]

DICT = pa.dictionary(pa.int32(), pa.string())


@functools.lru_cache(maxsize=65_536)
def _asset_quote(name: str) -> tuple[str, str | None] | None:
    try:
        asset, quote, *_ = _core.parse_instrument(name)
    except FlowgexError:
        return None
    return asset, quote


def as_dictionary(col: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """A string column as dictionary<int32, string> (cheap to carry, parsed once downstream)."""
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col])
    if col.type == DICT:
        return col
    if pa.types.is_dictionary(col.type):
        return col.cast(DICT)
    if not pa.types.is_string(col.type):
        col = pc.cast(col, pa.string())
    return pc.dictionary_encode(col)


def provenance(n: int, path: Path, first_line: int) -> dict[str, pa.Array]:
    """``source_file`` (one dictionary entry) and ``source_row`` = first_line, first_line+1, ..."""
    files = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([str(path)]))
    rows = pa.array(np.arange(first_line, first_line + n, dtype=np.int64))
    return {"source_file": files, "source_row": rows}


def contracts(
    instrument: pa.ChunkedArray,
    amount: pa.Array | pa.ChunkedArray,
    multipliers: Mapping[str, float] | None,
    *,
    where: str = "",
) -> pa.Array:
    """Base-coin amounts -> contracts. Unparseable names keep their amount (the
    engine rejects the row for its name); an option whose asset has no known
    multiplier gets NaN (any guess would scale its GEX silently), so its row is
    kept and the engine rejects it as ``unknown_multiplier`` instead of one odd
    option (``MATIC_USDC-…`` in a ticker dump) aborting the whole read. A null
    amount stays null."""
    inst = as_dictionary(instrument).combine_chunks()
    names = inst.dictionary.to_pylist()
    mult = np.ones(len(names) + 1, dtype=np.float64)
    for i, name in enumerate(names):
        parsed = _asset_quote(name) if name is not None else None
        if parsed is None:
            continue
        m = contract_multiplier(parsed[0], parsed[1], multipliers)
        mult[i] = math.nan if m is None or not math.isfinite(m) or m <= 0 else m
    codes = inst.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    values = np.asarray(pc.cast(amount, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    valid = pc.is_valid(amount)
    if isinstance(valid, pa.ChunkedArray):
        valid = valid.combine_chunks()
    return pa.array(values / mult[codes], pa.float64(), mask=~np.asarray(valid.to_numpy(zero_copy_only=False)))


def parse_number(text: str | None) -> float | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return math.nan


def numbers(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Text or numbers -> float64: empty is null, anything unparseable NaN (a bad value, counted)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type) or pa.types.is_null(col.type):
        return pc.cast(col, pa.float64())
    try:
        return pc.cast(col, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([parse_number(v) for v in col.to_pylist()], pa.float64(), from_pandas=False)


def _integer(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text.strip())
        return value if abs(value) < 2**63 else None  # e.g. a 20-digit epoch: unreadable, not an overflow
    except ValueError:
        try:
            f = float(text)
        except ValueError:
            return None
        return int(f) if math.isfinite(f) and abs(f) < 2.0**63 else None


def _epoch_ints(col: pa.Array) -> pa.Array:
    if pa.types.is_integer(col.type):
        return pc.cast(col, pa.int64())
    if pa.types.is_floating(col.type):
        v = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        ok = np.isfinite(v) & (np.abs(v) < 2.0**63)
        return pa.array(np.where(ok, v, 0).astype(np.int64), pa.int64(), mask=~ok)
    try:
        return pc.cast(col, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([_integer(v) for v in col.to_pylist()], pa.int64())


def epoch_timestamps(col: pa.Array | pa.ChunkedArray, unit: str) -> pa.Array:
    """Integer epochs in ``unit`` (``"us"``, ``"ms"``) -> timestamp[ns, UTC]; unreadable -> null
    (the engine rejects it as bad_timestamp, with its file and line)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    ints = _epoch_ints(col)
    scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    mask = np.asarray(ints.is_null().to_numpy(zero_copy_only=False))
    filled = np.asarray(ints.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    limit = np.iinfo(np.int64).max // scale
    mask = mask | (filled > limit) | (filled < -limit)  # not np.abs: |int64 min| overflows
    return pa.array(np.where(mask, 0, filled) * scale, pa.int64(), mask=mask).cast(TIMESTAMP)


def percent(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Venue percent (55.3) -> decimal (0.553); null stays null, NaN stays NaN."""
    return pc.divide(numbers(col), pa.scalar(100.0))
