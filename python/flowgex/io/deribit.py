"""Deribit API trade JSON: ``public/get_last_trades_by_currency(_and_time)``,
``…_by_instrument(_and_time)`` and the history endpoint.

Each trade record gives ``timestamp`` (ms), ``instrument_name``, ``direction``
(the taker side), ``amount`` (base-coin units: contracts = amount / multiplier),
``index_price``, ``iv`` (percent), ``trade_id``, and optionally
``block_trade_id``, ``combo_id`` and ``liquidation``. A missing or non-numeric
field becomes null or NaN, so the engine rejects that trade with a reason (and
its file and position) rather than this reader dropping it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import SchemaError
from ..schema import canonical_trades
from ._convert import as_dictionary, contracts, epoch_timestamps, percent, provenance
from ._files import expand_paths, read_bytes
from ._json import Record, column, float_column, int_column, load_json_file, present, records, string_column
from .exclude import exclude, with_excluded_counts

__all__ = ["read_deribit_trades", "deribit_trades_file", "deribit_json_inputs"]


def _is_trade(d: dict[str, Any]) -> bool:
    return "instrument_name" in d and ("trade_id" in d or "direction" in d)


def _positioned(values: Iterable[tuple[Any, int | None]], where: str, key: str, is_record: Any) -> list[Record]:
    out: list[Record] = []
    for value, line in values:
        for rec in records(value, where=where, is_record=is_record, key=key):
            if not isinstance(rec, dict):
                raise SchemaError(f"{where}: expected records (objects), found {type(rec).__name__}")
            out.append((rec, line if line is not None else len(out) + 1))
    return out


def trades_table(recs: list[Record], path: Path | None, multipliers: Mapping[str, float] | None) -> pa.Table:
    """Canonical trades from positioned Deribit trade records."""
    where = str(path) if path is not None else "read_deribit_trades"
    inst = as_dictionary(string_column(column(recs, "instrument_name")))
    cols: dict[str, Any] = {
        "timestamp": epoch_timestamps(int_column(column(recs, "timestamp")), "ms"),
        "instrument": inst,
        "side": string_column(column(recs, "direction")),
        "amount": contracts(inst, float_column(column(recs, "amount")), multipliers, where=where),
        "index_price": float_column(column(recs, "index_price")),
        "iv": percent(float_column(column(recs, "iv"))),
        "trade_id": string_column(column(recs, "trade_id")),
        "block_trade": present(column(recs, "block_trade_id")),
        "combo_leg": present(column(recs, "combo_id")),
        "liquidation": present(column(recs, "liquidation")),
        "price": float_column(column(recs, "price")),
        "mark_price": float_column(column(recs, "mark_price")),
        "trade_seq": int_column(column(recs, "trade_seq")),
        "block_trade_id": string_column(column(recs, "block_trade_id")),
        "combo_id": string_column(column(recs, "combo_id")),
    }
    if path is not None:
        prov = provenance(len(recs), path, 0)
        cols["source_file"] = prov["source_file"]
        cols["source_row"] = pa.array([line for _, line in recs], pa.int64())
    return canonical_trades(pa.table(cols))


def deribit_trades_file(path: Path, multipliers: Mapping[str, float] | None = None) -> pa.Table:
    """One JSON / JSON-lines file (plain or gzip) of Deribit trades, every trade kept."""
    values = load_json_file(path, read_bytes(path))
    return trades_table(_positioned(values, str(path), "trades", _is_trade), path, multipliers)


def _is_json_text(source: Any) -> bool:
    if isinstance(source, (bytes, bytearray)):
        return source.lstrip()[:1] in (b"{", b"[")
    return isinstance(source, str) and source.lstrip()[:1] in ("{", "[")


def deribit_json_inputs(source: Any, *, what: str) -> list[tuple[list[tuple[Any, int | None]], Path | None]]:
    """The JSON values of each input (files, or one group for in-memory objects)."""
    if isinstance(source, (dict,)) or (
        isinstance(source, (list, tuple)) and source and all(isinstance(x, (dict, list)) for x in source)
    ):
        return [([(source, None)], None)]
    if _is_json_text(source):
        import json

        return [([(json.loads(source), None)], None)]
    if isinstance(source, (list, tuple)) and not source:
        return [([([], None)], None)]
    if not isinstance(source, (str, os.PathLike, list, tuple)):
        raise SchemaError(
            f"{what}: expected a path, a list of paths, a glob, a Deribit response (dict), a list of "
            f"responses or trades, or JSON text; found {type(source).__name__}"
        )
    return [(load_json_file(p, read_bytes(p)), p) for p in expand_paths(source, what=what)]


def read_deribit_trades(
    source: Any,
    *,
    multipliers: Mapping[str, float] | None = None,
    block_trades: bool = True,
    combo_legs: bool = True,
    liquidations: bool = True,
) -> pa.Table:
    """Deribit API trade JSON as canonical trades.

    ``source``: a path (``.json``, ``.jsonl``, optionally ``.gz``), a list of paths or a glob;
    or the parsed JSON itself: a response dict, a list of responses, or a list of trades.
    Amounts become contracts (base-coin amount / multiplier), ``iv`` a decimal; each
    trade keeps ``trade_id``, ``price``, ``mark_price``, ``trade_seq``, flags
    ``block_trade``, ``combo_leg``, ``liquidation`` and, from files, ``source_file`` and
    ``source_row``. Set ``block_trades``/``combo_legs``/``liquidations`` to False to leave
    those out; the counts are in :func:`flowgex.excluded_counts` of the result.
    """
    tables = []
    for values, path in deribit_json_inputs(source, what="read_deribit_trades"):
        where = str(path) if path is not None else "read_deribit_trades"
        tables.append(trades_table(_positioned(values, where, "trades", _is_trade), path, multipliers))
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    table, counts = exclude(table, block_trades=block_trades, combo_legs=combo_legs, liquidations=liquidations)
    return with_excluded_counts(table, counts)
