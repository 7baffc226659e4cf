"""A local stand-in for Deribit's history API on 127.0.0.1, for downloader tests.

It serves ``public/get_last_trades_by_currency_and_time`` from a fixed list of
trades exactly as Deribit pages it (ascending, ``start_timestamp`` and
``end_timestamp`` inclusive, ``count`` per page, ``has_more``), and plays a
script of faults, one per request: HTTP 429, Deribit error 10028 (as HTTP 400),
HTTP 500, a response slower than the client's timeout, a connection dropped
without an answer, a cut JSON body, or a non-retryable Deribit error; and,
hostile, an answer dripped one byte every ``drip_seconds`` (``drip``: the body,
``drip_headers``: from the status line on), at most ``drip_bytes`` of it;
``nested``: JSON nested 200,000 deep; ``huge``: a body of ``huge_bytes`` with no
length (read until the connection closes); ``huge_declared``: a content-length
of a terabyte and a short body.
Subclasses override ``page`` to serve wrong pages (see ``test_fetch_hostile``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PATH = "/api/v2/public/get_last_trades_by_currency_and_time"


class FakeDeribit:
    def __init__(self, trades: list[dict[str, Any]], faults: list[str | None] | None = None) -> None:
        self.trades = sorted(trades, key=lambda t: t["timestamp"])  # stable: ties keep their id order
        self.faults = list(faults or [])
        self.fail_from: int | None = None  # every request from this index on gets HTTP 500
        self.slow_seconds = 1.0
        self.drip_seconds = 1.0
        self.drip_bytes = 30  # bounded: a dripping handler ends by itself
        self.huge_bytes = 4 * 2**20  # bounded too
        self.requests: list[dict[str, str]] = []
        self.served: list[str | None] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v2"

    def __enter__(self) -> FakeDeribit:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def page(self, q: dict[str, str]) -> dict[str, Any]:
        lo, hi, count = int(q["start_timestamp"]), int(q["end_timestamp"]), int(q["count"])
        match = [t for t in self.trades if lo <= t["timestamp"] <= hi]
        return {"trades": match[:count], "has_more": len(match) > count}

    def _next_fault(self, index: int) -> str | None:
        if self.fail_from is not None and index >= self.fail_from:
            return "500"
        return self.faults.pop(0) if self.faults else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _drip(self, data: bytes) -> None:
                for i in range(min(len(data), fake.drip_bytes)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    time.sleep(fake.drip_seconds)
                self.close_connection = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                with fake._lock:
                    index = len(fake.requests)
                    fake.requests.append(q)
                    fault = fake._next_fault(index)
                    fake.served.append(fault)
                if url.path != PATH:
                    self._send(404, b'{"error": {"code": -32601, "message": "Method not found"}}')
                    return
                ok = json.dumps({"jsonrpc": "2.0", "result": fake.page(q), "usIn": index, "usOut": index}).encode()
                try:
                    if fault is None:
                        self._send(200, ok)
                    elif fault == "429":
                        self._send(
                            429, b'{"error": {"code": 10028, "message": "too_many_requests"}}', {"retry-after": "0"}
                        )
                    elif fault == "10028":
                        self._send(400, b'{"jsonrpc": "2.0", "error": {"code": 10028, "message": "too_many_requests"}}')
                    elif fault == "500":
                        self._send(500, b"internal error")
                    elif fault == "slow":
                        time.sleep(fake.slow_seconds)
                        self._send(200, ok)
                    elif fault == "drop":
                        self.close_connection = True
                        self.connection.close()
                    elif fault == "cut":
                        self._send(200, ok[: len(ok) // 2])
                    elif fault == "drip":
                        head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(ok)}\r\n\r\n"
                        self.wfile.write(head.encode())
                        self._drip(ok)
                    elif fault == "drip_headers":
                        self._drip(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + ok)
                    elif fault == "nested":  # valid JSON nested beyond any parser's recursion limit
                        self._send(200, b"[" * 200_000 + b"]" * 200_000)
                    elif fault == "huge":
                        self.wfile.write(
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                        )
                        block = b" " * 65536
                        for _ in range(fake.huge_bytes // len(block)):
                            self.wfile.write(block)
                        self.close_connection = True
                    elif fault == "huge_declared":
                        head = (
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1099511627776\r\n\r\n"
                        )
                        self.wfile.write(head.encode() + ok)
                        self.close_connection = True
                    elif fault == "bad_request":
                        self._send(400, b'{"jsonrpc": "2.0", "error": {"code": 11050, "message": "bad_request"}}')
                except OSError:  # the client gave up on a slow answer
                    pass

        return Handler
