"""Deribit ``public/ticker`` and ``public/get_book_summary_by_currency`` results as a
canonical chain (option snapshots), from JSON or from CSV dumps of them.

A ticker carries ``mark_iv`` (percent -> decimal), ``underlying_price`` (the
future or synthetic forward the option is priced on), ``open_interest``
(base-coin units -> contracts) and the venue's ``greeks``; a book summary has
``creation_timestamp`` instead of ``timestamp`` and no greeks. CSV dumps (e.g.
``pandas.DataFrame(results).to_csv()``) keep ``greeks`` as the text of a Python
dict (``"{'vega': 5.49, 'gamma': 0.00037, ...}"``), read here without ``eval``.

Websocket captures are read too: ``ticker.*`` notifications (a ticker each) and
``markprice.options.*`` notifications (``instrument_name``, ``mark_price`` and
``iv``, already a decimal in Deribit's documentation, so it is taken as is:
https://docs.deribit.com/subscriptions/market-data/markpriceoptionsindex_name).
Other channels are counted in the table's metadata (``channel_counts``).
An option whose asset has no known multiplier keeps its row with
``open_interest`` NaN (the engine rejects it as ``unknown_multiplier``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import ReadError, SchemaError
from ..schema import canonical_chain
from ._channels import with_channel_counts
from ._convert import as_dictionary, contracts, epoch_timestamps, numbers, percent, provenance
from ._json import Record, column, float_column, int_column, load_json_file, string_column
from .deribit import deribit_json_inputs, positioned
from .files import expand_paths, read_bytes

__all__ = ["read_deribit_tickers", "tickers_csv_file"]

_GREEK = {g: re.compile(rf"""['"]{g}['"]\s*:\s*([-+0-9.eE]+|None|null|nan|NaN)""") for g in ("gamma", "delta")}


def is_ticker(d: dict[str, Any]) -> bool:
    return "instrument_name" in d and ("mark_iv" in d or "open_interest" in d or "greeks" in d)


def _greek_from_text(text: str | None, greek: str) -> float | None:
    if not text:
        return None
    m = _GREEK[greek].search(text)
    if m is None or m.group(1) in ("None", "null"):
        return None
    try:
        return float(m.group(1))
    except ValueError:
        return float("nan")


def _greek(value: Any, greek: str) -> Any:
    if isinstance(value, dict):
        return value.get(greek)
    return _greek_from_text(value, greek) if isinstance(value, str) else None


def _chain(cols: dict[str, Any], path: Path | None, rows: pa.Array | None, multipliers: Any) -> pa.Table:
    where = str(path) if path is not None else "read_deribit_tickers"
    inst = as_dictionary(cols.pop("instrument"))
    out: dict[str, Any] = {"timestamp": cols.pop("timestamp"), "instrument": inst}
    out["mark_iv"] = cols.pop("mark_iv")  # decimal already
    out["underlying_price"] = numbers(cols.pop("underlying_price"))
    out["open_interest"] = contracts(inst, numbers(cols.pop("open_interest")), multipliers, where=where)
    out.update(cols)
    if path is not None and rows is not None:
        out["source_file"] = provenance(len(rows), path, 0)["source_file"]
        out["source_row"] = rows
    return canonical_chain(pa.table(out))


def from_records(recs: list[Record], path: Path | None, multipliers: Any) -> pa.Table:
    ts = [r.get("timestamp", r.get("creation_timestamp")) for r, _ in recs]
    greeks = column(recs, "greeks")
    decimal = [r.get("_iv_decimal") for r, _ in recs]  # markprice.options: iv is a decimal already
    mark_iv = percent(float_column(column(recs, "mark_iv")))
    if any("_iv_decimal" in r for r, _ in recs):
        is_decimal = pa.array(["_iv_decimal" in r for r, _ in recs], pa.bool_())
        mark_iv = pc.if_else(is_decimal, float_column(decimal), mark_iv)
    cols: dict[str, Any] = {
        "timestamp": epoch_timestamps(int_column(ts), "ms"),
        "instrument": string_column(column(recs, "instrument_name")),
        "mark_iv": mark_iv,
        "underlying_price": float_column(column(recs, "underlying_price")),
        "open_interest": float_column(column(recs, "open_interest")),
        "gamma": float_column(_greek(g, "gamma") for g in greeks),
        "delta": float_column(_greek(g, "delta") for g in greeks),
        "index_price": float_column(column(recs, "index_price")),
        "mark_price": float_column(column(recs, "mark_price")),
        "bid_iv": percent(float_column(column(recs, "bid_iv"))),
        "ask_iv": percent(float_column(column(recs, "ask_iv"))),
        "underlying_index": string_column(column(recs, "underlying_index")),
    }
    rows = pa.array([line for _, line in recs], pa.int64()) if path is not None else None
    return _chain(cols, path, rows, multipliers)


def tickers_csv_file(path: Path, multipliers: Mapping[str, float] | None = None) -> pa.Table:
    """A CSV dump of ticker (or book summary) results, one row per option."""
    # Invalid UTF-8 (a flipped bit, another encoding) becomes U+FFFD: the bad cell is then a
    # bad value the engine counts, and a bad header a clear missing-column error.
    data = read_bytes(path).decode("utf-8", errors="replace").encode("utf-8")
    try:
        raw = pacsv.read_csv(
            pa.py_buffer(data),
            convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=True, auto_dict_encode=False),
            read_options=pacsv.ReadOptions(autogenerate_column_names=False),
        )
    except pa.ArrowInvalid as exc:
        raise ReadError(f"{path}: malformed CSV ({exc})") from exc
    names = raw.column_names
    ts_name = "timestamp" if "timestamp" in names else "creation_timestamp"
    missing = [c for c in ("instrument_name", ts_name, "mark_iv", "underlying_price") if c not in names]
    if missing:
        raise SchemaError(
            f"{path}: not a dump of Deribit ticker results: missing column(s) {missing}; found {names[:12]}"
        )

    def col(name: str) -> Any:
        return raw.column(name) if name in names else pa.nulls(raw.num_rows)

    if "greeks" in names:
        greeks = raw.column("greeks").to_pylist()
        gamma = float_column(_greek_from_text(g, "gamma") for g in greeks)
        delta = float_column(_greek_from_text(g, "delta") for g in greeks)
    else:
        gamma = numbers(col("gamma") if "gamma" in names else col("greeks.gamma"))
        delta = numbers(col("delta") if "delta" in names else col("greeks.delta"))
    cols: dict[str, Any] = {
        "timestamp": epoch_timestamps(raw.column(ts_name), "ms"),
        "instrument": _text(raw.column("instrument_name")),
        "mark_iv": percent(raw.column("mark_iv")),
        "underlying_price": raw.column("underlying_price"),
        "open_interest": col("open_interest"),
        "gamma": gamma,
        "delta": delta,
        "index_price": numbers(col("index_price")),
        "mark_price": numbers(col("mark_price")),
        "bid_iv": percent(col("bid_iv")),
        "ask_iv": percent(col("ask_iv")),
    }
    rows = pa.array(range(2, raw.num_rows + 2), pa.int64())  # line numbers (the header is line 1)
    return _chain(cols, path, rows, multipliers)


def _text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    return col if pa.types.is_string(col.type) else col.cast(pa.string())


def _is_csv(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".csv") or name.endswith(".csv.gz")


def read_deribit_tickers(source: Any, *, multipliers: Mapping[str, float] | None = None) -> pa.Table:
    """Deribit ``public/ticker`` / ``get_book_summary_by_currency`` results as a canonical chain.

    ``source``: JSON (a path, list of paths or glob of ``.json``/``.jsonl``, or the parsed
    responses, lists of responses or result records) or CSV dumps of such results
    (``.csv``/``.csv.gz``). ``mark_iv`` (and bid/ask IVs) become decimals, ``open_interest``
    contracts, ``gamma``/``delta`` come from ``greeks``; ``index_price``, ``mark_price`` and,
    from files, ``source_file``/``source_row`` are kept.
    """
    tables = []
    seen: Counter[str] = Counter()
    paths = None
    if isinstance(source, (str, Path)) or (
        isinstance(source, (list, tuple)) and source and all(isinstance(x, (str, Path)) for x in source)
    ):
        if not (isinstance(source, str) and source.lstrip()[:1] in ("{", "[")):
            paths = expand_paths(source, what="read_deribit_tickers")
    if paths is not None:
        for p in paths:
            if _is_csv(p):
                tables.append(tickers_csv_file(p, multipliers))
            else:
                values = load_json_file(p, read_bytes(p))
                recs = positioned(values, str(p), "tickers", is_ticker, seen)
                tables.append(from_records(recs, p, multipliers))
    else:
        for values, path in deribit_json_inputs(source, what="read_deribit_tickers"):
            where = str(path) if path is not None else "read_deribit_tickers"
            tables.append(from_records(positioned(values, where, "tickers", is_ticker, seen), path, multipliers))
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    return with_channel_counts(table, seen)
