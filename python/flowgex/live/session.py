"""One websocket connection speaking Deribit's JSON-RPC: calls, subscriptions,
heartbeats, and every incoming message put on one queue in arrival order.

Why one queue: the run loop must see notifications and clock readings (the
``usOut`` of each answer, Deribit's own microsecond clock) in the order the
exchange sent them, so that "the clock has reached t" never overtakes a
notification stamped before t that was already on the wire.

Heartbeats (https://docs.deribit.com/, ``public/set_heartbeat``): the server
sends ``{"method": "heartbeat", "params": {"type": "test_request"}}`` and
closes the connection unless the client answers with ``public/test``; the
reader task answers at once, whatever the run loop is busy with (a backfill
from the history API can take a while).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ..errors import FetchError

__all__ = ["Incoming", "Session", "RpcError", "Disconnected", "RATE_LIMIT_CODE"]

#: Deribit's "too_many_requests": the only error answer worth retrying.
RATE_LIMIT_CODE = 10028
#: Longest text message accepted (Deribit's biggest notifications are a few hundred kB).
MAX_MESSAGE = 16 * 1024 * 1024


class RpcError(FetchError):
    """Deribit answered a call with an error (``code``, ``message``)."""

    def __init__(self, method: str, error: Any) -> None:
        self.code = error.get("code") if isinstance(error, dict) else None
        super().__init__(f"Deribit refused {method}: {error!r:.300}")


class Disconnected(Exception):
    """The connection is gone (closed, reset, unreachable); the run loop reconnects."""


@dataclass(frozen=True)
class Incoming:
    """One item of the queue: a ``note`` (a subscription notification, parsed),
    a ``clock`` reading (``ns``, from an answer's ``usOut``), a ``bad`` message
    (its text and why), or ``closed`` (why)."""

    kind: str
    value: Any = None
    ns: int | None = None
    text: str = ""


def _clock_ns(msg: dict[str, Any]) -> int | None:
    us = msg.get("usOut")
    if isinstance(us, int) and not isinstance(us, bool) and 0 < us < 2**62 // 1000:
        return us * 1000
    return None


class Session:
    """An open connection; use :meth:`open`, then :meth:`call` / :meth:`subscribe`, read :attr:`queue`."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue()
        self.clock_ns: int | None = None  # the latest usOut seen (ns)
        self._tasks: set[asyncio.Task[None]] = set()  # answers in flight (held: the loop keeps weak refs)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, *, timeout: float) -> Session:
        try:
            ws = await connect(url, open_timeout=timeout, max_size=MAX_MESSAGE, ping_interval=None, close_timeout=1)
        except InvalidURI as exc:
            raise FetchError(f"invalid websocket URL {url!r}: {exc}") from exc
        except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
            raise Disconnected(f"cannot connect to {url}: {type(exc).__name__}: {exc}") from exc
        return cls(ws)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        with contextlib.suppress(Exception):
            await self._ws.close()

    async def _send(self, method: str, params: dict[str, Any]) -> int:
        rid = next(self._ids)
        try:
            await self._ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}))
        except ConnectionClosed as exc:
            raise Disconnected(f"connection closed while sending {method}: {exc}") from exc
        return rid

    async def call(self, method: str, params: dict[str, Any], *, timeout: float) -> Any:
        """The result of one call; an error answer is an :class:`RpcError`."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        rid = await self._send(method, params)
        self._waiting[rid] = fut
        try:
            msg = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError as exc:
            raise Disconnected(f"no answer to {method} within {timeout:g} s") from exc
        finally:
            self._waiting.pop(rid, None)
        if "error" in msg:
            raise RpcError(method, msg["error"])
        return msg.get("result")

    async def subscribe(self, channels: Sequence[str], *, timeout: float) -> None:
        """Subscribes to every channel; a channel the server does not confirm is an :class:`RpcError`."""
        result = await self.call("public/subscribe", {"channels": list(channels)}, timeout=timeout)
        got = set(result) if isinstance(result, list) else set()
        missing = [c for c in channels if c not in got]
        if missing:
            raise RpcError("public/subscribe", {"message": "channels not confirmed", "channels": missing})

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                self._dispatch(text if isinstance(text, str) else text.decode("utf-8", "replace"))
        except ConnectionClosed as exc:
            self.queue.put_nowait(Incoming("closed", text=f"connection closed ({exc})"))
        except Exception as exc:  # a reset, a protocol error: the loop reconnects
            self.queue.put_nowait(Incoming("closed", text=f"connection lost ({type(exc).__name__}: {exc})"))
        else:
            self.queue.put_nowait(Incoming("closed", text="connection closed by the server"))
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(Disconnected("connection closed before the answer"))

    def _dispatch(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            self.queue.put_nowait(Incoming("bad", text=text, value="invalid JSON"))
            return
        if not isinstance(msg, dict):
            self.queue.put_nowait(Incoming("bad", text=text, value="not a JSON-RPC object"))
            return
        ns = _clock_ns(msg)
        if ns is not None:
            self.clock_ns = ns if self.clock_ns is None else max(self.clock_ns, ns)
        rid = msg.get("id")
        if rid is not None and not isinstance(rid, bool) and rid in self._waiting:
            fut = self._waiting[rid]
            if not fut.done():
                fut.set_result(msg)
        if ns is not None:
            self.queue.put_nowait(Incoming("clock", ns=ns))
        method = msg.get("method")
        if method == "subscription":
            self.queue.put_nowait(Incoming("note", value=msg, text=text))
        elif method == "heartbeat":
            params = msg.get("params")
            if isinstance(params, dict) and params.get("type") == "test_request":
                task = asyncio.ensure_future(self._answer_test())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        elif rid is None and ns is None:
            self.queue.put_nowait(Incoming("bad", text=text, value="neither a notification nor an answer"))

    async def _answer_test(self) -> None:
        with contextlib.suppress(Disconnected):
            await self._send("public/test", {})
