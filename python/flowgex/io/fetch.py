"""The Deribit trade downloader: ``public/get_last_trades_by_currency_and_time``
day by day, page by page, resumable.

Paging by time is gap-free only if the next page starts *at* the last trade's
timestamp (not after it: several trades can share a millisecond, and a page
can end in the middle of them); the overlap this creates is removed by trade
id. Every raw response is kept, so the canonical table of a day can always be
rebuilt from what the venue said. On disk, under ``out``::

    raw/option/BTC/2025-12-01/page-000001.json.gz ...   the responses, as received
    raw/option/BTC/2025-12-01/_state.json               cursor after the last stored page
    parquet/option/currency=BTC/date=2025-12-01/trades.parquet   canonical, deduplicated

Each file is written atomically. A day whose Parquet file exists is complete;
a day with a state file continues from its cursor; so a second run resumes
where the first stopped, and a finished range costs no request at all.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import FetchError, OptionError
from ..options import to_ns
from ._files import write_atomic_bytes, write_atomic_with
from ._http import DeribitClient
from .deribit import read_deribit_trades

__all__ = ["fetch_deribit_trades", "FetchSummary", "DEFAULT_BASE_URL", "KINDS"]

DEFAULT_BASE_URL = "https://history.deribit.com/api/v2"
METHOD = "public/get_last_trades_by_currency_and_time"
KINDS = ("option", "future", "spot", "option_combo", "future_combo", "combo", "any")
_DAY_MS = 86_400_000
_CURRENCY = re.compile(r"^[A-Z0-9_]{2,16}$")


@dataclass(frozen=True)
class FetchSummary:
    """What a fetch produced: the canonical dataset root, the days, trades and requests made."""

    out: Path
    dataset: Path
    days: tuple[str, ...]
    trades: int
    requests: int
    retries: int
    days_already_done: int


def _day_name(day_ms: int) -> str:
    return str(pa.scalar(day_ms * 1_000_000, pa.timestamp("ns", tz="UTC")).as_py().date())


def _check(currency: Any, kind: Any, count: Any) -> str:
    cur = str(currency).strip().upper()
    if not _CURRENCY.match(cur):
        raise OptionError(f"invalid option currency: expected a Deribit currency such as 'BTC', found {currency!r}")
    if kind not in KINDS:
        raise OptionError(f"invalid option kind: expected one of {KINDS}, found {kind!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
        raise OptionError(f"invalid option count: expected an int in 1..1000 (Deribit's page limit), found {count!r}")
    return cur


def _load_state(path: Path, day_ms: int) -> dict[str, Any]:
    if path.is_file():
        return json.loads(path.read_text())
    return {"cursor": day_ms, "seen": [], "pages": 0, "done": False}


def _page_trades(result: Any, where: str) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(result, dict) or not isinstance(result.get("trades"), list):
        raise FetchError(f"{where}: unexpected result (expected {{'trades': [...], 'has_more': ...}}): {result!r:.200}")
    return result["trades"], bool(result.get("has_more"))


def _fetch_day(client: DeribitClient, params: dict[str, Any], day_ms: int, raw: Path) -> int:
    """Pages through one UTC day into ``raw``; returns the number of pages stored."""
    state_path = raw / "_state.json"
    st = _load_state(state_path, day_ms)
    while not st["done"]:
        cursor = int(st["cursor"])
        query = {**params, "start_timestamp": cursor, "end_timestamp": day_ms + _DAY_MS}
        result, text = client.get(METHOD, query)
        trades, has_more = _page_trades(result, f"{client.base_url}/{METHOD}")
        page = st["pages"] + 1
        write_atomic_bytes(raw / f"page-{page:06d}.json.gz", gzip.compress(text.encode(), compresslevel=5))
        seen = set(st["seen"])
        stamps = [int(t["timestamp"]) for t in trades]
        ids = [str(t.get("trade_id")) for t in trades]
        last = max(stamps, default=cursor)
        if has_more and last <= cursor and all(i in seen for i in ids):
            raise FetchError(
                f"{client.base_url}/{METHOD}: no progress at {_day_name(day_ms)} timestamp {cursor} ms: more than "
                f"{params['count']} trades share one millisecond, which time paging cannot get past"
            )
        at_last = {i for i, s in zip(ids, stamps) if s == last}
        st = {
            "cursor": last,
            "seen": sorted((at_last | seen) if last == cursor else at_last),
            "pages": page,
            "done": not has_more,
        }
        write_atomic_bytes(state_path, json.dumps(st).encode())
    return int(st["pages"])


def _build_day(raw: Path, pages: int, day_ms: int, multipliers: Mapping[str, float] | None) -> pa.Table:
    """The day's canonical trades from its raw pages: in the day, each trade id once (the first)."""
    files = [raw / f"page-{i:06d}.json.gz" for i in range(1, pages + 1)]
    table = read_deribit_trades(files, multipliers=multipliers)
    ts = pc.cast(table.column("timestamp"), pa.int64())
    lo, hi = day_ms * 1_000_000, (day_ms + _DAY_MS) * 1_000_000
    table = table.filter(pc.and_(pc.greater_equal(ts, lo), pc.less(ts, hi)))
    seen: set[Any] = set()
    keep = []
    for tid in table.column("trade_id").to_pylist():
        keep.append(tid is None or tid not in seen)
        seen.add(tid)
    table = table.filter(pa.array(keep, pa.bool_()))
    order = pc.sort_indices(table, sort_keys=[("timestamp", "ascending")])  # stable: API order within a ms
    return table.take(order)


def fetch_deribit_trades(
    currency: str,
    start: Any,
    end: Any,
    *,
    kind: str = "option",
    out: str | Path,
    base_url: str = DEFAULT_BASE_URL,
    count: int = 1000,
    timeout: float = 30.0,
    max_retries: int = 8,
    backoff: float = 1.0,
    multipliers: Mapping[str, float] | None = None,
    progress: bool = True,
) -> FetchSummary:
    """Downloads every ``currency`` trade of ``kind`` for the UTC days from ``start``'s date up to
    ``end`` (exclusive; ``end`` = 2025-12-02 stops after 2025-12-01) into ``out``.

    Raw responses and one canonical Parquet file per day are stored (layout in
    :mod:`flowgex.io.fetch`); replay the result with ``fg.replay(out / "parquet" / kind, ...)``.
    Rate limits (HTTP 429, Deribit 10028) are waited out; timeouts, dropped
    connections and 5xx are retried up to ``max_retries`` times with exponential
    ``backoff``. Running again resumes where a previous run stopped.
    """
    cur = _check(currency, kind, count)
    start_ms, end_ms = to_ns(start, name="start") // 1_000_000, to_ns(end, name="end") // 1_000_000
    if end_ms <= start_ms:
        raise OptionError(f"invalid option start/end: expected start < end, found start={start!r} end={end!r}")
    out = Path(out)
    days = list(range(start_ms // _DAY_MS * _DAY_MS, end_ms, _DAY_MS))
    params = {"currency": cur, "kind": kind, "count": count, "sorting": "asc", "include_old": "true"}
    from tqdm.auto import tqdm

    total, done_before = 0, 0
    with DeribitClient(base_url, timeout=timeout, max_retries=max_retries, backoff=backoff) as client:
        for day_ms in tqdm(days, desc=f"fetch {cur} {kind}", unit="day", disable=not progress):
            name = _day_name(day_ms)
            target = out / "parquet" / kind / f"currency={cur}" / f"date={name}" / "trades.parquet"
            if target.is_file():
                done_before += 1
            else:
                raw = out / "raw" / kind / cur / name
                pages = _fetch_day(client, params, day_ms, raw)
                table = _build_day(raw, pages, day_ms, multipliers)
                write_atomic_with(target, functools.partial(pq.write_table, table))
            total += pq.ParquetFile(target).metadata.num_rows
        requests, retries = client.requests, client.retries
    return FetchSummary(
        out=out,
        dataset=out / "parquet" / kind,
        days=tuple(_day_name(d) for d in days),
        trades=total,
        requests=requests,
        retries=retries,
        days_already_done=done_before,
    )
