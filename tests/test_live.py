"""fg.live against a local Deribit (websocket + history API) on 127.0.0.1 playing a simulated market.

Every case checks the exactness contract (DESIGN rule 19: flow_gex on the
recorded inputs gives the written steps bit for bit, no gap, no repeated step)
and the market's own trades (each consumed exactly once).
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import flowgex as fg
from deribit_server import FakeDeribit
from flowgex.live import read_levels, read_recorded
from html_page import bars, f64, read_blob
from live_check import OPTS, assert_close_to_market, assert_exact, assert_trades_once, live_tables
from live_server import FakeDeribitWs, market_events

T0 = pd.Timestamp("2024-11-25", tz="UTC")
H = 3_600 * 10**9
M = 60 * 10**9
START = T0 + pd.Timedelta("3h")  # the live stream starts here; history before
UNTIL = T0 + pd.Timedelta("5h")


@pytest.fixture(scope="module")
def market() -> Any:
    return fg.simulate(days=1, assets=("BTC", "SOL"), trades_per_day=4000, seed=11, chain_every=1)


@pytest.fixture(scope="module")
def script(market: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    return market_events(market, START.value, UNTIL.value + 20 * M, chain_every_ms=3_600_000)


def _run(ws: FakeDeribitWs, hist: FakeDeribit, out: Path, lines: list[str] | None = None, **kw: Any) -> fg.LiveSummary:
    """fg.live in a thread with a hard bound: a hang fails the test instead of blocking the suite."""
    box: dict[str, Any] = {}
    stop = threading.Event()

    def target() -> None:
        try:
            box["s"] = fg.live(
                "BTC,SOL", out, ws_url=ws.url, base_url=hist.base_url, backfill="3h", until=kw.pop("until", UNTIL),
                echo=None if lines is None else lines.append, heartbeat=2, reconnect_max=0.2,
                max_reconnects=kw.pop("max_reconnects", 5), history_timeout=5, stop=stop, **kw,
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
    got = fg.read_deribit_messages(
        [e[2] for e in events if e[1] == "msg" and "trades." not in e[2]["params"]["channel"]]
    )
    return got.chain, got.spot


def test_clean_session(market: Any, script: Any, tmp_path: Path) -> None:
    events, trades = script
    lines: list[str] = []
    with FakeDeribitWs(events) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path, lines)
    assert s.final_through == UNTIL
    # levels at every step, one printed line per asset and step, as fg.levels gives on the replay
    ref = assert_exact(tmp_path, UNTIL)
    lv = read_levels(tmp_path)
    steps = ref.total()[["asset", "time"]].drop_duplicates()
    steps = steps[steps["time"] >= lv["time"].min()]
    assert len(lv) == len(steps) == len(lines) and not lv.duplicated(["asset", "time"]).any()
    for asset in ("BTC", "SOL"):
        want = fg.levels(ref, asset, at=UNTIL)
        got = lv[(lv["asset"] == asset) & (lv["time"] == UNTIL)].iloc[0]
        for k in ("spot", "positive_wall", "negative_wall", "near_spot_gex", "total_gex", "regime"):
            assert got[k] == getattr(want, k), k
        assert (got["flip"] == want.flip) or (want.flip is None and pd.isna(got["flip"]))
        assert any(ln.startswith(f"{UNTIL:%Y-%m-%d %H:%M} {asset}") and want.regime in ln for ln in lines)
    # the recorded folders read as a dataset give the same steps (parts in path order = feed order)
    rec = tmp_path / "recorded"
    by_path = fg.flow_gex(rec / "trades", rec / "chain", rec / "spot", end=UNTIL, **OPTS)
    assert by_path.total().equals(ref.total())
    # memory stays bounded: the checkpoint keeps the trade ids of the last two buckets only
    from flowgex.live.checkpoint import load

    ids = load(tmp_path / "_live" / "checkpoint").gate["ids"]  # type: ignore[union-attr]
    assert 0 < len(ids) < 100 and min(ids.values()) >= UNTIL.value - 10 * M
    assert s.counts["late"] == 0 and s.counts["trades"] > 500 and s.counts["chain"] > 0 and s.counts["spot"] > 0
    assert_exact(tmp_path, s.final_through)
    # report.html: every written step (all within the default one-day window), the last one's bars as written
    assert_page(tmp_path, s.final_through)
    assert s.counts["html_written"] >= 1 and s.counts["html_failed"] == s.counts["html_skipped"] == 0
    start_ms = (START.value - 3 * H) // 1_000_000
    assert_trades_once(tmp_path, trades, start_ms, UNTIL.value)
    chain, spot = _chain_spot(market, events)
    assert_close_to_market(tmp_path, trades, chain, spot, s.final_through, start_ms)
    assert s.counts["history_trades"] > 0 and s.counts["quarantined"] == 0 and s.counts["reconnects"] == 0
    calls = {r["method"]: r["params"] for r in ws.requests}
    assert calls["public/set_heartbeat"] == {"interval": 2}
    assert calls["public/subscribe"]["channels"] == [
        "trades.option.BTC.100ms", "markprice.options.btc_usd", "deribit_price_index.btc_usd",
        "trades.option.USDC.100ms", "markprice.options.sol_usdc", "deribit_price_index.sol_usdc",
    ]  # fmt: skip


def _at(t: str) -> int:
    return (T0 + pd.Timedelta(t)).value


def test_dropped_connection_gap_is_filled_from_history(market: Any, script: Any, tmp_path: Path) -> None:
    events, trades = script
    cut, back = _at("3h31min"), _at("3h52min")
    skipped = [e for e in events if cut <= e[0] < back]
    assert sum("trades." in e[2]["params"]["channel"] for e in skipped) > 10  # trades only history has
    script2 = [e for e in events if e[0] < cut] + [(cut, "drop", back)] + [e for e in events if e[0] >= cut]
    with FakeDeribitWs(script2) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path)
    assert s.counts["reconnects"] == 1 and ws.connections == 2
    assert s.final_through == UNTIL
    assert_exact(tmp_path, s.final_through)
    start_ms = (START.value - 3 * H) // 1_000_000
    assert_trades_once(tmp_path, trades, start_ms, UNTIL.value)
    kept = [e for e in events if not cut <= e[0] < back]
    assert_close_to_market(tmp_path, trades, *_chain_spot(market, kept), s.final_through, start_ms)


def test_duplicate_notifications_count_once(market: Any, script: Any, tmp_path: Path) -> None:
    events, trades = script
    doubled: list[Any] = []
    n = 0
    for e in events:
        doubled.append(e)
        if "trades." in e[2]["params"]["channel"]:
            n += 1
            if n % 3 == 0:
                doubled.append(e)  # at once
            if n % 5 == 0:
                doubled.append((e[0] + 90 * 10**9, *e[1:]))  # again 90 s later, among later messages
    doubled.sort(key=lambda e: e[0])
    with FakeDeribitWs(doubled) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path)
    live_trades = sum("trades." in e[2]["params"]["channel"] for e in events if e[0] < UNTIL.value)
    assert s.counts["duplicate"] >= live_trades // 3 + live_trades // 5 - 2
    assert_exact(tmp_path, s.final_through)
    start_ms = (START.value - 3 * H) // 1_000_000
    assert_trades_once(tmp_path, trades, start_ms, UNTIL.value)
    assert_close_to_market(tmp_path, trades, *_chain_spot(market, events), s.final_through, start_ms)


def test_silent_spell_steps_are_final_by_the_exchange_clock(market: Any, script: Any, tmp_path: Path) -> None:
    """No message at all from 4h to 4h35 but heartbeats: the steps 4h10..4h30 are written all the same."""
    events, trades = script
    quiet_from, quiet_to = _at("4h"), _at("4h35min")
    until = T0 + pd.Timedelta("4h30min")
    calm = [e for e in events if e[0] < quiet_from] + [(quiet_from, "silence", quiet_to)]
    history = [t for t in trades if not quiet_from <= t["timestamp"] * 1_000_000 < quiet_to]
    with FakeDeribitWs(calm) as ws, FakeDeribit(history) as hist:
        s = _run(ws, hist, tmp_path, until=until)
    assert ws.tests_answered > 0 and s.counts["clock_moves"] > 0
    assert s.final_through == until
    ref = assert_exact(tmp_path, until)
    assert list(ref.times[-4:]) == [T0 + pd.Timedelta(x) for x in ("4h", "4h10min", "4h20min", "4h30min")]
    start_ms = (START.value - 3 * H) // 1_000_000
    assert_trades_once(tmp_path, history, start_ms, until.value)


def _burst(at_ns: int, n: int, names: list[str]) -> list[dict[str, Any]]:
    """``n`` trades within one second (Deribit-shaped), spread over ``names``."""
    out = []
    for i in range(n):
        name = names[i % len(names)]
        mult = 10.0 if name.startswith("SOL") else 1.0
        out.append({
            "trade_seq": i, "trade_id": f"BURST-{i}", "timestamp": at_ns // 1_000_000 + (i * 1000) // n,
            "tick_direction": 0, "price": 0.01, "mark_price": 0.01, "iv": 55.0 + (i % 7), "instrument_name": name,
            "index_price": 250.0 if name.startswith("SOL") else 95_000.0, "direction": "buy" if i % 3 else "sell",
            "amount": (1 + i % 4) * 0.1 * mult,
        })  # fmt: skip
    return out


def test_burst_of_10000_trades_in_one_second(market: Any, script: Any, tmp_path: Path) -> None:
    events, trades = script
    at = _at("4h05min")
    names = sorted({t["instrument_name"] for t in trades if _at("3h") < t["timestamp"] * 1_000_000 < at})[:40]
    burst = _burst(at, 10_000, names)
    notes = [(r["timestamp"] * 1_000_000, "msg", {"jsonrpc": "2.0", "method": "subscription", "params": {
        "channel": "trades.option.USDC.100ms" if "_USDC" in r["instrument_name"] else "trades.option.BTC.100ms",
        "data": [r]}}) for r in burst]  # fmt: skip
    script2 = sorted(events + notes, key=lambda e: e[0])
    all_trades = sorted(trades + burst, key=lambda t: t["timestamp"])
    with FakeDeribitWs(script2) as ws, FakeDeribit(all_trades) as hist:
        s = _run(ws, hist, tmp_path)
    assert s.counts["trades"] >= 10_000
    assert_exact(tmp_path, s.final_through)
    start_ms = (START.value - 3 * H) // 1_000_000
    assert_trades_once(tmp_path, all_trades, start_ms, UNTIL.value)
    assert_close_to_market(tmp_path, all_trades, *_chain_spot(market, events), s.final_through, start_ms)


def test_subscription_refused_is_a_clear_error(script: Any, tmp_path: Path) -> None:
    events, trades = script
    err = {"code": 11050, "message": "bad_request", "data": {"param": "channels", "reason": "invalid channel"}}
    with FakeDeribitWs(events, sub_errors=[err]) as ws, FakeDeribit(trades) as hist:
        with pytest.raises(fg.FetchError, match=r"Deribit refused public/subscribe.*11050"):
            _run(ws, hist, tmp_path)
    assert ws.connections == 1  # not retried: an unknown channel does not appear by retrying


def test_subscription_rate_limited_is_retried(market: Any, script: Any, tmp_path: Path) -> None:
    events, trades = script
    err = {"code": 10028, "message": "too_many_requests"}
    with FakeDeribitWs(events, sub_errors=[err]) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path)
    assert ws.connections == 2 and s.counts["reconnects"] == 1
    assert_exact(tmp_path, s.final_through)
    assert_trades_once(tmp_path, trades, (START.value - 3 * H) // 1_000_000, UNTIL.value)


def test_malformed_messages_are_quarantined(market: Any, script: Any, tmp_path: Path) -> None:
    events, trades = script
    at = _at("3h40min")

    def note(channel: str, data: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}

    bad = [
        (at, "raw", "{not json"),
        (at, "raw", "[1, 2, 3]"),
        (at, "msg", note("trades.option.BTC.100ms", 5)),
        (at, "msg", note("markprice.options.btc_usd", ["x"])),
    ]
    # a readable trade with a bad amount: fed, refused by the engine (and by a replay) as a bad row
    name = next(t["instrument_name"] for t in trades if t["instrument_name"].startswith("BTC"))
    bad_row = {**_burst(at, 1, [name])[0], "trade_id": "BAD-1", "amount": -3.0}
    bad.append((at, "msg", note("trades.option.BTC.100ms", [bad_row])))
    # a broken clock: stamped in 2030, set aside (recorded as "future"), closes no step
    broken = {**_burst(at, 1, [name])[0], "trade_id": "FUTURE-1", "timestamp": 1_900_000_000_000}
    bad.append((at, "msg", note("trades.option.BTC.100ms", [broken])))
    script2 = sorted(events + bad, key=lambda e: e[0])
    trades = sorted([*trades, bad_row], key=lambda t: t["timestamp"])
    with FakeDeribitWs(script2) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path)
    assert s.counts["quarantined"] == 4
    refused = read_recorded(tmp_path, "rejected/trades")
    assert refused.column("trade_id").to_pylist() == ["BAD-1"]
    assert s.counts["future"] == 1 and read_recorded(tmp_path, "future/trades").column("trade_id").to_pylist() == [
        "FUTURE-1"
    ]
    lines = [
        ln for p in sorted((tmp_path / "recorded" / "quarantine").glob("*.jsonl")) for ln in p.read_text().splitlines()
    ]
    assert len(lines) == 4 and any("{not json" in ln for ln in lines)
    assert_exact(tmp_path, s.final_through)
    assert_trades_once(tmp_path, trades, (START.value - 3 * H) // 1_000_000, UNTIL.value)


def test_stop_and_restart_continue_without_gap(market: Any, script: Any, tmp_path: Path) -> None:
    events, trades = script
    with FakeDeribit(trades) as hist:
        with FakeDeribitWs(events) as ws:
            first = _run(ws, hist, tmp_path, until=T0 + pd.Timedelta("4h"))
        assert first.final_through == T0 + pd.Timedelta("4h")
        later = [e for e in events if e[0] >= _at("4h12min")]  # the market went on while we were away
        with FakeDeribitWs(later) as ws:
            second = _run(ws, hist, tmp_path)
    assert second.resumed and second.final_through == UNTIL
    assert_exact(tmp_path, UNTIL)
    assert_page(tmp_path, UNTIL, since=first.final_through)  # the page's window starts again at a restart
    assert_trades_once(tmp_path, trades, (START.value - 3 * H) // 1_000_000, UNTIL.value)


def test_a_straggler_is_late_counted_and_recorded(market: Any, script: Any, tmp_path: Path) -> None:
    """A trade reaching us after a message stamped in a later bucket: late, recorded apart, not in the GEX."""
    events, trades = script
    at = _at("4h21min")
    name = next(t["instrument_name"] for t in trades if t["instrument_name"].startswith("BTC"))
    straggler = {**_burst(_at("4h02min"), 1, [name])[0], "trade_id": "LATE-1"}
    note = {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {"channel": "trades.option.BTC.100ms", "data": [straggler]},
    }
    # a reconnect right before it puts it in a batch of its own, after the 4h20 bucket opened
    before = [e for e in events if e[0] < at]
    script2 = [*before, (at, "drop", at), (at, "msg", note), *[e for e in events if e[0] >= at]]
    market_trades = sorted([*trades, straggler], key=lambda t: t["timestamp"])
    with FakeDeribitWs(script2) as ws, FakeDeribit(market_trades) as hist:
        s = _run(ws, hist, tmp_path)
    assert s.counts["late"] == 1 and s.counts["reconnects"] == 1
    assert read_recorded(tmp_path, "late/trades").column("trade_id").to_pylist() == ["LATE-1"]
    assert "LATE-1" not in read_recorded(tmp_path, "trades").column("trade_id").to_pylist()
    assert_exact(tmp_path, s.final_through)
    assert_trades_once(tmp_path, market_trades, (START.value - 3 * H) // 1_000_000, UNTIL.value)


def assert_page(out: Path, final_through: pd.Timestamp, since: pd.Timestamp | None = None) -> None:
    """out/report.html offers exactly the written steps after ``since`` (all of them by default), ending at
    ``final_through``, and its strike chart there holds the written by_strike rows near spot, bit for bit."""
    data = read_blob(out / "report.html")
    written = live_tables(out)
    assert data["window"] == 0.15  # the page draws strikes within 15% of spot (the PNG strike chart's window)
    assert sorted(data["assets"]) == ["BTC", "SOL"]
    for asset in ("BTC", "SOL"):
        tot = written["total"][written["total"]["asset"] == asset]
        times = tot["time"] if since is None else tot["time"][tot["time"] > since]
        page = data["assets"][asset]
        assert page["t"] == [int(t.value // 10**9) for t in times]
        assert page["t"][-1] == int(final_through.value // 10**9)
        v, j = page["variants"]["all"], len(page["t"]) - 1
        spot = f64(v["spot"])[j]
        assert spot == tot[tot["time"] == final_through]["spot"].iloc[0]
        bs = written["by_strike"]
        rows = bs[(bs["asset"] == asset) & (bs["time"] == final_through)]
        rows = rows[(rows["strike"] - spot).abs() <= 0.15 * spot]
        got = bars(v, j)
        assert len(rows) > 3
        for page_col, col in (("strike", "strike"), ("call", "call_gex"), ("put", "put_gex"), ("gex", "gex")):
            want = rows[col].to_numpy(np.float64)
            assert np.array_equal(got[page_col].view(np.int64), want.view(np.int64)), (asset, col)


def test_page_window_drops_older_steps(script: Any, tmp_path: Path) -> None:
    events, trades = script
    with FakeDeribitWs(events) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path, html_window="1h")
    assert s.final_through == UNTIL and s.counts["html_written"] >= 1
    assert len(live_tables(tmp_path)["total"]["time"].unique()) > 12  # more steps written than the page shows
    assert_page(tmp_path, UNTIL, since=UNTIL - pd.Timedelta("1h"))


def test_no_page_with_html_false(script: Any, tmp_path: Path) -> None:
    events, trades = script
    with FakeDeribitWs(events) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path, html=False)
    assert s.final_through == UNTIL and not (tmp_path / "report.html").exists()
    assert s.counts["html_written"] == s.counts["html_failed"] == s.counts["html_skipped"] == 0
    assert_exact(tmp_path, UNTIL)


def test_a_failing_page_is_counted_and_the_run_goes_on(
    script: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(importlib.import_module("flowgex.html"), "write_html", boom)
    events, trades = script
    with FakeDeribitWs(events) as ws, FakeDeribit(trades) as hist:
        s = _run(ws, hist, tmp_path)
    assert s.final_through == UNTIL and not (tmp_path / "report.html").exists()
    assert s.counts["html_failed"] >= 1 and s.counts["html_written"] == 0
    assert_exact(tmp_path, UNTIL)


def test_without_plotly_the_page_is_skipped_with_one_warning(
    script: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.import_module("flowgex.live.api"), "plotly_available", lambda: False)
    events, trades = script
    with FakeDeribitWs(events) as ws, FakeDeribit(trades) as hist:
        with pytest.warns(RuntimeWarning, match="plotly") as record:
            s = _run(ws, hist, tmp_path)
    assert len(record) == 1
    assert s.final_through == UNTIL and not (tmp_path / "report.html").exists()
    assert s.counts["html_skipped"] >= 1 and s.counts["html_written"] == s.counts["html_failed"] == 0
