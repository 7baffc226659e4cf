"""A task's inputs: each engine's rows, in input order, ready for the core.

A partition arrives as three pandas frames (trades, chain, spot) carrying the
helper columns ``__key`` (the engine) and ``__row`` (the input partition and
position). Each key's rows are fed in ``__row`` order, the order one machine
would see them in, so every per-option sum and every as-of tie is the same.

The *clock tick* is how every engine reports the same grid: a spot row of a
private asset (which never has options, so never appears in any table) at the
period's last grid time makes the engine close its buckets and evaluate every
step up to that time, whatever its own last trade was.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._encode import NULL_TS, encode_chain, encode_spot, encode_trades, timestamps
from ..schema import canonical_chain, canonical_spot, canonical_trades

__all__ = [
    "CLOCK_ASSET",
    "ROW_BITS",
    "TABLES",
    "early_end",
    "bucket_labels",
    "split_by_key",
    "key_inputs",
    "encode_all",
    "without_tick",
]

#: The private asset of clock-tick spot rows; it never has options, so never a row in any table.
CLOCK_ASSET = "FLOWGEX-CLOCK"
#: ``__row`` = input partition << ROW_BITS | row within it: input order, without a pass to count rows first.
ROW_BITS = 40
TABLES = ("trades", "chain", "spot")
_CANONICAL = {"trades": canonical_trades, "chain": canonical_chain, "spot": canonical_spot}


def early_end(resolution_ns: int) -> int:
    """A grid time before any representable trade: an engine with this ``end`` evaluates nothing."""
    return -(2**63 // resolution_ns) * resolution_ns


def bucket_labels(ts: np.ndarray, resolution_ns: int) -> np.ndarray:
    """DESIGN rule 1: the label (right edge) of the bucket holding each time."""
    return (np.asarray(ts, dtype=np.int64) // resolution_ns + 1) * resolution_ns


def split_by_key(pdf: pd.DataFrame | None, kind: str) -> dict[str, tuple[pa.Table, np.ndarray]]:
    """Each key's rows as a canonical table in input order, with their ``__row`` ids."""
    if pdf is None or len(pdf) == 0:
        return {}
    codes, keys = pd.factorize(pdf["__key"].to_numpy(dtype=object))
    rows = pdf["__row"].to_numpy(dtype=np.int64)
    order = np.lexsort((rows, codes))
    # One conversion for the whole partition (types are inferred as for the whole input), then slices.
    table = _CANONICAL[kind](pdf.drop(columns=["__key", "__row"])).take(pa.array(order))
    codes, rows = codes[order], rows[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(codes)]
    return {str(keys[codes[a]]): (table.slice(a, b - a), rows[a:b]) for a, b in zip(starts, ends)}


def _keep(
    table: pa.Table, rows: np.ndarray, drop: np.ndarray | None, before: int | None
) -> tuple[pa.Table | None, np.ndarray]:
    """The rows not in ``drop`` and before ``before``; None when none remain (the encoder
    cannot take a dictionary column without chunks, which is what filtering everything out gives)."""
    mask = np.ones(len(rows), dtype=bool)
    if drop is not None and len(drop):
        mask &= ~np.isin(rows, drop)
    if before is not None:
        ts = _ts(table)
        mask &= (ts < before) | (ts == NULL_TS)
    if mask.all():
        return table, rows
    if not mask.any():
        return None, rows[:0]
    return table.filter(pa.array(mask)), rows[mask]


def _ts(table: pa.Table) -> np.ndarray:
    return timestamps(table.column("timestamp"))


def _with_tick(spot: dict[str, Any] | None, tick: int | None) -> dict[str, Any] | None:
    """Appends the clock tick (a spot row of :data:`CLOCK_ASSET` at ``tick``) to an encoded spot table."""
    if tick is None:
        return spot
    if spot is None:
        spot = {"ts": np.zeros(0, np.int64), "asset": np.zeros(0, np.int32), "assets": [], "price": np.zeros(0)}
    return {
        "ts": np.append(spot["ts"], np.int64(tick)),
        "asset": np.append(spot["asset"], np.int32(len(spot["assets"]))).astype(np.int32),
        "assets": [*spot["assets"], CLOCK_ASSET],
        "price": np.append(spot["price"], 1.0),
    }


def encode_all(tables: dict[str, pa.Table | None], tick: int | None) -> dict[str, Any]:
    """The core's arrays for each table; ``spot_with_tick`` is what the engine is fed."""
    enc: dict[str, Any] = {
        "trades": None if tables["trades"] is None else encode_trades(tables["trades"]),
        "chain": None if tables["chain"] is None else encode_chain(tables["chain"]),
        "spot": None if tables["spot"] is None else encode_spot(tables["spot"]),
    }
    enc["spot_with_tick"] = _with_tick(enc["spot"], tick)
    return enc


def without_tick(report: dict[str, Any], n_spot: int) -> dict[str, Any]:
    """An update report without the clock tick (spot row ``n_spot``), which is rejected as late
    when the engine has already moved past it."""
    which, row = np.asarray(report["table"]), np.asarray(report["row"])
    mine = ~((which == 2) & (row == n_spot))
    return {**report, "table": which[mine], "row": row[mine], "reason": np.asarray(report["reason"])[mine]}


def key_inputs(
    parts: dict[str, dict[str, tuple[pa.Table, np.ndarray]]], key: str, drop: dict[str, np.ndarray], before: int | None
) -> tuple[dict[str, pa.Table | None], dict[str, np.ndarray], dict[str, pa.Table]]:
    """One key's tables without the ``drop`` rows and rows at or after ``before``; also the dropped rows."""
    tables: dict[str, pa.Table | None] = {}
    rows: dict[str, np.ndarray] = {}
    dropped: dict[str, pa.Table] = {}
    for name in TABLES:
        got = parts[name].get(key)
        if got is None:
            tables[name], rows[name] = None, np.zeros(0, np.int64)
            continue
        tables[name], rows[name] = _keep(got[0], got[1], drop.get(name), before)
        gone = np.isin(got[1], drop[name]) if drop.get(name) is not None else None
        if gone is not None and gone.any():
            dropped[name] = got[0].filter(pa.array(gone)).append_column("row", pa.array(got[1][gone], pa.int64()))
    return tables, rows, dropped
