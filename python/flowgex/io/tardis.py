"""Tardis.dev downloadable CSV (plain or gzip): ``trades`` and ``options_chain``.

Tardis relays Deribit's own fields: µs timestamps, the taker ``side`` (``buy``,
``sell``, or ``unknown``, which is kept so the engine counts it as
``unknown_side``), sizes in base-coin units (turned into contracts with the
contract multiplier) and IVs in percent (turned into decimals). Names are
upper-cased (``XRP_USDC-26SEP25-4D6-C``), which the instrument parser accepts.

Files are read in streaming blocks with every column as text first, so a bad
value in one row becomes a counted bad row (NaN or null, with its file and line)
instead of failing the whole file; only a malformed file (no or wrong header,
a cut gzip stream, a line with the wrong number of fields, another venue) is an
error, and it names the file.
"""

from __future__ import annotations

import csv as _pycsv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import ReadError, SchemaError
from ..schema import canonical_chain, canonical_trades
from ._convert import as_dictionary, contracts, epoch_timestamps, numbers, percent, provenance
from .files import Source, check_nonempty, expand_paths, first_line, is_gzip, read_bytes

__all__ = ["read_tardis_trades", "read_tardis_chain", "iter_tardis_file", "TRADES_COLUMNS", "CHAIN_COLUMNS"]

TRADES_COLUMNS = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")
CHAIN_COLUMNS = (
    "exchange", "symbol", "timestamp", "local_timestamp", "type", "strike_price", "expiration",
    "open_interest", "last_price", "bid_price", "bid_amount", "bid_iv", "ask_price", "ask_amount",
    "ask_iv", "mark_price", "mark_iv", "underlying_index", "underlying_price", "delta", "gamma",
    "vega", "theta", "rho",
)  # fmt: skip
_REQUIRED = {
    "trades": ("exchange", "symbol", "timestamp", "side", "amount"),
    "chain": ("exchange", "symbol", "timestamp", "mark_iv", "underlying_price"),
}
_VENUE = "deribit"
_BLOCK = 4 << 20


def _first_bad_line(path: Path, width: int) -> str:
    """Where a parse error is: pyarrow does not say, so find the first line with the wrong field count."""
    text = io.StringIO(read_bytes(path).decode("utf-8", errors="replace"))
    for line, row in enumerate(_pycsv.reader(text), start=1):
        if row and len(row) != width:
            return f"line {line} has {len(row)} fields, the header has {width}"
    return "a malformed line"


def _header(path: Path) -> list[str]:
    header = next(_pycsv.reader([first_line(path)]), [])
    if not header:
        raise ReadError(f"{path}: the file is empty once decompressed (no header line)")
    return header


def _open(path: Path, kind: str, block_size: int) -> pacsv.CSVStreamingReader:
    check_nonempty(path)
    header = _header(path)
    if any("\ufffd" in name for name in header):
        raise ReadError(f"{path}: the header line is not UTF-8 text: {','.join(header)[:200]!r}")
    missing = [c for c in _REQUIRED[kind] if c not in header]
    if missing:
        expected = TRADES_COLUMNS if kind == "trades" else CHAIN_COLUMNS
        raise SchemaError(
            f"{path}: not a Tardis {('trades' if kind == 'trades' else 'options_chain')} file: missing column(s) "
            f"{missing}; expected the header {','.join(expected)}; found {','.join(header)}"
        )
    stream = pa.input_stream(str(path), compression="gzip" if is_gzip(path) else None)
    try:
        return pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=block_size),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ReadError(f"{path}: malformed CSV: {_first_bad_line(path, len(header))} ({exc})") from exc
    except OSError as exc:
        raise ReadError(f"{path}: corrupt or truncated file ({exc})") from exc


def _check_venue(batch: pa.RecordBatch, path: Path) -> None:
    venues = [v for v in pc.unique(batch.column("exchange")).to_pylist() if v is not None]
    if venues and venues != [_VENUE]:
        what = "several venues" if len(venues) > 1 else "another venue"
        raise ReadError(
            f"{path}: the file holds rows of {what} ({', '.join(map(repr, venues))}); flowgex reads Deribit "
            f"options (names, sizes and multipliers are Deribit's): keep one venue, {_VENUE!r}, per file"
        )


def _trades(b: pa.RecordBatch, path: Path, line: int, multipliers: Mapping[str, float] | None) -> pa.Table:
    inst = as_dictionary(b.column("symbol"))
    cols: dict[str, Any] = {
        "timestamp": epoch_timestamps(b.column("timestamp"), "us"),
        "instrument": inst,
        "side": b.column("side"),
        "amount": contracts(inst, numbers(b.column("amount")), multipliers, where=str(path)),
    }
    if "id" in b.schema.names:
        cols["trade_id"] = b.column("id")
    if "price" in b.schema.names:
        cols["price"] = numbers(b.column("price"))
    if "local_timestamp" in b.schema.names:
        cols["local_timestamp"] = epoch_timestamps(b.column("local_timestamp"), "us")
    cols.update(provenance(b.num_rows, path, line))
    return canonical_trades(pa.table(cols))


_AMOUNTS = ("open_interest", "bid_amount", "ask_amount")
_PERCENTS = ("mark_iv", "bid_iv", "ask_iv")
_TEXT = ("type", "underlying_index")


def _chain(b: pa.RecordBatch, path: Path, line: int, multipliers: Mapping[str, float] | None) -> pa.Table:
    inst = as_dictionary(b.column("symbol"))
    cols: dict[str, Any] = {"timestamp": epoch_timestamps(b.column("timestamp"), "us"), "instrument": inst}
    for name in b.schema.names:
        col = b.column(name)
        if name in ("exchange", "symbol", "timestamp"):
            continue
        if name in _AMOUNTS:
            cols[name] = contracts(inst, numbers(col), multipliers, where=str(path))
        elif name in _PERCENTS:
            cols[name] = percent(col)
        elif name in ("local_timestamp", "expiration"):
            cols[name] = epoch_timestamps(col, "us")
        elif name in _TEXT:
            cols[name] = col
        else:
            cols[name] = numbers(col)
    cols.update(provenance(b.num_rows, path, line))
    return canonical_chain(pa.table(cols))


def iter_tardis_file(
    path: Path, *, kind: str, multipliers: Mapping[str, float] | None = None, block_size: int = _BLOCK
) -> Iterator[pa.Table]:
    """Canonical tables (``kind`` = "trades" or "chain"), block by block, in file order."""
    reader = _open(path, kind, block_size)
    convert = _trades if kind == "trades" else _chain
    line = 2  # the header is line 1
    width = len(reader.schema.names)
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                if line == 2:  # a header-only file (a quiet day): no rows, but the full schema
                    yield convert(pa.RecordBatch.from_pylist([], schema=reader.schema), path, line, multipliers)
                return
            except pa.ArrowInvalid as exc:
                raise ReadError(f"{path}: malformed CSV: {_first_bad_line(path, width)} ({exc})") from exc
            except OSError as exc:
                raise ReadError(f"{path}: corrupt or truncated file ({exc})") from exc
            _check_venue(batch, path)
            yield convert(batch, path, line, multipliers)
            line += batch.num_rows
    finally:
        reader.close()


def _read_all(source: Source, kind: str, multipliers: Mapping[str, float] | None) -> pa.Table:
    what = "read_tardis_trades" if kind == "trades" else "read_tardis_chain"
    paths = expand_paths(source, what=what)
    tables = [t for p in paths for t in iter_tardis_file(p, kind=kind, multipliers=multipliers)]
    return pa.concat_tables(tables, promote_options="permissive")


def read_tardis_trades(source: Source, *, multipliers: Mapping[str, float] | None = None) -> pa.Table:
    """Tardis.dev Deribit option ``trades`` CSV (plain or ``.csv.gz``; a path, a list or a glob)
    as canonical trades: µs timestamps, taker ``side`` (``unknown`` kept, counted by the engine),
    amounts in contracts (base-coin amount / multiplier; ``multipliers`` overrides the table),
    ``trade_id`` from ``id``, plus ``price``, ``local_timestamp``, ``source_file``, ``source_row``.
    Tardis trade files do not flag block trades, combos or liquidations."""
    return _read_all(source, "trades", multipliers)


def read_tardis_chain(source: Source, *, multipliers: Mapping[str, float] | None = None) -> pa.Table:
    """Tardis.dev Deribit ``options_chain`` CSV as a canonical chain: ``mark_iv`` (and bid/ask IVs)
    as decimals, ``open_interest`` (and bid/ask amounts) in contracts, the venue's ``gamma``, the
    other Tardis columns kept, plus ``source_file`` and ``source_row``."""
    return _read_all(source, "chain", multipliers)
