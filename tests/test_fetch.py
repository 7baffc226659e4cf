"""The Deribit downloader against a local server: many pages, trades sharing a
millisecond across page boundaries, a 429 burst, error 10028, a 500, a slow
answer, a dropped connection, a cut body -- nothing lost, nothing doubled; a
second run resumes where the first stopped and a finished range costs nothing."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import flowgex as fg
from deribit_server import FakeDeribit
from flowgex.io.deribit_client import DeribitClient
from venue_files import NAMES, SPOT, asset_of

DAY = pd.Timestamp("2025-12-01T00:00:00Z")
DAY_MS = 86_400_000
LIVE = [n.replace("27DEC24", "26DEC25") for n in NAMES]  # options alive in December 2025


def trades_for_days(days: int = 2, per_day: int = 180, seed: int = 5) -> list[dict]:
    """Trades over ``days`` days, with runs of equal timestamps (up to 6 in one ms)
    and one exactly at midnight between the first two days."""
    rng = np.random.default_rng(seed)
    start = int(DAY.value // 10**6)
    stamps = np.sort(rng.integers(start, start + days * DAY_MS, days * per_day))
    for i in range(5, len(stamps) - 6, 23):
        stamps[i : i + int(rng.integers(2, 7))] = stamps[i]  # several trades in one ms
    if days > 1:
        stamps[per_day] = start + DAY_MS  # midnight: belongs to day 2 only
    stamps = np.sort(stamps)
    out = []
    for k, ts in enumerate(stamps):
        name = LIVE[int(rng.integers(0, len(LIVE)))]
        out.append(
            {
                "trade_seq": k,
                "trade_id": str(5_000_000 + k),
                "timestamp": int(ts),
                "tick_direction": 1,
                "price": 0.01,
                "mark_price": 0.011,
                "iv": float(round(rng.uniform(40, 70), 2)),
                "instrument_name": name,
                "index_price": SPOT[asset_of(name)],
                "direction": "buy" if rng.random() < 0.5 else "sell",
                "amount": float(int(rng.integers(1, 30))) * (10.0 if asset_of(name) == "SOL" else 1.0),
            }
        )
    return out


def fetch(server, out, **kw):
    opts = {"out": out, "base_url": server.base_url, "count": 25, "backoff": 0.001, "progress": False}
    return fg.fetch_deribit_trades("btc", "2025-12-01", "2025-12-03", **{**opts, **kw})


def stored(out) -> pd.DataFrame:
    return fg.read_parquet(out / "parquet" / "option").to_pandas().sort_values(["timestamp", "trade_id"])


def assert_complete(out, trades) -> None:
    got = stored(out)
    assert len(got) == len(trades) and got.trade_id.is_unique  # nothing lost, nothing doubled
    want = pd.DataFrame(trades).sort_values(["timestamp", "trade_id"])
    assert got.trade_id.tolist() == want.trade_id.tolist()
    assert (got.timestamp.astype("int64") // 10**6).tolist() == want.timestamp.tolist()
    mult = np.where(want.instrument_name.str.startswith("SOL"), 10.0, 1.0)
    assert np.array_equal(got.amount.to_numpy(), want.amount.to_numpy() / mult)
    assert np.array_equal(got.iv.to_numpy(), want.iv.to_numpy() / 100.0)
    days = got.date.astype(str).to_numpy()
    assert (days == got.timestamp.dt.strftime("%Y-%m-%d").to_numpy()).all()  # each trade in its own day


def test_pages_with_equal_timestamps_across_boundaries(tmp_path):
    trades = trades_for_days()
    with FakeDeribit(trades) as server:
        s = fetch(server, tmp_path)
    assert_complete(tmp_path, trades)
    assert s.trades == len(trades) and s.days == ("2025-12-01", "2025-12-02") and s.retries == 0
    # Pages overlap exactly where a millisecond was split: each later page starts at the
    # previous page's last timestamp, and some of those trades were on both pages.
    raw = sorted((tmp_path / "raw" / "option" / "BTC" / "2025-12-01").glob("page-*.json.gz"))
    pages = [json.loads(gzip.decompress(p.read_bytes()))["result"]["trades"] for p in raw]
    assert len(pages) >= 7
    split = sum(bool({t["trade_id"] for t in a} & {t["trade_id"] for t in b}) for a, b in zip(pages, pages[1:]))
    assert split >= 1
    for a, b in zip(server.requests, server.requests[1:]):
        if a["end_timestamp"] == b["end_timestamp"]:
            assert int(b["start_timestamp"]) >= int(a["start_timestamp"])
    assert {r["sorting"] for r in server.requests} == {"asc"} and {r["kind"] for r in server.requests} == {"option"}
    assert {r["currency"] for r in server.requests} == {"BTC"}


def test_rate_limits_errors_slow_and_dropped_connections(tmp_path):
    trades = trades_for_days()
    faults = [None, "429", "429", "429", None, "10028", None, "500", None, "slow", None, "drop", None, "cut", None]
    with FakeDeribit(trades, faults) as server:
        server.slow_seconds = 0.6
        s = fetch(server, tmp_path, timeout=0.2)
    assert_complete(tmp_path, trades)
    assert server.served.count("429") == 3 and "slow" in server.served and "drop" in server.served
    assert s.retries == 8  # one per fault: 3x429, 10028, 500, slow, drop, cut


def test_bounded_retries_then_resume(tmp_path):
    trades = trades_for_days()
    with FakeDeribit(trades) as server:
        server.fail_from = 5
        with pytest.raises(fg.FetchError, match=r"gave up after 3 attempts \(server error \(HTTP 500\)\).*resume"):
            fetch(server, tmp_path, max_retries=2)
        assert len(server.requests) == 5 + 3
    state = json.loads((tmp_path / "raw" / "option" / "BTC" / "2025-12-01" / "_state.json").read_text())
    assert state["pages"] == 5 and not state["done"]
    with FakeDeribit(trades) as server:
        s = fetch(server, tmp_path)
        first = server.requests[0]
    assert int(first["start_timestamp"]) == state["cursor"]  # resumed at the cursor, not at midnight
    assert_complete(tmp_path, trades)
    with FakeDeribit(trades) as server:
        again = fetch(server, tmp_path)
        assert server.requests == []  # a finished range costs no request
    assert again.days_already_done == 2 and again.trades == s.trades == len(trades)


def test_refusals_fail_at_once_and_stalls_are_reported(tmp_path):
    with FakeDeribit(trades_for_days(), ["bad_request"]) as server:
        with pytest.raises(fg.FetchError, match="11050"):
            fetch(server, tmp_path / "a")
        assert len(server.requests) == 1
    same_ms = trades_for_days(days=1, per_day=40)
    for t in same_ms:
        t["timestamp"] = int(DAY.value // 10**6) + 5
    with FakeDeribit(same_ms) as server:
        with pytest.raises(fg.FetchError, match="more than 25 trades share one millisecond"):
            fetch(server, tmp_path / "b")
    with pytest.raises(fg.OptionError, match="count"):
        fg.fetch_deribit_trades("BTC", "2025-12-01", "2025-12-02", out=tmp_path, count=5000)
    with pytest.raises(fg.OptionError, match="start < end"):
        fg.fetch_deribit_trades("BTC", "2025-12-02", "2025-12-01", out=tmp_path)
    with pytest.raises(fg.OptionError, match="currency"):
        fg.fetch_deribit_trades("B$C", "2025-12-01", "2025-12-02", out=tmp_path)


def test_fetched_days_replay_like_the_one_shot_engine(tmp_path):
    trades = trades_for_days()
    with FakeDeribit(trades) as server:
        s = fetch(server, tmp_path)
    res = fg.replay(s.dataset, out=tmp_path / "replay", chunk_rows=50, progress=False)
    one_shot = fg.flow_gex(fg.read_deribit_trades({"result": {"trades": trades}}))
    pd.testing.assert_frame_equal(
        fg.read_replay(res.out, "total"),
        one_shot.total().sort_values(["time", "asset"]).reset_index(drop=True),
        check_exact=True,
    )
    assert pq.read_metadata(s.dataset / "currency=BTC" / "date=2025-12-02" / "trades.parquet").num_rows > 0


def test_client_backoff_and_retry_after():
    waits: list[float] = []
    with FakeDeribit(trades_for_days(days=1, per_day=10), ["500", "500", "500", "429"]) as server:
        client = DeribitClient(server.base_url, backoff=0.5, max_backoff=1.5, sleep=waits.append)
        result, _ = client.get("public/get_last_trades_by_currency_and_time",
                               {"start_timestamp": 0, "end_timestamp": 2**52, "count": 5})  # fmt: skip
        client.close()
    assert waits == [0.5, 1.0, 1.5, 0.0]  # exponential, capped; then the server's Retry-After: 0
    assert len(result["trades"]) == 5 and result["has_more"]
