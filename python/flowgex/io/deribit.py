"""Deribit API trade JSON: ``public/get_last_trades_by_currency(_and_time)``,
``…_by_instrument(_and_time)`` and the history endpoint.

Each trade record gives ``timestamp`` (ms), ``instrument_name``, ``direction``
(the taker side), ``amount`` (base-coin units: contracts = amount / multiplier),
``index_price``, ``iv`` (percent), ``trade_id``, and optionally
``block_trade_id``, ``combo_id`` and ``liquidation``. A missing or non-numeric
field becomes null or NaN, so the engine rejects that trade with a reason (and
its file and position) rather than this reader dropping it.

Also read (see ``_channels``): websocket captures, one message a line, whose
``trades.*`` (and ``user.trades.*``) notifications hold trades; other channels
are counted in the table's metadata (:func:`flowgex.io.deribit_ws.channel_counts`),
and a file holding none of the asked-for messages is an error naming what it holds.

No observation, not a value (DESIGN section 5, second round): an ``iv`` or
``index_price`` of 0 (Deribit's own block-trade example has ``"iv": 0``) becomes
null, so the trade's flow counts and the engine looks for vol and spot
elsewhere; NaN, negative or infinite values are kept for the engine to reject.

Private user trades (``private/get_user_trades_*``, ``user.trades.*``, block
trades) carry ``liquidity``: their ``direction`` is the *user's* side, which is
the taker side only when ``liquidity == "T"``. For ``liquidity == "M"`` (the
user was the maker) the reader flips it, so ``side`` is always the taker's.
Public trades carry no ``liquidity`` and are taken as they are.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SchemaError
from ..schema import canonical_trades
from ._channels import channel_kind, is_control, notification, with_channel_counts
from ._convert import as_dictionary, contracts, epoch_timestamps, percent, provenance
from ._json import (
    Record,
    column,
    float_column,
    int_column,
    load_json_file,
    loads_text,
    present,
    records,
    string_column,
)
from .exclude import exclude, with_excluded_counts
from .files import expand_paths, read_bytes

__all__ = ["read_deribit_trades", "deribit_trades_file", "deribit_json_inputs"]


def is_trade(d: dict[str, Any]) -> bool:
    return "instrument_name" in d and ("trade_id" in d or "direction" in d)


#: Channel kinds each record key reads (``trades`` for trade readers, ``tickers`` for chains).
_KINDS = {"trades": ("trades",), "tickers": ("ticker", "markprice")}


def _add(out: list[Record], value: Any, line: int | None, where: str, key: str, is_record: Any) -> None:
    for rec in records(value, where=where, is_record=is_record, key=key):
        if not isinstance(rec, dict):
            raise SchemaError(f"{where}: expected records (objects), found {type(rec).__name__}")
        out.append((rec, line if line is not None else len(out) + 1))


def markprice(data: Any, where: str) -> list[dict[str, Any]]:
    """markprice.options records as ticker-like records whose iv is already a decimal."""
    items = data if isinstance(data, list) else [data]
    out = []
    for d in items:
        if not isinstance(d, dict):
            raise SchemaError(f"{where}: a markprice.options notification whose data holds {type(d).__name__}")
        out.append({"instrument_name": d.get("instrument_name"), "timestamp": d.get("timestamp"),
                    "mark_price": d.get("mark_price"), "_iv_decimal": d.get("iv")})  # fmt: skip
    return out


def positioned(
    values: Iterable[tuple[Any, int | None]],
    where: str,
    key: str,
    is_record: Any,
    counts: Counter[str] | None = None,
) -> list[Record]:
    """The records in a file's JSON values: responses, bare records, and websocket
    notifications of the channels ``key`` reads; other channels and control messages
    are counted in ``counts`` (by kind). Nothing of the asked-for kind but other
    messages recognised is an error naming them."""
    wanted = _KINDS.get(key, (key,))
    seen: Counter[str] = Counter()
    out: list[Record] = []
    for value, line in values:
        mixed = isinstance(value, list) and any(notification(v) is not None or is_control(v) for v in value)
        items = value if mixed else [value]
        for item in items:
            note = notification(item)
            if note is not None:
                kind = channel_kind(note[0])
                if kind not in wanted:
                    seen[kind] += 1
                elif kind == "markprice":
                    for rec in markprice(note[1], where):
                        out.append((rec, line if line is not None else len(out) + 1))
                elif note[1] is not None:
                    _add(out, note[1], line, f"{where} ({note[0]})", key, lambda d: "instrument_name" in d)
            elif is_control(item):
                seen["control"] += 1
            else:
                _add(out, item, line, where, key, is_record)
    if seen and not out and not any(k in seen for k in wanted):
        found = ", ".join(f"{n} {k}" for k, n in sorted(seen.items()))
        raise SchemaError(
            f"{where}: no {' or '.join(wanted)} messages; recognised Deribit websocket messages: {found}. "
            "fg.read_deribit_messages reads trades, tickers, mark prices and index prices from one capture"
        )
    if counts is not None:
        counts.update(seen)
    return out


def _taker_side(recs: list[Record]) -> pa.Array:
    """``direction``, flipped where ``liquidity == "M"`` (a user's maker fill: the taker did the opposite)."""
    flip = {"buy": "sell", "sell": "buy"}
    out = []
    for r, _ in recs:
        d = r.get("direction")
        out.append(flip.get(d, d) if r.get("liquidity") == "M" and isinstance(d, str) else d)
    return string_column(out)


def _observation(col: pa.Array) -> pa.Array:
    """0 is "no observation" (null); NaN, negative and inf stay for the engine to reject."""
    return pc.if_else(pc.equal(col, 0.0), pa.scalar(None, pa.float64()), col)


def trades_table(recs: list[Record], path: Path | None, multipliers: Mapping[str, float] | None) -> pa.Table:
    """Canonical trades from positioned Deribit trade records."""
    where = str(path) if path is not None else "read_deribit_trades"
    inst = as_dictionary(string_column(column(recs, "instrument_name")))
    cols: dict[str, Any] = {
        "timestamp": epoch_timestamps(int_column(column(recs, "timestamp")), "ms"),
        "instrument": inst,
        "side": _taker_side(recs),
        "amount": contracts(inst, float_column(column(recs, "amount")), multipliers, where=where),
        "index_price": _observation(float_column(column(recs, "index_price"))),
        "iv": _observation(percent(float_column(column(recs, "iv")))),
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
    if any("liquidity" in r for r, _ in recs):
        cols["liquidity"] = string_column(column(recs, "liquidity"))
    if path is not None:
        prov = provenance(len(recs), path, 0)
        cols["source_file"] = prov["source_file"]
        cols["source_row"] = pa.array([line for _, line in recs], pa.int64())
    return canonical_trades(pa.table(cols))


def deribit_trades_file(path: Path, multipliers: Mapping[str, float] | None = None) -> pa.Table:
    """One JSON / JSON-lines file (plain or gzip) of Deribit trades, every trade kept."""
    values = load_json_file(path, read_bytes(path))
    counts: Counter[str] = Counter()
    table = trades_table(positioned(values, str(path), "trades", is_trade, counts), path, multipliers)
    return with_channel_counts(table, counts)


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
        return [(loads_text(source, what), None)]
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

    Websocket captures (JSON lines, a local timestamp in front allowed) are read for their
    ``trades.*`` / ``user.trades.*`` notifications; other messages are counted by kind in
    :func:`flowgex.channel_counts` of the result. ``iv``/``index_price`` 0 become null (no
    observation); user trades' maker fills (``liquidity == "M"``) are flipped to the taker side.
    """
    tables = []
    seen: Counter[str] = Counter()
    for values, path in deribit_json_inputs(source, what="read_deribit_trades"):
        where = str(path) if path is not None else "read_deribit_trades"
        tables.append(trades_table(positioned(values, where, "trades", is_trade, seen), path, multipliers))
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    table = with_channel_counts(table, seen)
    table, counts = exclude(table, block_trades=block_trades, combo_legs=combo_legs, liquidations=liquidations)
    return with_excluded_counts(table, counts)
