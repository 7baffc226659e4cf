"""Live benchmark on the loopback server: messages/s sustained, and the time from the
message that makes a grid step final to that step written, with 2,000 live options.

    python benches/live_bench.py --options 2000 --trades 200000 --hours 6

A local Deribit (tests/live_server.py, 127.0.0.1) pushes, as fast as the client
reads them, ``--trades`` trade notifications over ``--hours`` hours of market
time across ``--options`` BTC options (each trades in the first minutes, so all
are live), an index price every 10 s and the mark IVs of every option every
minute. ``fg.live`` runs in this process (same clock as the server): it reads,
gates, records and feeds in batches, and at each final step writes by_strike /
by_expiry / total / levels and a checkpoint.

Reported: messages/s from the first live message to the last step written;
per final step, the commit's own time (drain, Parquet writes, levels over 401
spots, checkpoint) and the latency from the server sending the first message
stamped at or after t to step t's line being printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import flowgex as fg  # noqa: E402
from deribit_server import FakeDeribit  # noqa: E402
from flowgex.live import runner as live_runner  # noqa: E402
from live_server import FakeDeribitWs  # noqa: E402

T0 = pd.Timestamp("2024-12-02", tz="UTC").value
MS = 1_000_000


def _names(n: int) -> list[str]:
    expiries = [
        "6DEC24",
        "13DEC24",
        "20DEC24",
        "27DEC24",
        "31JAN25",
        "28FEB25",
        "28MAR25",
        "27JUN25",
        "26SEP25",
        "26DEC25",
    ]
    per = n // (2 * len(expiries)) + 1
    out = [f"BTC-{e}-{60_000 + 1_000 * k}-{c}" for e in expiries for k in range(per) for c in "CP"]
    return out[:n]


def _note(channel: str, data: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}


def script(n_options: int, n_trades: int, hours: float, seed: int = 1) -> tuple[list[Any], int]:
    rng = np.random.default_rng(seed)
    names = _names(n_options)
    span = int(hours * 3_600_000)
    ts = np.sort(
        np.concatenate([np.arange(n_options) * 100, rng.integers(n_options * 100, span, n_trades - n_options)])
    )
    inst = np.concatenate([np.arange(n_options), rng.integers(0, n_options, n_trades - n_options)])
    events: list[Any] = []
    for i, (t, k) in enumerate(zip(ts, inst)):
        rec = {
            "trade_id": f"T{i}", "timestamp": int(T0 // MS + t), "instrument_name": names[k],
            "amount": 0.1 * (1 + i % 5), "direction": "buy" if i % 3 else "sell", "iv": 50.0 + k % 20,
            "index_price": 95_000.0, "price": 0.01,
        }  # fmt: skip
        events.append((T0 + int(t) * MS, "msg", _note("trades.option.BTC.100ms", [rec])))
    for t in range(0, span + 1, 10_000):
        px = 95_000.0 * (1 + 0.02 * np.sin(t / 3.6e6))
        events.append(
            (
                T0 + t * MS,
                "msg",
                _note("deribit_price_index.btc_usd", {"index_name": "btc_usd", "price": px, "timestamp": T0 // MS + t}),
            )
        )
    for t in range(0, span + 1, 60_000):
        data = [
            {"timestamp": T0 // MS + t, "instrument_name": n, "iv": 0.5 + (k % 20) / 100, "mark_price": 0.01}
            for k, n in enumerate(names)
        ]
        events.append((T0 + t * MS, "msg", _note("markprice.options.btc_usd", data)))
    events.sort(key=lambda e: e[0])
    # serialised once here, so that the server (same process, same GIL) spends no time on JSON
    return [(t, "raw", json.dumps(p)) for t, _, p in events], T0 + span * MS


class Timed(FakeDeribitWs):
    """Records the wall time each message was sent, by its market timestamp."""

    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, **k)
        self.sent_at: list[tuple[int, float]] = []

    async def _play(self, ws: Any) -> None:  # the parent's loop, timing each send
        orig = ws.send

        async def send(msg: Any) -> None:
            await orig(msg)
            if self.pos and self.pos <= len(self.events):
                self.sent_at.append((self.events[self.pos - 1][0], time.perf_counter()))

        ws.send = send
        await super()._play(ws)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--options", type=int, default=2000)
    ap.add_argument("--trades", type=int, default=200_000)
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--rate", type=float, default=None, help="messages/s the server sends (default: all it can)")
    ap.add_argument("--no-html", action="store_true", help="do not refresh out/report.html at each commit")
    args = ap.parse_args()
    events, end = script(args.options, args.trades, args.hours)
    until = end // (600 * 10**9) * 600 * 10**9
    printed: dict[int, float] = {}
    commits: list[tuple[float, int]] = []
    orig_commit = live_runner.Runner.commit

    def commit(self: Any) -> None:
        t = time.perf_counter()
        n = self.engine.buffered_steps()
        orig_commit(self)
        commits.append((time.perf_counter() - t, n))

    live_runner.Runner.commit = commit  # type: ignore[method-assign]

    def echo(line: str) -> None:
        printed.setdefault(pd.Timestamp(line[:16], tz="UTC").value, time.perf_counter())

    out = Path(tempfile.mkdtemp(prefix="live-bench-"))
    try:
        with Timed(events, heartbeat_every=10**9, rate=args.rate) as ws, FakeDeribit([]) as hist:
            t0 = time.perf_counter()
            s = fg.live(
                "BTC",
                out,
                ws_url=ws.url,
                base_url=hist.base_url,
                backfill="1min",
                until=pd.Timestamp(until, tz="UTC"),
                echo=echo,
                html=not args.no_html,
            )
            wall = time.perf_counter() - t0
        first_sent = ws.sent_at[0][1]
        sent_ts = np.array([t for t, _ in ws.sent_at])
        sent_wall = np.array([w for _, w in ws.sent_at])
        lat = []
        for step, shown in printed.items():
            i = np.searchsorted(sent_ts, step)  # first message stamped >= step
            if i < len(sent_ts):
                lat.append(shown - sent_wall[i])
        step_commits = [c for c, n in commits if n > 0]
        msgs = s.counts["messages"]
        live_opts = fg.read_replay(out, "by_strike")
        print(f"options {args.options}, trades {args.trades}, messages {msgs}, steps {len(printed)}, wall {wall:.2f} s")
        print(f"sustained: {msgs / (max(printed.values()) - first_sent):,.0f} messages/s "
              f"({s.counts['trades'] / (max(printed.values()) - first_sent):,.0f} trades/s)")  # fmt: skip
        ms = np.array(step_commits) * 1e3
        print(f"commit per final step: median {np.median(ms):.1f} ms, max {ms.max():.1f} ms")
        lat_ms = np.array(lat) * 1e3
        print(
            f"message -> step written: median {np.median(lat_ms):.0f} ms, "
            f"p90 {np.percentile(lat_ms, 90):.0f} ms, max {lat_ms.max():.0f} ms"
        )
        print(f"report.html refreshed {s.counts['html_written']} times ({s.counts['html_failed']} failed)")
        print(f"strikes in the last step: {live_opts[live_opts['time'] == live_opts['time'].max()].shape[0]}")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
