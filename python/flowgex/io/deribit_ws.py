"""A mixed Deribit websocket capture as the three canonical tables.

A live recorder (or a Tardis.dev exchange-native file) writes every message it
receives, one a line, possibly after a local timestamp. One pass sorts them:
``trades.*`` / ``user.trades.*`` notifications become trades (as
:func:`flowgex.read_deribit_trades` reads them: taker side, iv 0 = no
observation, maker fills of user trades flipped), ``ticker.*`` and
``markprice.options.*`` notifications a chain (as
:func:`flowgex.read_deribit_tickers`), ``deribit_price_index.*`` notifications
spot rows (``asset`` = the index's base coin, ``btc_usd`` -> ``BTC``). Every
other message (``book.*``, ``quote.*``, heartbeats, subscribe answers, responses
that hold no trades or tickers) is counted by kind in ``channels``: nothing is
dropped without a trace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from ..errors import SchemaError
from ..schema import canonical_spot
from ._channels import channel_counts, channel_kind, is_control, notification
from ._convert import epoch_timestamps, provenance
from ._json import Record, float_column, int_column, records, string_column
from .deribit import deribit_json_inputs, is_trade, markprice, trades_table
from .tickers import from_records, is_ticker

__all__ = ["DeribitMessages", "read_deribit_messages", "channel_counts"]


class DeribitMessages(NamedTuple):
    """The canonical tables of one capture, and the messages that fed none of them, by kind."""

    trades: pa.Table
    chain: pa.Table
    spot: pa.Table
    channels: Mapping[str, int]


def _records_of(data: Any, where: str, is_record: Any, key: str) -> list[dict[str, Any]]:
    out = []
    for rec in records(data, where=where, is_record=is_record, key=key):
        if not isinstance(rec, dict):
            raise SchemaError(f"{where}: expected records (objects), found {type(rec).__name__}")
        out.append(rec)
    return out


def _index_rows(data: Any, where: str) -> list[dict[str, Any]]:
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(d, dict) for d in items):
        raise SchemaError(f"{where}: a deribit_price_index notification whose data is not an object")
    return items


def _asset(index_name: Any) -> str | None:
    if not isinstance(index_name, str) or not index_name:
        return None
    return index_name.split("_", 1)[0].upper()


def _spot(rows: list[tuple[dict[str, Any], int | None]], path: Path | None) -> pa.Table:
    cols: dict[str, Any] = {
        "timestamp": epoch_timestamps(int_column(r.get("timestamp") for r, _ in rows), "ms"),
        "asset": string_column(_asset(r.get("index_name")) for r, _ in rows),
        "price": float_column(r.get("price") for r, _ in rows),
        "index_name": string_column(r.get("index_name") for r, _ in rows),
    }
    if path is not None:
        cols["source_file"] = provenance(len(rows), path, 0)["source_file"]
        cols["source_row"] = pa.array([line for _, line in rows], pa.int64())
    return canonical_spot(pa.table(cols))


def _split(
    values: list[tuple[Any, int | None]], where: str, seen: Counter[str]
) -> tuple[list[Record], list[Record], list[Record]]:
    trades: list[Record] = []
    chain: list[Record] = []
    spot: list[Record] = []

    def at(line: int | None, out: list[Record]) -> int:
        return line if line is not None else len(out) + 1

    for value, line in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            note = notification(item)
            if note is None:
                if is_control(item):
                    seen["control"] += 1
                    continue
                try:  # a saved response among the messages: trades or tickers
                    recs = _records_of(item, where, lambda d: is_trade(d) or is_ticker(d), "trades")
                except SchemaError:
                    seen["unrecognised"] += 1
                    continue
                for rec in recs:
                    target = trades if is_trade(rec) else chain
                    target.append((rec, at(line, target)))
                continue
            channel, data = note
            kind = channel_kind(channel)
            here = f"{where} ({channel})"
            if kind == "trades" and data is not None:
                trades.extend((r, at(line, trades)) for r in _records_of(data, here, lambda d: True, "trades"))
            elif kind == "ticker" and data is not None:
                chain.extend((r, at(line, chain)) for r in _records_of(data, here, lambda d: True, "tickers"))
            elif kind == "markprice" and data is not None:
                chain.extend((r, at(line, chain)) for r in markprice(data, here))
            elif kind == "index" and data is not None:
                spot.extend((r, at(line, spot)) for r in _index_rows(data, here))
            else:
                seen[kind] += 1
    return trades, chain, spot


def read_deribit_messages(source: Any, *, multipliers: Mapping[str, float] | None = None) -> DeribitMessages:
    """Trades, chain and spot from a Deribit websocket capture (a path, a list of paths, a
    glob, JSON text, or the parsed messages).

    Returns ``DeribitMessages(trades, chain, spot, channels)``: the three canonical tables
    (each possibly empty, with ``source_file``/``source_row`` from files) and the count of
    messages by kind that fed none of them (``{"book": 120, "control": 2}``). A capture
    holding no trade, ticker, mark-price or index message at all is a SchemaError naming
    what it holds.
    """
    seen: Counter[str] = Counter()
    parts: dict[str, list[pa.Table]] = {"trades": [], "chain": [], "spot": []}
    try:
        inputs = deribit_json_inputs(source, what="read_deribit_messages")
        for values, path in inputs:
            where = str(path) if path is not None else "read_deribit_messages"
            trades, chain, spot = _split(values, where, seen)
            parts["trades"].append(trades_table(trades, path, multipliers))
            parts["chain"].append(from_records(chain, path, multipliers))
            parts["spot"].append(_spot(spot, path))
    except RecursionError as exc:  # lists nested thousands deep
        raise SchemaError("read_deribit_messages: JSON nested too deeply to be venue messages") from exc
    tables = {k: pa.concat_tables(v, promote_options="permissive") for k, v in parts.items()}
    if not any(t.num_rows for t in tables.values()) and seen:
        found = ", ".join(f"{n} {k}" for k, n in sorted(seen.items()))
        raise SchemaError(f"read_deribit_messages: no trade, ticker, mark price or index message; found {found}")
    return DeribitMessages(tables["trades"], tables["chain"], tables["spot"], dict(seen))
