"""Deribit websocket messages: telling notifications, control messages and
responses apart, and routing notifications by channel.

A subscription notification is ``{"jsonrpc": "2.0", "method": "subscription",
"params": {"channel": "trades.BTC-PERPETUAL.raw", "data": ...}}``
(https://docs.deribit.com/, "Subscriptions"). Channels flowgex reads:

- ``trades.{instrument}.{interval}``, ``trades.{kind}.{currency}.{interval}``
  and ``user.trades.*``: ``data`` is a list of trades, the same fields as the
  history API's trades;
- ``ticker.{instrument}.{interval}``: ``data`` is one ticker (``mark_iv`` in percent);
- ``markprice.options.{index_name}``: ``data`` is a list of
  ``{instrument_name, mark_price, iv, timestamp}`` where ``iv`` is already a
  decimal (Deribit's example: ``"iv": 0.9``,
  https://docs.deribit.com/subscriptions/market-data/markpriceoptionsindex_name);
- ``deribit_price_index.{index_name}``: ``data`` is ``{index_name, price, timestamp}``
  (https://docs.deribit.com/subscriptions/market-data/deribit_price_indexindex_name).

Every other channel (``book.*``, ``quote.*``, ``incremental_ticker.*`` ...) and
every control message (subscribe confirmations, heartbeats) is counted by kind,
never dropped without a trace: the counts travel in the table's metadata
(:func:`channel_counts`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

__all__ = ["channel_kind", "notification", "is_control", "channel_counts", "with_channel_counts", "READ"]

#: Channel kinds the readers turn into rows.
READ = ("trades", "ticker", "markprice", "index")
_META = b"flowgex.channels"


def channel_kind(channel: str) -> str:
    """``trades``, ``ticker``, ``markprice``, ``index``, or the channel's first word (``book``...)."""
    head = channel.split(".", 1)[0]
    if head == "trades" or channel.startswith("user.trades."):
        return "trades"
    if head == "ticker":
        return "ticker"
    if channel.startswith("markprice.options."):
        return "markprice"
    if head == "deribit_price_index":
        return "index"
    return head or "unnamed"


def notification(value: Any) -> tuple[str, Any] | None:
    """(channel, data) of a subscription notification, else None."""
    if not isinstance(value, dict) or value.get("method") != "subscription":
        return None
    params = value.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("channel"), str):
        return None
    return params["channel"], params.get("data")


def is_control(value: Any) -> bool:
    """A heartbeat, a test request, or the answer to a subscribe / set_heartbeat call."""
    if not isinstance(value, dict):
        return False
    if value.get("method") in ("heartbeat", "public/test", "public/set_heartbeat", "public/subscribe"):
        return True
    if "result" in value:
        res = value["result"]
        return isinstance(res, str) or (isinstance(res, list) and all(isinstance(x, str) for x in res))
    return False


def channel_counts(table: pa.Table) -> dict[str, int]:
    """Messages a reader saw but did not turn into rows, by kind (``book``, ``control``...)."""
    meta = table.schema.metadata or {}
    return {k: int(v) for k, v in json.loads(meta.get(_META, b"{}")).items()}


def with_channel_counts(table: pa.Table, counts: Mapping[str, int] | Counter[str]) -> pa.Table:
    total = channel_counts(table)
    for k, v in counts.items():
        total[k] = total.get(k, 0) + int(v)
    if not total:
        return table
    meta = dict(table.schema.metadata or {})
    meta[_META] = json.dumps(total, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)
