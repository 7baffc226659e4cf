"""The Deribit trade downloader: ``public/get_last_trades_by_currency_and_time``
day by day, page by page, resumable.

Paging by time is gap-free only if the next page starts *at* the last trade's
timestamp (not after it: several trades can share a millisecond, and a page
can end in the middle of them); the overlap this creates is removed by trade
id. Every raw response is kept, so the canonical table of a day can always be
rebuilt from what the venue said. On disk, under ``out``::

    raw/option/BTC/2025-12-01/page-000001.json.gz ...   the responses, as received
    raw/option/BTC/2025-12-01/_state.json               cursor after the last stored page
    raw/option/BTC/2025-12-01/_rejected.json            trades refused (unreadable / outside the day), counted
    parquet/option/currency=BTC/date=2025-12-01/trades.parquet   canonical, deduplicated

Each file is written atomically. A day whose Parquet file exists is complete;
a day with a state file continues from its cursor; so a second run resumes
where the first stopped, and a finished range costs no request at all.

The server's word is checked, not trusted: a trade whose timestamp cannot be
read, or lies outside the day asked for, is kept out of the day, counted by
reason in :class:`FetchSummary` ``rejected`` and listed (page, position, id) in
the day's ``_rejected.json``; it never moves the cursor. See ``_fetch_day`` for
the no-progress and page-count stops.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import FetchError, OptionError, ReadError
from ..options import to_ns
from .deribit import is_trade, trades_table
from .deribit_client import DeribitClient
from .exclude import exclude, with_excluded_counts
from .files import read_bytes, write_atomic_bytes, write_atomic_with

__all__ = ["fetch_deribit_trades", "FetchSummary", "DEFAULT_BASE_URL", "KINDS", "REJECT_REASONS"]

DEFAULT_BASE_URL = "https://history.deribit.com/api/v2"
METHOD = "public/get_last_trades_by_currency_and_time"
KINDS = ("option", "future", "spot", "option_combo", "future_combo", "combo", "any")
_DAY_MS = 86_400_000
#: Why a fetched trade is kept out of its day (and counted): its timestamp is not a
#: whole number of ms, or it lies outside the day that was asked for.
REJECT_REASONS = ("unreadable", "out_of_range")
REJECTED = "_rejected.json"
#: Default page bound per day: ten million trades' worth of pages.
_MAX_TRADES_PER_DAY = 10_000_000
_CURRENCY = re.compile(r"^[A-Z0-9_]{2,16}$")


@dataclass(frozen=True)
class FetchSummary:
    """What a fetch produced: the canonical dataset root, the days, trades and requests made, and
    the trades the server sent that were refused, by reason (``REJECT_REASONS``), over all days."""

    out: Path
    dataset: Path
    days: tuple[str, ...]
    trades: int
    requests: int
    retries: int
    days_already_done: int
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


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
        try:
            st = json.loads(path.read_text())
            if not isinstance(st, dict) or not isinstance(st.get("seen"), list):
                raise ValueError("not a state object")
            cursor, pages, done = int(st["cursor"]), int(st["pages"]), bool(st["done"])
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise FetchError(
                f"{path}: unreadable download state ({exc}); delete the day's folder to fetch it again"
            ) from exc
        if not day_ms <= cursor <= day_ms + _DAY_MS or pages < 0:
            raise FetchError(f"{path}: download state outside its day; delete the day's folder to fetch it again")
        return {**st, "cursor": cursor, "pages": pages, "done": done}
    return {"cursor": day_ms, "seen": [], "pages": 0, "done": False}


def page_trades(result: Any, where: str) -> tuple[list[Any], bool]:
    if not isinstance(result, dict) or not isinstance(result.get("trades"), list):
        raise FetchError(f"{where}: unexpected result (expected {{'trades': [...], 'has_more': ...}}): {result!r:.200}")
    return result["trades"], bool(result.get("has_more"))


def trade_stamp(trade: Any) -> int | None:
    """The trade's timestamp in ms if it is a whole number, else None (unreadable).

    Strings (even of digits), booleans, fractions and non-finite values are never
    guessed at, never used to move the cursor; a whole number may still lie
    outside the day (see ``_classify``)."""
    if not isinstance(trade, dict) or not is_trade(trade):
        return None
    v = trade.get("timestamp")
    if isinstance(v, bool):
        return None
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return v if isinstance(v, int) else None


def trade_id_of(trade: Any) -> str:
    return str(trade.get("trade_id")) if isinstance(trade, dict) else repr(trade)


def _fetch_day(client: DeribitClient, params: dict[str, Any], day_ms: int, raw: Path, max_pages: int) -> int:
    """Pages through one UTC day into ``raw``; returns the number of pages stored.

    The server is not trusted: the cursor only moves to timestamps inside what
    was asked (``[cursor, day end]``), so a trade stamped days ahead cannot end
    the day early; a page that brings no trade not already stored while saying
    ``has_more`` (a server ignoring the cursor, or more than ``count`` trades in
    one millisecond) stops the download, and so does a day of more than
    ``max_pages`` pages. The day is done only when the server says there is no
    more inside it."""
    state_path = raw / "_state.json"
    st = _load_state(state_path, day_ms)
    end = day_ms + _DAY_MS
    where = f"{client.base_url}/{METHOD}"
    while not st["done"]:
        cursor = int(st["cursor"])
        if st["pages"] >= max_pages:
            raise FetchError(
                f"{where}: {_day_name(day_ms)} still has more trades after {max_pages} pages (cursor {cursor} ms); "
                f"raise max_pages_per_day if the day really is that busy"
            )
        query = {**params, "start_timestamp": cursor, "end_timestamp": end}
        result, text = client.get(METHOD, query)
        trades, has_more = page_trades(result, where)
        seen = set(st["seen"])
        inside = [(s, trade_id_of(t)) for t in trades if (s := trade_stamp(t)) is not None and cursor <= s <= end]
        new = [(s, i) for s, i in inside if s > cursor or i not in seen]
        if has_more and not new:
            raise FetchError(
                f"{where}: no progress at {_day_name(day_ms)} timestamp {cursor} ms: the page (has_more) brings no "
                f"trade not already stored -- the server ignores the cursor, or more than {params['count']} "
                f"trades share one millisecond, which time paging cannot get past"
            )
        page = st["pages"] + 1
        write_atomic_bytes(raw / f"page-{page:06d}.json.gz", gzip.compress(text.encode(), compresslevel=5))
        last = max((s for s, _ in inside), default=cursor)
        at_last = {i for s, i in inside if s == last}
        st = {
            "cursor": last,
            "seen": sorted((at_last | seen) if last == cursor else at_last),
            "pages": page,
            "done": not has_more,
        }
        write_atomic_bytes(state_path, json.dumps(st).encode())
    return int(st["pages"])


def _classify(trade: Any, day_ms: int) -> str | None:
    """None for a trade of the day, "" for one of the next day (its midnight), else the reason it is rejected."""
    ts = trade_stamp(trade)
    if ts is None:
        return "unreadable"
    if ts < day_ms or ts > day_ms + _DAY_MS:
        return "out_of_range"
    return "" if ts == day_ms + _DAY_MS else None


def _build_day(
    raw: Path, pages: int, day_ms: int, multipliers: Mapping[str, float] | None
) -> tuple[pa.Table, dict[str, Any]]:
    """The day's canonical trades from its raw pages (in the day, each trade id once, the first),
    and the rejected trades: unreadable or outside the day, each once, with page and position."""
    tables, rejected, bad_seen = [], [], set()
    for i in range(1, pages + 1):
        path = raw / f"page-{i:06d}.json.gz"
        try:
            trades, _ = page_trades(json.loads(read_bytes(path))["result"], str(path))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ReadError(
                f"{path}: stored page unreadable ({exc}); delete the day's folder to fetch it again"
            ) from exc
        good = []
        for pos, t in enumerate(trades, start=1):
            why = _classify(t, day_ms)
            if why is None:
                good.append((t, pos))
            elif why:
                key = trade_id_of(t) if isinstance(t, dict) and t.get("trade_id") is not None else (str(path), pos)
                if key not in bad_seen:
                    bad_seen.add(key)
                    ts = t.get("timestamp") if isinstance(t, dict) else None
                    tid = t.get("trade_id") if isinstance(t, dict) else None
                    rejected.append({"reason": why, "page": path.name, "position": pos,
                                     "trade_id": None if tid is None else str(tid),
                                     "timestamp": ts if isinstance(ts, (int, float, str)) else repr(ts)})  # fmt: skip
        if good:
            tables.append(trades_table(good, path, multipliers))
    if not tables:
        tables.append(trades_table([], None, multipliers))
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    seen: set[Any] = set()
    keep = []
    for tid in table.column("trade_id").to_pylist():
        keep.append(tid is None or tid not in seen)
        seen.add(tid)
    table = table.filter(pa.array(keep, pa.bool_()))
    order = pc.sort_indices(table, sort_keys=[("timestamp", "ascending")])  # stable: API order within a ms
    table, excluded = exclude(table.take(order), block_trades=True, combo_legs=True, liquidations=True)
    counts = {r: sum(x["reason"] == r for x in rejected) for r in REJECT_REASONS}
    return with_excluded_counts(table, excluded), {"day": _day_name(day_ms), "counts": counts, "trades": rejected}


def _rejected_counts(raw: Path) -> dict[str, int]:
    """The rejected-trade counts a finished day recorded (none for a day fetched before they were)."""
    path = raw / REJECTED
    if not path.is_file():
        return {}
    try:
        counts = json.loads(path.read_text())["counts"]
        return {str(k): int(v) for k, v in counts.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReadError(f"{path}: unreadable record of rejected trades ({exc})") from exc


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
    deadline: float = 300.0,
    max_retries: int = 8,
    backoff: float = 1.0,
    max_pages_per_day: int | None = None,
    multipliers: Mapping[str, float] | None = None,
    progress: bool = True,
) -> FetchSummary:
    """Downloads every ``currency`` trade of ``kind`` for the UTC days from ``start``'s date up to
    ``end`` (exclusive; ``end`` = 2025-12-02 stops after 2025-12-01) into ``out``.

    Raw responses and one canonical Parquet file per day are stored (layout in
    :mod:`flowgex.io.fetch`); replay the result with ``fg.replay(out / "parquet" / kind, ...)``.
    Rate limits (HTTP 429, Deribit 10028) are waited out; timeouts, dropped
    connections and 5xx are retried up to ``max_retries`` times with exponential
    ``backoff``. ``timeout`` bounds each network operation (connect, one read);
    ``deadline`` bounds a whole request, however slowly the server answers (a
    missed deadline is retried like a timeout). ``max_pages_per_day`` (default:
    ten million trades' worth, ``ceil(10_000_000 / count)``) stops a server that
    pages forever. Running again resumes where a previous run stopped.

    Trades with an unreadable timestamp or one outside the requested day are not
    stored: they are counted in the summary's ``rejected`` and listed in each day's
    ``raw/.../_rejected.json``.
    """
    cur = _check(currency, kind, count)
    if max_pages_per_day is None:
        max_pages_per_day = -(-_MAX_TRADES_PER_DAY // count)
    if isinstance(max_pages_per_day, bool) or not isinstance(max_pages_per_day, int) or max_pages_per_day < 1:
        raise OptionError(f"invalid option max_pages_per_day: expected a positive int, found {max_pages_per_day!r}")
    start_ms, end_ms = to_ns(start, name="start") // 1_000_000, to_ns(end, name="end") // 1_000_000
    if end_ms <= start_ms:
        raise OptionError(f"invalid option start/end: expected start < end, found start={start!r} end={end!r}")
    out = Path(out)
    days = list(range(start_ms // _DAY_MS * _DAY_MS, end_ms, _DAY_MS))
    params = {"currency": cur, "kind": kind, "count": count, "sorting": "asc", "include_old": "true"}
    from tqdm.auto import tqdm

    total, done_before = 0, 0
    rejected = dict.fromkeys(REJECT_REASONS, 0)
    client_opts = {"timeout": timeout, "deadline": deadline, "max_retries": max_retries, "backoff": backoff}
    with DeribitClient(base_url, **client_opts) as client:
        for day_ms in tqdm(days, desc=f"fetch {cur} {kind}", unit="day", disable=not progress):
            name = _day_name(day_ms)
            target = out / "parquet" / kind / f"currency={cur}" / f"date={name}" / "trades.parquet"
            raw = out / "raw" / kind / cur / name
            if target.is_file():
                done_before += 1
            else:
                pages = _fetch_day(client, params, day_ms, raw, max_pages_per_day)
                table, bad = _build_day(raw, pages, day_ms, multipliers)
                write_atomic_bytes(raw / REJECTED, json.dumps(bad, indent=1).encode())  # before: the day is done
                write_atomic_with(target, functools.partial(pq.write_table, table))
            for reason, n in _rejected_counts(raw).items():
                rejected[reason] = rejected.get(reason, 0) + n
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
        rejected=rejected,
    )
