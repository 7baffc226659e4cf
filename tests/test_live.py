"""fg.live against a local Deribit (websocket + history API) on 127.0.0.1 playing a simulated market.

Every case checks the exactness contract (DESIGN rule 19: flow_gex on the
recorded inputs gives the written steps bit for bit, no gap, no repeated step)
and the market's own trades (each consumed exactly once).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import flowgex as fg
from deribit_server import FakeDeribit
from live_check import OPTS, assert_close_to_market, assert_exact, assert_trades_once
from live_server import FakeDeribitWs, market_events

T0 = pd.Timestamp("2024-11-25", tz="UTC")
H = 3_600 * 10**9
M = 60 * 10**9
START = T0 + pd.Timedelta("3h")  # the live stream starts here; history before
UNTIL = T0 + pd.Timedelta("5h")


@pytest.fixture(scope="module")
def market() -> Any:
    return fg.simulate(days=1, assets=("BTC", "SOL"), trades_per_day=4000, seed=11, chain_every=5)


@pytest.fixture(scope="module")
def script(market: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    return market_events(market, START.value, UNTIL.value + 20 * M, chain_every_ms=5 * 60_000)


def _run(ws: FakeDeribitWs, hist: FakeDeribit, out: Path, **kw: Any) -> fg.LiveSummary:
    """fg.live in a thread with a hard bound: a hang fails the test instead of blocking the suite."""
    box: dict[str, Any] = {}
    stop = threading.Event()

    def target() -> None:
        try:
            box["s"] = fg.live(
                "BTC,SOL", out, ws_url=ws.url, base_url=hist.base_url, backfill="3h", until=kw.pop("until", UNTIL),
                echo=None, heartbeat=2, reconnect_max=0.2, max_reconnects=kw.pop("max_reconnects", 5),
                history_timeout=5, stop=stop, **kw,
            )  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["e"] = exc

    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(timeout=120)
    if th.is_alive():
        stop.set()
        th.join(timeout=20)
        pytest.fail("live run did not stop within 120 s")
    if "e" in box:
        raise box["e"]
    return box["s"]


def _chain_spot(market: Any, events: list[Any]) -> tuple[Any, Any]:
    got = fg.read_deribit_messages([e[2] for e in events if e[1] == "msg" and "trades." not in e[2]["params"]["channel"]])
    return got.chain, got.spot


def test_clean_session(market: Any, script: Any, tmp_path: Path) -> None:
    events, trades = script
    with FakeDeribitWs(events) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path)
    assert s.final_through == UNTIL
    assert s.counts["late"] if "late" in s.counts else True
    assert_exact(tmp_path, s.final_through)
    start_ms = (START.value - 3 * H) // 1_000_000
    assert_trades_once(tmp_path, trades, start_ms, UNTIL.value)
    chain, spot = _chain_spot(market, events)
    assert_close_to_market(tmp_path, trades, chain, spot, s.final_through, start_ms)
    assert s.counts["history_trades"] > 0 and s.counts["quarantined"] == 0 and s.counts["reconnects"] == 0
