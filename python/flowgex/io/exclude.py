"""Leaving classes of trades out on request, and counting them.

Some users want dealer flow without block trades (negotiated off the book),
combo legs (priced as a package) or liquidations (forced, not chosen). Readers
keep every trade by default and mark these with boolean columns
(``block_trade``, ``combo_leg``, ``liquidation``); when asked to leave a class
out they remove it and record how many rows went, by class, in the table's
schema metadata, so the count reaches ``diagnostics.excluded`` (``replay`` does
this itself; with an Engine call ``eng.add_excluded(fg.excluded_counts(t))``).
A trade in several classes is counted once, under the first class
being left out in the order block_trade, combo_leg, liquidation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["CLASSES", "exclude", "excluded_counts", "with_excluded_counts"]

#: Trade classes a reader can leave out: column name -> reader keyword.
CLASSES = {"block_trade": "block_trades", "combo_leg": "combo_legs", "liquidation": "liquidations"}
_META = b"flowgex.excluded"


def _flags(table: pa.Table, column: str) -> np.ndarray:
    if column not in table.column_names:
        return np.zeros(table.num_rows, dtype=bool)
    col = table.column(column)
    if not pa.types.is_boolean(col.type):
        col = pc.is_valid(col)  # an id column: present means "in the class"
    return np.asarray(col.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def exclude(
    table: pa.Table, *, block_trades: bool = True, combo_legs: bool = True, liquidations: bool = True
) -> tuple[pa.Table, dict[str, int]]:
    """The table without the classes whose keyword is False, and the count removed per class."""
    keep = {"block_trade": block_trades, "combo_leg": combo_legs, "liquidation": liquidations}
    if all(keep.values()) or table.num_rows == 0:
        return table, {}
    drop = np.zeros(table.num_rows, dtype=bool)
    counts: dict[str, int] = {}
    for column, wanted in keep.items():
        flags = _flags(table, column) & ~drop
        if not wanted and flags.any():
            counts[column] = int(flags.sum())
            drop |= flags
    if not drop.any():
        return table, {}
    return table.filter(pa.array(~drop)), counts


def excluded_counts(table: pa.Table) -> dict[str, int]:
    """The rows a reader left out on request, by class (empty when none)."""
    meta = table.schema.metadata or {}
    return {k: int(v) for k, v in json.loads(meta.get(_META, b"{}")).items()}


def with_excluded_counts(table: pa.Table, counts: Mapping[str, int]) -> pa.Table:
    """The table carrying ``counts`` (added to any it already carries) in its metadata."""
    total = excluded_counts(table)
    for k, v in counts.items():
        total[k] = total.get(k, 0) + int(v)
    if not total:
        return table
    meta = dict(table.schema.metadata or {})
    meta[_META] = json.dumps(total, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)
