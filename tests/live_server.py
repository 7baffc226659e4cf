"""A local Deribit-speaking websocket server on 127.0.0.1 for the live tests,
and the simulated market as Deribit's messages.

The server plays a script of events, each ``(ts_ns, kind, payload)``, in time
order, sharing one cursor across connections (a reconnect continues where the
last connection stopped, as the real market goes on without us):

- ``"msg"``: a notification (dict) sent as JSON;
- ``"raw"``: a text frame sent as is (malformed messages);
- ``"drop"``: the connection is closed, and every event stamped before
  ``payload`` (a ts in ns) is skipped: the client never receives them, only the
  history server has their trades;
- ``"silence"``: nothing but heartbeat ``test_request``s whose answers' ``usOut``
  walk through the spell up to ``payload`` (the exchange clock moves, no message);
- ``"pause"``: the server stops sending until ``resume`` is set (kill -9 tests).

Answers: ``public/set_heartbeat`` -> "ok"; ``public/subscribe`` -> the channels
(or, per connection, a scripted error); ``public/test`` -> a version. Each
answer's ``usOut`` is the server's simulated clock: the timestamp of the next
event to send (the exchange's time when the client subscribed).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from flowgex.multipliers import BUILTIN_MULTIPLIERS

Event = tuple[int, str, Any]


def _mult(name: str) -> float:
    head = name.split("-", 1)[0].upper()
    return BUILTIN_MULTIPLIERS.get(head, BUILTIN_MULTIPLIERS.get(head.split("_")[0], 1.0))


def _index(asset: str) -> str:
    return f"{asset.lower()}_usd" if asset in ("BTC", "ETH") else f"{asset.lower()}_usdc"


def trade_records(trades: pa.Table) -> list[dict[str, Any]]:
    """The simulated trades as Deribit trade records (ms timestamps, coin amounts, iv in percent)."""
    ms = _ms(trades.column("timestamp"))
    names = [str(x) for x in trades.column("instrument").to_pylist()]
    ids = trades.column("trade_id").to_pylist()
    sides = [str(x) for x in trades.column("side").to_pylist()]
    amount = trades.column("amount").to_pylist()
    iv = trades.column("iv").to_pylist()
    px = trades.column("index_price").to_pylist()
    block = trades.column("block_trade").to_pylist() if "block_trade" in trades.column_names else [False] * len(ms)
    out = []
    for i in range(trades.num_rows):
        name = names[i]
        rec = {
            "trade_seq": i + 1, "trade_id": f"{name.split('-')[0]}-{ids[i]}", "timestamp": int(ms[i]),
            "tick_direction": 0, "price": 0.01, "mark_price": 0.01, "iv": round(float(iv[i]) * 100, 6),
            "instrument_name": name, "index_price": float(px[i]), "direction": sides[i],
            "amount": float(amount[i]) * _mult(name),
        }  # fmt: skip
        if block[i]:
            rec["block_trade_id"] = f"B{ids[i]}"
        out.append(rec)
    return out


def _ms(col: pa.ChunkedArray) -> np.ndarray:
    return col.cast(pa.int64()).to_numpy() // 1_000_000


def market_events(
    market: Any, start_ns: int, end_ns: int, *, chain_every_ms: int = 60_000
) -> tuple[list[Event], list[dict[str, Any]]]:
    """(script events in [start, end), every trade record of the market up to ``end``) for ``market``."""
    events: list[Event] = []
    recs = trade_records(market.trades)
    all_trades = [r for r in recs if r["timestamp"] * 1_000_000 < end_ns]
    for r in all_trades:
        ts = r["timestamp"] * 1_000_000
        if ts >= start_ns:
            name = r["instrument_name"]
            ch = f"trades.option.{'USDC' if '_USDC' in name else name.split('-')[0]}.100ms"
            events.append((ts, "msg", _note(ch, [r])))
    chain = market.chain
    cms = _ms(chain.column("timestamp"))
    names = [str(x) for x in chain.column("instrument").to_pylist()]
    ivs = chain.column("mark_iv").to_pylist()
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for ms, name, iv in zip(cms, names, ivs):
        if ms % chain_every_ms or not start_ns <= ms * 1_000_000 < end_ns:
            continue
        asset = name.split("-")[0].split("_")[0].upper()
        groups.setdefault((int(ms), asset), []).append(
            {"timestamp": int(ms), "mark_price": 0.01, "iv": iv, "instrument_name": name}
        )
    for (ms, asset), data in groups.items():
        events.append((ms * 1_000_000, "msg", _note(f"markprice.options.{_index(asset)}", data)))
    spot = market.spot
    for ms, asset, px in zip(
        _ms(spot.column("timestamp")), spot.column("asset").to_pylist(), spot.column("price").to_pylist()
    ):
        if start_ns <= ms * 1_000_000 < end_ns:
            idx = _index(asset)
            data = {"index_name": idx, "price": px, "timestamp": int(ms)}
            events.append((int(ms) * 1_000_000, "msg", _note(f"deribit_price_index.{idx}", data)))
    events.sort(key=lambda e: e[0])
    return events, all_trades


def _note(channel: str, data: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}


class FakeDeribitWs:
    """The script player; ``url`` once entered. ``sub_errors``: per connection, None or an error object."""

    def __init__(
        self,
        events: Iterable[Event],
        *,
        sub_errors: list[Any] | None = None,
        heartbeat_every: int = 200,
        rate: float | None = None,
    ) -> None:
        self.events = list(events)
        self.pos = 0
        self.sub_errors = list(sub_errors or [])
        self.heartbeat_every = heartbeat_every
        self.rate = rate  # messages per second (wall clock), None: as fast as the client reads
        self.resume = threading.Event()
        self.paused = threading.Event()
        self.connections = 0
        self.tests_answered = 0
        self.requests: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None
        self.port = 0
        self.clock_ns = self.events[0][0] if self.events else 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeDeribitWs:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(timeout=10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.resume.set()
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=2**24)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    def _answer(self, rid: Any, result: Any = None, error: Any = None) -> str:
        us = self.clock_ns // 1000
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "usIn": us, "usOut": us, "testnet": False}
        if error is not None:
            body["error"] = error
        else:
            body["result"] = result
        return json.dumps(body)

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        conn = self.connections
        subscribed = asyncio.Event()
        reader = asyncio.create_task(self._read(ws, conn, subscribed))
        waiter = asyncio.create_task(subscribed.wait())
        try:
            await asyncio.wait({waiter, reader}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
            if subscribed.is_set():
                await self._play(ws)
            await reader
        except (ConnectionClosed, asyncio.TimeoutError):
            pass
        finally:
            waiter.cancel()
            reader.cancel()

    async def _read(self, ws: ServerConnection, conn: int, subscribed: asyncio.Event) -> None:
        async for text in ws:
            msg = json.loads(text)
            self.requests.append(msg)
            method, rid = msg.get("method"), msg.get("id")
            if method == "public/set_heartbeat":
                await ws.send(self._answer(rid, "ok"))
            elif method == "public/subscribe":
                err = self.sub_errors[conn - 1] if conn - 1 < len(self.sub_errors) else None
                if err is not None:
                    await ws.send(self._answer(rid, error=err))
                    continue
                await ws.send(self._answer(rid, list(msg["params"]["channels"])))
                subscribed.set()
            elif method == "public/test":
                self.tests_answered += 1
                await ws.send(self._answer(rid, {"version": "1.2.26"}))

    async def _test_request(self, ws: ServerConnection) -> None:
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}))

    async def _play(self, ws: ServerConnection) -> None:
        sent = 0
        began = time.perf_counter()
        while self.pos < len(self.events):
            ts, kind, payload = self.events[self.pos]
            self.clock_ns = max(self.clock_ns, ts)
            self.pos += 1
            if kind == "msg":
                await ws.send(json.dumps(payload))
            elif kind == "raw":
                await ws.send(payload)
            elif kind == "drop":
                while self.pos < len(self.events) and self.events[self.pos][0] < payload:
                    self.pos += 1
                self.clock_ns = payload
                await ws.close()
                return
            elif kind == "silence":
                step = max(1, (payload - ts) // 20)
                for t in range(ts, payload + 1, step):
                    self.clock_ns = t
                    await self._test_request(ws)
                    await asyncio.sleep(0.005)
            elif kind == "pause":
                self.paused.set()
                await asyncio.to_thread(self.resume.wait, 60)
                if ws.state is not State.OPEN:  # the client died meanwhile: the next connection goes on
                    return
            sent += 1
            if self.rate is not None and sent % 50 == 0:
                ahead = sent / self.rate - (time.perf_counter() - began)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if sent % self.heartbeat_every == 0:
                await self._test_request(ws)
                await asyncio.sleep(0)
        await self._test_request(ws)  # the script's end: its clock reaches the client
        await ws.wait_closed()  # idle until the client (or the test) closes
