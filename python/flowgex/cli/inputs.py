"""The command line's input layer: files in, canonical tables out.

Formats are plug-ins: ``TRADE_READERS`` and ``CHAIN_READERS`` map a format
name to a function (list of paths -> ``pyarrow.Table`` in the canonical
schema). Built in: ``parquet`` (files or hive-partitioned datasets) and
``csv`` (canonical columns). ``tardis`` and ``deribit`` use the library's
readers (``flowgex.read_tardis_trades`` ...) when the installed flowgex has
them. ``auto`` picks by looking at the files; a folder written by
``flowgex simulate`` (``trades/``, ``chain/``, ``spot/``) is read whole.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads

from ..errors import FlowgexError
from ._app import UserError

__all__ = ["Inputs", "load_inputs", "TRADE_READERS", "CHAIN_READERS", "FORMATS", "detect_format"]

Reader = Callable[[Sequence[Path]], pa.Table]


@dataclass(frozen=True)
class Inputs:
    trades: pa.Table
    chain: pa.Table | None
    spot: pa.Table | None
    description: str


def _parquet(paths: Sequence[Path]) -> pa.Table:
    tables = []
    for p in paths:
        ds = pads.dataset(p, format="parquet", partitioning="hive" if p.is_dir() else None)
        t = ds.to_table()
        if "date" in t.column_names:
            t = t.drop_columns(["date"])
        tables.append(t)
    return pa.concat_tables(tables, promote_options="permissive")


def _csv(paths: Sequence[Path]) -> pa.Table:
    return pa.concat_tables([pacsv.read_csv(p) for p in paths], promote_options="permissive")


def _library(name: str) -> Reader:
    def read(paths: Sequence[Path]) -> pa.Table:
        import flowgex

        fn = getattr(flowgex, name, None)
        if fn is None:
            raise UserError(f"this flowgex has no {name}(); convert the files to canonical Parquet or CSV")
        tables = [pa.table(fn(str(p))) for p in paths]
        return pa.concat_tables(tables, promote_options="permissive")

    return read


TRADE_READERS: dict[str, Reader] = {
    "parquet": _parquet,
    "csv": _csv,
    "tardis": _library("read_tardis_trades"),
    "deribit": _library("read_deribit_trades"),
}
CHAIN_READERS: dict[str, Reader] = {
    "parquet": _parquet,
    "csv": _csv,
    "tardis": _library("read_tardis_chain"),
}
FORMATS = ("auto", "parquet", "csv", "tardis", "deribit")


def detect_format(path: Path) -> str:
    """Guesses a file's format from its name and, for CSV, its header."""
    name = path.name.lower()
    if path.is_dir() or name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".json") or name.endswith(".jsonl") or name.endswith(".json.gz"):
        return "deribit"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt") as f:
            header = f.readline()
        return "tardis" if header.startswith("exchange,symbol,timestamp") else "csv"
    raise UserError(f"cannot tell the format of {path}: use --format {'/'.join(FORMATS[1:])}")


#: What reading a user's file can raise when the file, not flowgex, is at fault: exit code 2.
_FILE_ERRORS: tuple[type[BaseException], ...] = (
    pa.ArrowException, OSError, EOFError, zlib.error, UnicodeError, csv.Error, RecursionError, ValueError,
    OverflowError,
)  # fmt: skip


def _read(paths: Sequence[Path], fmt: str, readers: dict[str, Reader], what: str) -> pa.Table:
    """The files read by their format's reader; a file that cannot be read is the user's error
    (exit 2, one line naming the files), whatever the reader underneath raised."""
    for p in paths:
        if not p.exists():
            raise UserError(f"no such file or folder: {p}")
    try:
        return _read_checked(paths, fmt, readers, what)
    except (UserError, FlowgexError):
        raise
    except _FILE_ERRORS as exc:
        names = ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise UserError(f"cannot read the {what} file(s) {names}: {type(exc).__name__}: {exc}") from exc


def _read_checked(paths: Sequence[Path], fmt: str, readers: dict[str, Reader], what: str) -> pa.Table:
    kinds = {detect_format(p) for p in paths} if fmt == "auto" else {fmt}
    if len(kinds) != 1:
        raise UserError(f"the {what} files mix formats {sorted(kinds)}: pass one format with --format")
    kind = kinds.pop()
    if kind not in readers:
        raise UserError(f"no {what} reader for format {kind!r} (have: {sorted(readers)})")
    return readers[kind](paths)


def load_inputs(
    paths: Sequence[str | Path],
    *,
    chain: Sequence[str | Path] = (),
    spot: Sequence[str | Path] = (),
    fmt: str = "auto",
) -> Inputs:
    """Reads trades (and optional chain and spot) into canonical tables."""
    trade_paths = [Path(p) for p in paths]
    if not trade_paths:
        raise UserError("no input given: pass trade files, or a folder written by `flowgex simulate`")
    chain_paths, spot_paths = [Path(p) for p in chain], [Path(p) for p in spot]
    if len(trade_paths) == 1 and (trade_paths[0] / "trades").is_dir():
        root = trade_paths[0]
        trade_paths = [root / "trades"]
        chain_paths = chain_paths or ([root / "chain"] if (root / "chain").is_dir() else [])
        spot_paths = spot_paths or ([root / "spot"] if (root / "spot").is_dir() else [])
        fmt = "parquet" if fmt == "auto" else fmt
    trades = _read(trade_paths, fmt, TRADE_READERS, "trades")
    chain_t = _read(chain_paths, fmt, CHAIN_READERS, "chain") if chain_paths else None
    spot_t = _read(spot_paths, "auto" if fmt == "tardis" else fmt, TRADE_READERS, "spot") if spot_paths else None
    desc = f"{trades.num_rows:,} trades from {', '.join(str(p) for p in trade_paths)}"
    if chain_t is not None:
        desc += f"; {chain_t.num_rows:,} chain rows"
    if spot_t is not None:
        desc += f"; {spot_t.num_rows:,} spot rows"
    return Inputs(trades=trades, chain=chain_t, spot=spot_t, description=desc)
