"""A Deribit JSON-RPC-over-GET client that rides out rate limits and flaky networks.

Deribit signals rate limiting with HTTP 429 and/or the JSON-RPC error 10028
``too_many_requests``: wait (``Retry-After`` when given, else exponential
backoff) and ask again. Timeouts, dropped connections, unreadable bodies and
5xx answers are retried too, a bounded number of times. Any other error (a bad
parameter, an unknown currency) is the caller's mistake and fails at once.

Each attempt has an overall ``deadline`` (see :mod:`flowgex.io._deadline`) on
top of the per-operation ``timeout``: a server that answers one byte at a time
cannot hold a request open past it. A missed deadline is retried like a timeout.

An answer is read at most ``max_bytes`` long (default 64 MiB; a full page of
10,000 Deribit trades is about 3 MB): a server that streams an endless body
gets a :class:`~flowgex.errors.FetchError`, not the process's memory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ..errors import FetchError, OptionError
from ._deadline import Deadline, install

__all__ = ["DeribitClient", "RATE_LIMIT_CODE"]

RATE_LIMIT_CODE = 10028
MAX_BYTES = 64 * 2**20


class _Retry(Exception):
    def __init__(self, why: str, wait: float | None = None) -> None:
        super().__init__(why)
        self.wait = wait


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class DeribitClient:
    """``get(method, params)`` -> (result, raw text), retrying what is worth retrying."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        deadline: float = 300.0,
        max_retries: int = 8,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0:
            raise OptionError(f"invalid option deadline: expected seconds > 0, found {deadline!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise OptionError(f"invalid option max_bytes: expected a positive int, found {max_bytes!r}")
        self.max_bytes = max_bytes
        self.base_url = base_url.rstrip("/")
        self.deadline = float(deadline)
        self._deadline = Deadline()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), headers={"user-agent": "flowgex"})
        install(self._client, self._deadline)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DeribitClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _once(self, url: str, params: Mapping[str, Any]) -> tuple[Any, str]:
        self.requests += 1
        self._deadline.at = time.monotonic() + self.deadline
        try:
            r, text = self._read(url, params)
        except httpx.TimeoutException as exc:
            if self._deadline.passed:
                raise _Retry(f"no complete answer within the {self.deadline:g} s deadline") from exc
            raise _Retry(f"timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:  # refused, reset, dropped mid-answer
            raise _Retry(f"connection failed ({type(exc).__name__}: {exc})") from exc
        finally:
            self._deadline.at = None
        if r.status_code == 429:
            raise _Retry("rate limited (HTTP 429)", _retry_after(r))
        if r.status_code >= 500:
            raise _Retry(f"server error (HTTP {r.status_code})")
        try:
            body = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            if r.status_code == 200:
                raise _Retry("unreadable response body") from exc
            raise FetchError(f"{url}: HTTP {r.status_code} with a non-JSON body: {text[:200]!r}") from exc
        err = body.get("error") if isinstance(body, dict) else None
        if err is not None:
            code = err.get("code") if isinstance(err, dict) else None
            if code == RATE_LIMIT_CODE:
                raise _Retry("rate limited (Deribit error 10028 too_many_requests)", _retry_after(r))
            raise FetchError(f"{url}: Deribit refused the request {dict(params)}: {err}")
        if r.status_code != 200 or not isinstance(body, dict) or "result" not in body:
            raise FetchError(f"{url}: unexpected answer (HTTP {r.status_code}): {text[:200]!r}")
        return body["result"], text

    def _read(self, url: str, params: Mapping[str, Any]) -> tuple[httpx.Response, str]:
        """The answer and its body as text, refusing bodies over ``max_bytes``."""
        with self._client.stream("GET", url, params=params) as r:
            declared = r.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"{url}: the answer declares {declared} bytes, over max_bytes={self.max_bytes}")
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"{url}: the answer is longer than max_bytes={self.max_bytes} bytes")
                chunks.append(chunk)
        return r, b"".join(chunks).decode("utf-8", errors="replace")

    def get(self, method: str, params: Mapping[str, Any]) -> tuple[Any, str]:
        url = f"{self.base_url}/{method}"
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                return self._once(url, params)
            except _Retry as why:
                last = str(why)
                if attempt == self.max_retries:
                    break
                self.retries += 1
                wait = why.wait if why.wait is not None else self.backoff * 2**attempt
                self.sleep(min(wait, self.max_backoff))
        raise FetchError(
            f"{url}: gave up after {self.max_retries + 1} attempts ({last}); what was fetched is kept, "
            f"run again to resume"
        )
