"""The canonical Arrow tables (DESIGN section 2) and the conversion of any
user input into them.

Readers and users hand us pandas DataFrames, pyarrow Tables/RecordBatches or
any object with ``__arrow_c_stream__`` (polars, duckdb); this module turns each
into a ``pyarrow.Table`` with exact column names and types: timestamps as
``timestamp[ns, UTC]``, floats as ``float64``, names kept as (possibly
dictionary-encoded) strings. Row validation is not done here: bad values stay
in place so the engine can count and report them by row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import SchemaError

__all__ = [
    "TIMESTAMP",
    "TRADES_SCHEMA",
    "CHAIN_SCHEMA",
    "SPOT_SCHEMA",
    "INITIAL_SCHEMA",
    "as_table",
    "canonical_trades",
    "canonical_chain",
    "canonical_spot",
    "canonical_initial",
    "uses_parts",
]

TIMESTAMP = pa.timestamp("ns", tz="UTC")

#: Canonical trades. ``instrument`` may be replaced by the four columns asset/expiry/strike/kind.
TRADES_SCHEMA = pa.schema(
    [
        ("timestamp", TIMESTAMP),
        ("instrument", pa.string()),
        ("side", pa.string()),
        ("amount", pa.float64()),
        ("index_price", pa.float64()),
        ("iv", pa.float64()),
        ("trade_id", pa.string()),
        ("block_trade", pa.bool_()),
        ("liquidation", pa.bool_()),
    ]
)
CHAIN_SCHEMA = pa.schema(
    [
        ("timestamp", TIMESTAMP),
        ("instrument", pa.string()),
        ("mark_iv", pa.float64()),
        ("underlying_price", pa.float64()),
        ("open_interest", pa.float64()),
        ("gamma", pa.float64()),
    ]
)
SPOT_SCHEMA = pa.schema([("timestamp", TIMESTAMP), ("asset", pa.string()), ("price", pa.float64())])
INITIAL_SCHEMA = pa.schema([("instrument", pa.string()), ("inventory", pa.float64())])

PARTS = ("asset", "expiry", "strike", "kind")
_FLOAT_COLUMNS = {
    "trades": ("amount", "index_price", "iv"),
    "chain": ("mark_iv", "underlying_price", "open_interest", "gamma"),
    "spot": ("price",),
    "initial": ("inventory",),
}
_REQUIRED = {
    "trades": ("timestamp", "side", "amount"),
    "chain": ("timestamp",),
    "spot": ("timestamp", "asset", "price"),
    "initial": ("inventory",),
}


def as_table(obj: Any, *, name: str) -> pa.Table:
    """Any supported tabular object as a ``pyarrow.Table`` (no copy when possible)."""
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if isinstance(obj, pd.DataFrame):
        _check_unique([str(c) for c in obj.columns], name=name)
        # from_pandas turns NaN in float columns into nulls ("no value"), which
        # is how the engine tells a missing iv from a bad one.
        try:
            return pa.Table.from_pandas(obj, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeEncodeError) as exc:
            raise SchemaError(f"{name}: {_column_problem(obj, exc)}") from exc
    if isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj)
    if hasattr(obj, "__arrow_c_array__"):
        return pa.table(pa.record_batch(obj))
    raise SchemaError(
        f"{name}: expected a pandas DataFrame, a pyarrow Table or RecordBatch, or an object with "
        f"__arrow_c_stream__ (polars, duckdb); found {type(obj).__module__}.{type(obj).__name__}"
    )


def _check_unique(names: list[str], *, name: str) -> None:
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise SchemaError(f"{name}: duplicate column name(s) {dup}; each column must appear once")


def _column_problem(df: pd.DataFrame, exc: BaseException) -> str:
    """Which pandas column Arrow could not convert, and why (a stray string among numbers...)."""
    for col in df.columns:
        try:
            pa.array(df[col], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeEncodeError) as col_exc:
            kinds = sorted({type(v).__name__ for v in df[col].head(10_000)})
            return (
                f"column {col!r} cannot be converted to Arrow (mixed value types {kinds}: {col_exc}); "
                "give it one type, e.g. pandas.to_numeric(df[col], errors='coerce') for numbers"
            )
    return f"cannot be converted to Arrow: {exc}"


def uses_parts(table: pa.Table) -> bool:
    """True when options are named by asset/expiry/strike/kind instead of ``instrument``."""
    return "instrument" not in table.column_names and all(c in table.column_names for c in PARTS)


def checked_timestamps(col: pa.ChunkedArray, *, table: str, column: str) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_null(t):  # every value missing: null timestamps, each counted by the engine
        return pa.chunked_array([pa.nulls(len(col), TIMESTAMP)])
    if pa.types.is_timestamp(t):
        # Arrow stores UTC instants whatever the zone; naive times are taken as UTC.
        try:
            return pc.cast(col, pa.timestamp("ns", tz="UTC"))
        except pa.ArrowInvalid as exc:
            raise SchemaError(f"{table}.{column}: timestamps out of the ns range: {exc}") from exc
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        try:
            parsed = pd.to_datetime(pd.Series(col.to_pylist(), dtype=object), utc=True, format="ISO8601")
        except (ValueError, TypeError, OverflowError) as exc:
            raise SchemaError(f"{table}.{column}: strings are not ISO 8601 timestamps: {exc}") from exc
        try:
            return pa.chunked_array([pa.array(parsed, type=TIMESTAMP)])
        except (pa.ArrowInvalid, OverflowError) as exc:
            raise SchemaError(
                f"{table}.{column}: timestamps out of the ns range (1677-09-21 to 2262-04-11): {exc}"
            ) from exc
    raise SchemaError(
        f"{table}.{column}: expected a timestamp column, found {t}. Integers are ambiguous "
        f"(s, ms, us or ns?): convert with pandas.to_datetime(x, unit='ms', utc=True)"
    )


def _floats(col: pa.ChunkedArray, *, table: str, column: str) -> pa.ChunkedArray:
    if pa.types.is_floating(col.type) and col.type == pa.float64():
        return col
    if (
        pa.types.is_integer(col.type)
        or pa.types.is_floating(col.type)
        or pa.types.is_decimal(col.type)
        or pa.types.is_null(col.type)
    ):
        return pc.cast(col, pa.float64())
    raise SchemaError(f"{table}.{column}: expected numbers, found {col.type}")


def _strings(col: pa.ChunkedArray, *, table: str, column: str) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_dictionary(t):
        v = t.value_type
        if pa.types.is_null(v):  # e.g. an empty pandas Categorical: only nulls
            return pa.chunked_array([pa.nulls(len(col), pa.string())])
        if not (pa.types.is_string(v) or pa.types.is_large_string(v) or pa.types.is_string_view(v)):
            raise SchemaError(f"{table}.{column}: expected strings, found {t}")
        # Polars categoricals arrive as dictionary<string_view, uint32>: normalise.
        want = pa.dictionary(pa.int32(), pa.string())
        return col if t == want else col.cast(want)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_null(t):
        return pc.cast(col, pa.string()) if not pa.types.is_string(t) else col
    raise SchemaError(f"{table}.{column}: expected strings, found {t}")


def _canonical(obj: Any, kind: str) -> pa.Table:
    table = as_table(obj, name=kind)
    names = table.column_names
    _check_unique(names, name=kind)
    missing = [c for c in _REQUIRED[kind] if c not in names]
    if kind in ("trades", "chain", "initial") and "instrument" not in names and not uses_parts(table):
        missing.append("instrument (or asset, expiry, strike, kind)")
    if missing:
        raise SchemaError(f"{kind}: missing column(s) {missing}; found {names}")
    cols: dict[str, pa.ChunkedArray] = {}
    for name in names:
        col = table.column(name)
        if name in ("timestamp", "expiry"):
            col = checked_timestamps(col, table=kind, column=name)
        elif name in _FLOAT_COLUMNS[kind] or (name == "strike" and uses_parts(table)):
            col = _floats(col, table=kind, column=name)
        elif name in ("instrument", "asset", "kind") or (name == "side" and not pa.types.is_integer(col.type)):
            col = _strings(col, table=kind, column=name)
        elif name in ("block_trade", "liquidation") and not pa.types.is_boolean(col.type):
            raise SchemaError(f"{kind}.{name}: expected booleans, found {col.type}")
        cols[name] = col
    return pa.table(cols)


def canonical_trades(obj: Any) -> pa.Table:
    """Trades in the canonical schema (extra columns are kept, e.g. provenance)."""
    return _canonical(obj, "trades")


def canonical_chain(obj: Any) -> pa.Table:
    return _canonical(obj, "chain")


def canonical_spot(obj: Any) -> pa.Table:
    return _canonical(obj, "spot")


def canonical_initial(obj: Any) -> pa.Table:
    """An initial inventory: ``instrument`` (or the four columns) and ``inventory``."""
    if (
        isinstance(obj, dict)
        and obj
        and all(isinstance(k, str) and not isinstance(v, (list, tuple, np.ndarray)) for k, v in obj.items())
    ):
        # {"BTC-27DEC24-100000-C": -3.0, ...}
        obj = pa.table({"instrument": list(obj.keys()), "inventory": [float(v) for v in obj.values()]})
    return _canonical(obj, "initial")
