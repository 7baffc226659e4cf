"""Parquet files and hive-partitioned datasets, and any Arrow stream object.

Parquet is where long histories live (``flowgex fetch`` writes
``kind=option/currency=BTC/date=…``; users keep ``asset=BTC/date=…``). The
data is expected in the canonical schema already (contracts, decimal IVs);
filters go to ``pyarrow.dataset`` so partitions and row groups that cannot
match are never read. Objects with ``__arrow_c_stream__`` (polars, duckdb,
pyarrow readers) are taken as they are.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..errors import OptionError, ReadError, SchemaError
from ..schema import as_table, canonical_chain, canonical_spot, canonical_trades
from .exclude import exclude, with_excluded_counts
from .files import dataset_files, expand_paths, is_glob

__all__ = ["read_parquet", "read_arrow", "parquet_dataset", "to_expression", "CANONICAL"]

CANONICAL = {"trades": canonical_trades, "chain": canonical_chain, "spot": canonical_spot}


def to_expression(filters: Any) -> ds.Expression | None:
    """A ``pyarrow.compute`` expression, or DNF tuples ``[("asset", "=", "BTC"), ...]``."""
    if filters is None or isinstance(filters, ds.Expression):
        return filters
    try:
        return pq.filters_to_expression(filters)
    except (TypeError, ValueError) as exc:
        raise OptionError(
            f"invalid option filters: expected a pyarrow expression or [(column, op, value), ...], found {filters!r}"
        ) from exc


#: String columns read as dictionaries (they repeat a few values many times).
_DICTIONARY_COLUMNS = ["instrument", "side", "asset", "kind"]


def parquet_dataset(source: Any, *, what: str) -> ds.Dataset:
    """A file, a directory (hive partitions such as ``asset=BTC/date=2024-12-01``), a list or a glob."""
    base: str | None = None
    if isinstance(source, (str, os.PathLike)) and not is_glob(os.fspath(source)) and Path(source).is_dir():
        # Listed here, not by Arrow: Arrow follows a symlink to a parent folder until the
        # path is too long, reading each file dozens of times (see dataset_files).
        files = dataset_files(Path(source))
        target: Any = [os.fspath(p) for p in files] if files else os.fspath(source)
        base = os.fspath(source) if files else None
    else:
        target = [os.fspath(p) for p in expand_paths(source, what=what)]
    # Names and sides stay dictionary-encoded as stored: the fastest read, and the
    # engine takes dictionaries directly (each unique name crosses into Rust once).
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=_DICTIONARY_COLUMNS))
    try:
        # Partition keys as dictionaries: one value per file, not a string per row.
        hive = ds.HivePartitioning.discover(infer_dictionary=True)
        return ds.dataset(target, format=fmt, partitioning=hive, partition_base_dir=base)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReadError(f"{what}: cannot open {source} as Parquet ({exc})") from exc


def _kind(kind: str) -> Any:
    if kind not in CANONICAL:
        raise OptionError(f"invalid option kind: expected one of {tuple(CANONICAL)}, found {kind!r}")
    return CANONICAL[kind]


def _finish(table: pa.Table, kind: str, flags: dict[str, bool]) -> pa.Table:
    table = _kind(kind)(table)
    if kind != "trades":
        return table
    table, counts = exclude(table, **flags)
    return with_excluded_counts(table, counts)


def read_parquet(
    source: Any,
    *,
    kind: str = "trades",
    filters: Any = None,
    columns: Sequence[str] | None = None,
    block_trades: bool = True,
    combo_legs: bool = True,
    liquidations: bool = True,
) -> pa.Table:
    """A Parquet file or dataset in a canonical schema (``kind``: "trades", "chain" or "spot").

    ``filters`` (a pyarrow expression or DNF tuples, e.g. ``[("asset", "=", "BTC"),
    ("date", ">=", "2024-12-01")]``) are pushed down: pruned partitions are never opened.
    Partition keys become columns. ``block_trades``/``combo_legs``/``liquidations`` = False
    leave those trades out (by their boolean columns, when present) and count them.
    """
    _kind(kind)
    dataset = parquet_dataset(source, what="read_parquet")
    try:
        table = dataset.to_table(filter=to_expression(filters), columns=list(columns) if columns else None)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReadError(f"read_parquet: cannot read {source} ({exc})") from exc
    flags = {"block_trades": block_trades, "combo_legs": combo_legs, "liquidations": liquidations}
    return _finish(table, kind, flags)


def read_arrow(
    obj: Any,
    *,
    kind: str = "trades",
    block_trades: bool = True,
    combo_legs: bool = True,
    liquidations: bool = True,
) -> pa.Table:
    """Any table object (``__arrow_c_stream__``: polars, duckdb, pyarrow; or pandas) in a canonical
    schema, with the same exclusion options as the file readers."""
    if isinstance(obj, (str, os.PathLike)):
        raise SchemaError("read_arrow: expected a table object; for files use read_parquet or a venue reader")
    flags = {"block_trades": block_trades, "combo_legs": combo_legs, "liquidations": liquidations}
    return _finish(as_table(obj, name=kind), kind, flags)
