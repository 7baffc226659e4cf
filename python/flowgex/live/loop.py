"""The asyncio loop: connect, subscribe, back-fill the gap, consume in batches, reconnect.

Order of a session, and why:

1. connect, ``public/set_heartbeat``, ``public/subscribe``: from here on the
   live messages queue up (the reader task also answers heartbeats);
2. back-fill every currency from its last trade seen (or ``backfill`` before
   the exchange clock, on a first start) up to the clock of the subscribe
   answer, from the history API: the gap is closed *before* any queued live
   message is consumed, so no trade is late for having arrived by the slow
   path; the overlap with the queue is removed by trade id;
3. consume the queue in batches (up to ``batch_seconds`` or
   ``batch_messages``): notifications are read in one call, fed as one update,
   then the latest exchange clock (``usOut``, minus ``clock_lag``) is applied;
   a commit follows when a step became final. Feeding and committing run in a
   worker thread (one at a time, awaited), so the reader task keeps answering
   heartbeats however long a batch takes.

A dropped connection, a silent one (no message, not even a heartbeat, for
three heartbeat intervals) or a refused connect starts over at 1 after a
backoff (``reconnect_base`` doubling up to ``reconnect_max`` seconds). An
error answer to a subscription other than a rate limit is not retried: a
channel Deribit does not know will not appear by retrying, so the run
commits and stops with a :class:`~flowgex.errors.FetchError` naming it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ..errors import FetchError
from .backfill import History, fetch_window
from .channels import channels_of
from .intake import read_notes
from .recorded import CHAIN, SPOT
from .runner import Runner
from .session import RATE_LIMIT_CODE, Disconnected, Incoming, RpcError, Session

__all__ = ["LoopOptions", "run_loop"]


@dataclass(frozen=True)
class LoopOptions:
    ws_url: str
    history: History
    backfill_ns: int
    until_ns: int | None
    heartbeat: int = 10
    interval: str = "100ms"
    clock_lag_ns: int = 5 * 10**9
    batch_seconds: float = 0.5
    batch_messages: int = 5000
    call_timeout: float = 15.0
    reconnect_base: float = 0.5
    reconnect_max: float = 30.0
    max_reconnects: int | None = None


class _Stop(Exception):
    pass


async def _backfill(r: Runner, o: LoopOptions, clock_ns: int) -> None:
    end_ms = clock_ns // 1_000_000
    for feed in r.feeds:
        last = r.last_trade_ms.get(feed.currency)
        start_ms = last if last is not None else (clock_ns - o.backfill_ns) // 1_000_000
        if start_ms > end_ms:
            continue
        trades, requests, refused = await asyncio.to_thread(fetch_window, o.history, feed.currency, start_ms, end_ms)
        r.counts["history_requests"] += requests
        r.counts["history_refused"] += refused
        before = r.counts["trades"]
        await asyncio.to_thread(r.feed, trades, CHAIN.empty_table(), SPOT.empty_table())
        r.counts["history_trades"] += r.counts["trades"] - before


async def _batch(s: Session, o: LoopOptions, stop: asyncio.Event) -> list[Incoming]:
    """Waits for one item (at most three heartbeat intervals), then takes what follows within the batch window."""
    getter = asyncio.ensure_future(s.queue.get())
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({getter, stopper}, timeout=3 * o.heartbeat, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if getter not in done:
        getter.cancel()
        if stop.is_set():
            raise _Stop
        raise Disconnected(f"no message for {3 * o.heartbeat} s (heartbeats included)")
    items = [getter.result()]
    deadline = time.monotonic() + o.batch_seconds
    while len(items) < o.batch_messages and items[-1].kind != "closed":
        try:
            items.append(s.queue.get_nowait())
            continue
        except asyncio.QueueEmpty:
            pass
        left = deadline - time.monotonic()
        if left <= 0 or stop.is_set():
            break
        try:
            items.append(await asyncio.wait_for(s.queue.get(), left))
        except asyncio.TimeoutError:
            break
    return items


def _apply(r: Runner, o: LoopOptions, items: list[Incoming]) -> str | None:
    """Feeds a batch; returns why the connection closed, if it did."""
    notes = [(i.value, i.text) for i in items if i.kind == "note"]
    clock = max((i.ns for i in items if i.kind == "clock" and i.ns is not None), default=None)
    closed = next((i.text for i in items if i.kind == "closed"), None)
    for i in items:
        if i.kind == "bad":
            r.quarantine(i.text, str(i.value))
    r.counts["messages"] += len(notes)
    r.counts["batches"] += 1
    got = read_notes(notes, r.multipliers)
    for q in got.quarantined:
        r.quarantine(q.text, q.reason)
    r.feed(got.trades, got.chain, got.spot)
    if clock is not None:
        r.see_exchange_clock(clock)
        r.clock(clock - o.clock_lag_ns)
    return closed


async def _session(r: Runner, o: LoopOptions, stop: asyncio.Event, connected: list[bool]) -> None:
    s = await Session.open(o.ws_url, timeout=o.call_timeout)
    try:
        await s.call("public/set_heartbeat", {"interval": o.heartbeat}, timeout=o.call_timeout)
        await s.subscribe(channels_of(r.feeds, o.interval), timeout=o.call_timeout)
        if s.clock_ns is None:
            raise FetchError(f"{o.ws_url}: the subscribe answer carries no usOut: cannot tell the exchange's time")
        r.see_exchange_clock(s.clock_ns)
        await _backfill(r, o, s.clock_ns)
        connected[0] = True
        while True:
            if r.final(o.until_ns) or stop.is_set():
                raise _Stop
            items = await _batch(s, o, stop)
            # in a worker thread: the reader task keeps answering heartbeats meanwhile
            closed = await asyncio.to_thread(_apply, r, o, items)
            if r.due():
                await asyncio.to_thread(r.commit)
            if closed is not None:
                raise Disconnected(closed)
    finally:
        await s.close()


async def run_loop(r: Runner, o: LoopOptions, stop: asyncio.Event) -> None:
    """Runs until ``until`` is final, ``stop`` is set, or a non-retryable error; commits on the way out."""
    failures = 0
    reconnects = 0
    try:
        while True:
            connected = [False]
            try:
                await _session(r, o, stop, connected)
            except _Stop:
                return
            except (Disconnected, RpcError) as exc:
                if isinstance(exc, RpcError) and exc.code != RATE_LIMIT_CODE:
                    raise
                failures = 0 if connected[0] else failures + 1
                r.counts["reconnects"] += 1
                reconnects += 1
                if o.max_reconnects is not None and reconnects > o.max_reconnects:
                    raise FetchError(f"{o.ws_url}: gave up after {o.max_reconnects} reconnects ({exc})") from exc
                wait = min(o.reconnect_max, o.reconnect_base * 2 ** min(failures, 30))
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                    return
                except asyncio.TimeoutError:
                    pass
    finally:
        r.commit()
