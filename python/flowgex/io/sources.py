"""Replay inputs as *streams*: re-openable sequences of canonical tables, one per
file (or Parquet fragment), each in its file's row order.

``replay`` merges streams by time and records how many rows of each it has
consumed; after a crash it re-opens the same streams and skips those rows, so
a stream must yield the same rows in the same order every time it is opened.
Files and Parquet fragments do; a one-shot Arrow stream object (polars, duckdb,
a RecordBatchReader) cannot be re-opened, so it replays without checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import OptionError, ReadError, SchemaError
from ..schema import as_table, checked_timestamps
from ._convert import DICT, provenance
from ._json import load_json_file
from .deribit import deribit_trades_file, positioned
from .files import expand_paths, first_line, is_glob, read_bytes
from .parquet import CANONICAL, parquet_dataset, to_expression
from .tardis import iter_tardis_file
from .tickers import from_records, is_ticker, tickers_csv_file

__all__ = ["Stream", "resolve_streams", "normalize"]

_STRINGS = ("instrument", "side", "source_file", "asset", "kind")


def normalize(table: pa.Table) -> pa.Table:
    """String columns as dictionary<int32, string>, so tables from different files concatenate."""
    for name in _STRINGS:
        if name in table.column_names:
            col = table.column(name)
            if col.type != DICT and (pa.types.is_string(col.type) or pa.types.is_dictionary(col.type)):
                col = col.cast(DICT) if pa.types.is_dictionary(col.type) else col.dictionary_encode()
                table = table.set_column(table.column_names.index(name), name, col)
    return table


@dataclass
class Stream:
    """One file or fragment. ``open()`` yields its canonical tables from the first row."""

    name: str
    kind: str
    fmt: str
    size: int = 0
    rows: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    reopenable: bool = True
    _obj: Any = None

    def peek(self) -> pa.Table | None:
        """The first row only (a timestamp column at least), or None if the stream is empty.

        For a Parquet file without filters only the first value of ``timestamp`` is
        decoded, so ranking thousands of daily files costs a footer read each."""
        if self.fmt == "parquet" and self._obj[2] is None:
            try:
                batches = pq.ParquetFile(self.name).iter_batches(batch_size=1, columns=["timestamp"])
                first = next(batches, None)
            except (pa.ArrowInvalid, OSError, KeyError) as exc:
                raise ReadError(f"{self.name}: cannot read Parquet ({exc})") from exc
            if first is None or first.num_rows == 0:
                return None
            col = checked_timestamps(pa.chunked_array([first.column(0)]), table=self.kind, column="timestamp")
            return pa.table({"timestamp": col})
        it = self.open()
        try:
            for table in it:
                if table.num_rows:
                    return table.slice(0, 1)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
        return None

    def open(self) -> Iterator[pa.Table]:
        if self.fmt == "arrow":
            yield from _arrow_batches(self._obj, self.kind)
            return
        path = Path(self.name)
        mult = self.options.get("multipliers")
        if self.fmt == "tardis":
            yield from iter_tardis_file(path, kind=self.kind, multipliers=mult)
        elif self.fmt == "deribit":
            yield from _slices(deribit_trades_file(path, mult))
        elif self.fmt == "tickers_json":
            values = load_json_file(path, read_bytes(path))
            yield from _slices(from_records(positioned(values, str(path), "tickers", is_ticker), path, mult))
        elif self.fmt == "tickers_csv":
            yield from _slices(tickers_csv_file(path, mult))
        elif self.fmt == "parquet":
            yield from _parquet_batches(self)
        else:  # pragma: no cover - formats are fixed by resolve_streams
            raise AssertionError(self.fmt)


_BATCH = 262_144


def _slices(table: pa.Table) -> Iterator[pa.Table]:
    for start in range(0, table.num_rows, _BATCH):
        yield table.slice(start, _BATCH)


def _arrow_batches(obj: Any, kind: str) -> Iterator[pa.Table]:
    if isinstance(obj, pa.RecordBatchReader) or (hasattr(obj, "__arrow_c_stream__") and not isinstance(obj, pa.Table)):
        reader = obj if isinstance(obj, pa.RecordBatchReader) else pa.RecordBatchReader.from_stream(obj)
        for batch in reader:
            yield CANONICAL[kind](pa.Table.from_batches([batch]))
        return
    yield from _slices(CANONICAL[kind](as_table(obj, name=kind)))


def _parquet_batches(s: Stream) -> Iterator[pa.Table]:
    fragment, schema, expr = s._obj
    row = 1
    try:
        for batch in fragment.to_batches(schema=schema, filter=expr, batch_size=_BATCH):
            table = pa.Table.from_batches([batch])
            if "source_file" not in table.column_names:
                prov = provenance(table.num_rows, Path(s.name), row)
                table = table.append_column("source_file", prov["source_file"])
                if expr is None:
                    table = table.append_column("source_row", prov["source_row"])
            row += table.num_rows
            yield CANONICAL[s.kind](table)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReadError(f"{s.name}: cannot read Parquet ({exc})") from exc


def _file_format(path: Path, kind: str) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".json", ".jsonl", ".ndjson")):
        if kind == "spot":
            raise ReadError(f"{path}: spot must come from Parquet or a table object, not Deribit JSON")
        return "deribit" if kind == "trades" else "tickers_json"
    if name.endswith(".csv"):
        if kind == "trades":
            return "tardis"
        if kind == "chain":
            head = first_line(path)
            return "tickers_csv" if "instrument_name" in head and "symbol" not in head else "tardis"
    raise ReadError(f"{path}: unknown file type for {kind} (expected .csv[.gz], .json[l][.gz] or .parquet)")


def resolve_streams(source: Any, *, kind: str, options: Mapping[str, Any], filters: Any = None) -> list[Stream]:
    """Every stream of a replay input: a path, a glob, a list of paths, a Parquet
    dataset directory, or a table / Arrow stream object. One input has one format."""
    if source is None:
        return []
    if not isinstance(source, (str, os.PathLike, list, tuple)):
        return [Stream(name=f"<{type(source).__name__}>", kind=kind, fmt="arrow", reopenable=False, _obj=source)]
    is_dir = isinstance(source, (str, os.PathLike)) and not is_glob(os.fspath(source)) and Path(source).is_dir()
    paths = [] if is_dir else expand_paths(source, what=f"replay {kind}")
    fmts = {p: _file_format(p, kind) for p in paths}
    if len(set(fmts.values())) > 1:
        raise ReadError(
            f"replay {kind}: the files mix formats or venues ({sorted(set(fmts.values()))}); "
            f"replay one kind of source at a time"
        )
    if is_dir or set(fmts.values()) == {"parquet"}:
        return _parquet_streams(source, kind, filters)
    if filters is not None:
        raise SchemaError("replay: filters apply to Parquet sources only")
    return [Stream(name=str(p), kind=kind, fmt=fmts[p], size=p.stat().st_size, options=options) for p in paths]


def _parquet_streams(source: Any, kind: str, filters: Any) -> list[Stream]:
    dataset = parquet_dataset(source, what=f"replay {kind}")
    expr = to_expression(filters)
    out = []
    try:
        fragments = list(dataset.get_fragments(filter=expr))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise OptionError(f"invalid option filters for the {kind} input {source}: {exc}") from exc
    for frag in fragments:
        path = Path(frag.path)
        rows = None if expr is not None else frag.metadata.num_rows
        out.append(
            Stream(
                name=str(path),
                kind=kind,
                fmt="parquet",
                size=path.stat().st_size,
                rows=rows,
                _obj=(frag, dataset.schema, expr),
            )  # fmt: skip
        )
    if not out:
        raise ReadError(f"replay {kind}: no Parquet file in {source} matches the filters")
    return out
