"""The command line's inputs: which library reader reads each file.

The formats are the library's (:func:`flowgex.replay` and the ``fg.read_*``
readers decide them the same way): Parquet files and hive-partitioned
datasets (``.parquet``/``.pq`` or a folder), Tardis CSV (``.csv[.gz]``
starting with ``exchange,symbol,timestamp``; trades or option chains), Deribit
JSON (``.json``/``.jsonl[.gz]``: trades, or tickers for a chain, also as CSV
dumps). The command
line adds one: a CSV in the canonical columns. A folder written by
``flowgex simulate`` (``trades/``, ``chain/``, ``spot/``) is read whole.

Parquet trades are never read here: they stay paths, so ``flowgex run`` hands
them to :func:`flowgex.flow_gex` (path mode: encoded batch by batch) or to
:func:`flowgex.replay` (``--stream``: merged, replayed and written chunk by
chunk, with a checkpoint). Other inputs are read into canonical tables.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads

import flowgex

from ..errors import FlowgexError
from ._app import UserError

__all__ = ["Inputs", "load_inputs", "read_table", "TRADE_READERS", "CHAIN_READERS", "FORMATS", "detect_format"]

Reader = Callable[[Sequence[Path]], pa.Table]
FORMATS = ("auto", "parquet", "csv", "tardis", "deribit")
#: Trade columns the censoring flags and the open-interest anchor read from a Parquet dataset.
_LIGHT = ("timestamp", "instrument", "asset", "expiry", "strike", "kind", "side", "amount")


@dataclass(frozen=True)
class Inputs:
    """Trades, chain and spot: each a canonical table, a Parquet source (list of paths) or None."""

    trades: Any
    chain: Any
    spot: Any
    description: str
    #: Number of trades (of a Parquet dataset: from its footers, nothing decoded).
    trade_rows: int = 0
    #: The trade files, when :func:`flowgex.replay` can stream them itself (Parquet, Tardis CSV, Deribit JSON).
    trade_files: tuple[str, ...] = ()

    @property
    def parquet_trades(self) -> bool:
        return isinstance(self.trades, list)

    @cached_property
    def light_trades(self) -> pa.Table:
        """The trades as a table; from Parquet only the columns censoring and anchoring read."""
        if not self.parquet_trades:
            return self.trades
        cols = [c for c in _LIGHT if c in _dataset(self.trades).schema.names]
        return flowgex.read_parquet(_one(self.trades), columns=cols)

    @cached_property
    def chain_table(self) -> pa.Table | None:
        return _table(self.chain, "chain")

    @cached_property
    def spot_table(self) -> pa.Table | None:
        return _table(self.spot, "spot")


def _table(obj: Any, kind: str) -> pa.Table | None:
    return flowgex.read_parquet(_one(obj), kind=kind) if isinstance(obj, list) else obj


def _one(paths: list[str]) -> Any:
    return paths[0] if len(paths) == 1 else paths


def _dataset(paths: list[str]) -> pads.Dataset:
    parts = [pads.dataset(p, format="parquet", partitioning="hive") for p in paths]
    return parts[0] if len(parts) == 1 else pads.dataset(parts)


def _csv(paths: Sequence[Path]) -> pa.Table:
    return pa.concat_tables([pacsv.read_csv(p) for p in paths], promote_options="permissive")


def _library(name: str) -> Reader:
    def read(paths: Sequence[Path]) -> pa.Table:
        fn = getattr(flowgex, name, None)
        if fn is None:
            raise UserError(f"this flowgex has no {name}(); convert the files to canonical Parquet or CSV")
        return fn([str(p) for p in paths])

    return read


TRADE_READERS: dict[str, Reader] = {
    "csv": _csv,
    "tardis": _library("read_tardis_trades"),
    "deribit": _library("read_deribit_trades"),
}
CHAIN_READERS: dict[str, Reader] = {
    "csv": _csv,
    "tardis": _library("read_tardis_chain"),
    "deribit": _library("read_deribit_tickers"),
}
SPOT_READERS: dict[str, Reader] = {"csv": _csv}


def detect_format(path: Path, what: str = "trades") -> str:
    """A file's format from its name and, for CSV, its header (as :func:`flowgex.replay` decides;
    a chain CSV of Deribit ticker dumps is read by :func:`flowgex.read_deribit_tickers`)."""
    name = path.name.lower().removesuffix(".gz")
    if path.is_dir() or name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return "deribit"
    if name.endswith(".csv"):
        with (gzip.open if path.name.lower().endswith(".gz") else open)(path, "rt") as f:
            header = f.readline()
        if header.startswith("exchange,symbol,timestamp"):
            return "tardis"
        return "deribit" if what == "chain" and "instrument_name" in header and "symbol" not in header else "csv"
    raise UserError(f"cannot tell the format of {path}: use --format {'/'.join(FORMATS[1:])}")


#: What reading a user's file can raise when the file, not flowgex, is at fault: exit code 2.
_FILE_ERRORS: tuple[type[BaseException], ...] = (
    pa.ArrowException, OSError, EOFError, zlib.error, UnicodeError, csv.Error, RecursionError, ValueError,
    OverflowError,
)  # fmt: skip


def _format(paths: Sequence[Path], fmt: str, what: str) -> str:
    for p in paths:
        if not p.exists():
            raise UserError(f"no such file or folder: {p}")
    kinds = {detect_format(p, what) for p in paths} if fmt == "auto" else {fmt}
    if len(kinds) != 1:
        raise UserError(f"the {what} files mix formats {sorted(kinds)}: pass one format with --format")
    return kinds.pop()


def read_table(paths: Sequence[Path], fmt: str, what: str) -> Any:
    """The files as a canonical table, or (Parquet) their paths once their footers are read; a file that
    cannot be read is the user's error (exit 2, one line naming the files), whatever the reader raised."""
    kind = _format(paths, fmt, what)
    readers = {"trades": TRADE_READERS, "chain": CHAIN_READERS, "spot": SPOT_READERS}[what]
    if kind != "parquet" and kind not in readers:
        raise UserError(f"no {what} reader for format {kind!r} (have: {sorted(['parquet', *readers])})")
    try:
        if kind == "parquet":
            _dataset([str(p) for p in paths]).count_rows()  # opens every footer
            return [str(p) for p in paths]
        return readers[kind](paths)
    except (UserError, FlowgexError):
        raise
    except _FILE_ERRORS as exc:
        names = ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise UserError(f"cannot read the {what} file(s) {names}: {type(exc).__name__}: {exc}") from exc


def _rows(obj: Any) -> int:
    return _dataset(obj).count_rows() if isinstance(obj, list) else obj.num_rows  # Parquet: from the footers


def load_inputs(
    paths: Sequence[str | Path],
    *,
    chain: Sequence[str | Path] = (),
    spot: Sequence[str | Path] = (),
    fmt: str = "auto",
) -> Inputs:
    """Resolves trades (and optional chain and spot) to canonical tables or Parquet sources."""
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
    trade_fmt = _format(trade_paths, fmt, "trades")
    trades = read_table(trade_paths, trade_fmt, "trades")
    chain_t = read_table(chain_paths, fmt, "chain") if chain_paths else None
    spot_t = read_table(spot_paths, "auto" if fmt in ("tardis", "deribit") else fmt, "spot") if spot_paths else None
    n = _rows(trades)
    desc = f"{n:,} trades from {', '.join(str(p) for p in trade_paths)}"
    for obj, what in ((chain_t, "chain rows"), (spot_t, "spot rows")):
        if obj is not None:
            desc += f"; {_rows(obj):,} {what}"
    files = tuple(str(p) for p in trade_paths) if trade_fmt in ("parquet", "tardis", "deribit") else ()
    return Inputs(trades=trades, chain=chain_t, spot=spot_t, description=desc, trade_rows=n, trade_files=files)
