"""An overall deadline per HTTP request, under httpx's per-operation timeouts.

httpx's ``timeout`` bounds each connect, read and write: a server that drips one
byte a second never trips it, so one request could last forever. Here every
socket operation of the request is given ``min(timeout, time left)`` and none
starts after the deadline, so a request ends (``httpcore`` timeout, which httpx
raises as ``httpx.TimeoutException``) at most one timeout past its deadline and
normally at it. The hook is httpcore's network backend -- the one layer that sees
every read, headers included -- wrapped in each of the client's connection pools.
"""

from __future__ import annotations

import time
from typing import Any

import httpcore
import httpx

__all__ = ["Deadline", "install"]


class Deadline:
    """The monotonic time the current request must be finished by (None: no request running)."""

    def __init__(self) -> None:
        self.at: float | None = None

    def left(self, timeout: float | None, exc: type[Exception]) -> float | None:
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise exc("the request's overall deadline passed")
        return left if timeout is None else min(timeout, left)

    @property
    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, **kw: Any) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, **kw), self._deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None, **kw: Any) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, **kw), self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(client: httpx.Client, deadline: Deadline) -> None:
    """Routes every connection of ``client`` (direct and through proxies) through ``deadline``."""
    pools = [getattr(t, "_pool", None) for t in (client._transport, *client._mounts.values()) if t is not None]
    wrapped = 0
    for pool in pools:
        inner = getattr(pool, "_network_backend", None)
        if inner is not None:
            pool._network_backend = _Backend(inner, deadline)
            wrapped += 1
    if not wrapped:  # an httpx/httpcore without the hook: fail loudly rather than hang quietly
        raise RuntimeError("flowgex: cannot install the request deadline in this httpx version")
