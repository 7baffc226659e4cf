"""Filling a gap (the start, a reconnect, a restart) from Deribit's history API.

The websocket only delivers what happens while it is connected; trades in
between come from ``public/get_last_trades_by_currency_and_time`` on
history.deribit.com, through the downloader's client (:class:`flowgex.io.deribit_client.DeribitClient`:
timeouts, deadlines, rate limits and retries as ``fg.fetch_deribit_trades``).
Paging is the downloader's: each page starts *at* the last trade's timestamp
(several trades share a millisecond), and the overlap is removed by trade id.
The server is checked, not trusted: trades outside the asked window are left
out (counted), and a page that brings nothing new while saying ``has_more``
stops with a :class:`~flowgex.errors.FetchError`, as does a window of more
than ``max_pages`` pages. Nothing is written here: the rows go through the
same gate (dedupe, late) and recorder as live trades.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from ..errors import FetchError
from ..io.deribit import trades_table
from ..io.deribit_client import DeribitClient
from ..io.fetch import METHOD, page_trades, trade_id_of, trade_stamp
from .recorded import TRADES, conform

__all__ = ["History", "fetch_window"]


@dataclass
class History:
    """Where and how to ask (the client's options are the downloader's)."""

    base_url: str
    timeout: float = 30.0
    deadline: float = 120.0
    max_retries: int = 5
    backoff: float = 1.0
    count: int = 1000
    max_pages: int = 10_000
    multipliers: Mapping[str, float] | None = None


def fetch_window(h: History, currency: str, start_ms: int, end_ms: int) -> tuple[pa.Table, int, int]:
    """Every option trade of ``currency`` stamped in ``[start_ms, end_ms]``, in time order:
    (trades in the recorded schema, requests made, trades refused as outside the window)."""
    if end_ms < start_ms:
        return TRADES.empty_table(), 0, 0
    params = {"currency": currency, "kind": "option", "count": h.count, "sorting": "asc", "include_old": "true"}
    recs: list[tuple[dict[str, object], int]] = []
    seen: set[str] = set()
    refused = 0
    cursor = start_ms
    where = f"{h.base_url}/{METHOD}"
    with DeribitClient(
        h.base_url, timeout=h.timeout, deadline=h.deadline, max_retries=h.max_retries, backoff=h.backoff
    ) as client:
        for _ in range(h.max_pages):
            result, _text = client.get(METHOD, {**params, "start_timestamp": cursor, "end_timestamp": end_ms})
            trades, has_more = page_trades(result, where)
            new = 0
            last = cursor
            for t in trades:
                s = trade_stamp(t)
                if s is None or not cursor <= s <= end_ms:
                    refused += 1
                    continue
                tid = trade_id_of(t)
                if tid in seen:
                    continue
                seen.add(tid)
                recs.append((t, len(recs) + 1))
                new += 1
                last = max(last, s)
            if not has_more:
                break
            if new == 0:
                raise FetchError(
                    f"{where}: no progress at {currency} timestamp {cursor} ms: the page (has_more) brings no new "
                    f"trade -- the server ignores the cursor, or more than {h.count} trades share one millisecond"
                )
            cursor = last
        else:
            raise FetchError(f"{where}: {currency} still has more trades after {h.max_pages} pages; gap too long")
        requests = client.requests
    recs.sort(key=lambda r: trade_stamp(r[0]) or 0)  # stable: API order within a millisecond
    table = trades_table(recs, None, h.multipliers)  # type: ignore[arg-type]
    return conform(table, TRADES), requests, refused
