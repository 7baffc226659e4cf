"""The downloader against hostile servers on 127.0.0.1: answers dripped one byte
at a time (body, or from the status line on), JSON nested 200,000 deep, a server
that ignores the cursor, one that invents a new trade every millisecond forever,
and pages poisoned with trades whose timestamps are unreadable or days away.

Each test bounds itself: every server stops dripping after ``drip_bytes``, every
fetch has ``max_retries`` <= 2 and the test asserts the number of requests made.
Expected counts come from how the poison was built, never from the downloader.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowgex as fg
from deribit_server import FakeDeribit
from flowgex.cli import main
from test_fetch import DAY, DAY_MS, assert_complete, fetch, trades_for_days

START = int(DAY.value // 10**6)
END = START + 2 * DAY_MS  # the two days ``fetch`` asks for


# ---- a request that never ends --------------------------------------------------------------


@pytest.mark.parametrize("fault", ["drip", "drip_headers"])
def test_a_dripping_answer_hits_the_deadline(tmp_path, fault):
    with FakeDeribit(trades_for_days(days=1, per_day=10), [fault, fault]) as server:
        server.drip_seconds, server.drip_bytes = 0.25, 40  # 10 s of drip at most, one byte per read
        with pytest.raises(fg.FetchError) as err:
            fetch(server, tmp_path, timeout=5.0, deadline=0.8, max_retries=1)
        assert len(server.requests) == 2
    msg = str(err.value)
    assert server.base_url in msg and "get_last_trades_by_currency_and_time" in msg
    assert "no complete answer within the 0.8 s deadline" in msg and "gave up after 2 attempts" in msg


def test_a_missed_deadline_is_retried_and_nothing_is_lost(tmp_path):
    trades = trades_for_days()
    with FakeDeribit(trades, [None, "drip", None, "drip_headers"]) as server:
        server.drip_seconds, server.drip_bytes = 0.25, 40
        s = fetch(server, tmp_path, timeout=5.0, deadline=0.8, max_retries=2)
    assert s.retries == 2 and s.rejected_total == 0
    assert_complete(tmp_path, trades)


def test_deeply_nested_json_is_an_unreadable_answer(tmp_path):
    with FakeDeribit(trades_for_days(days=1, per_day=10), ["nested", "nested"]) as server:
        with pytest.raises(fg.FetchError, match=r"gave up after 2 attempts \(unreadable response body\)"):
            fetch(server, tmp_path, max_retries=1)
        assert len(server.requests) == 2


def test_deadline_option_is_checked(tmp_path):
    for bad in (0, -1.0, float("nan"), "5", True):
        with pytest.raises(fg.OptionError, match="deadline"):
            fg.fetch_deribit_trades("BTC", "2025-12-01", "2025-12-02", out=tmp_path, deadline=bad)
    with pytest.raises(fg.OptionError, match="max_pages_per_day"):
        fg.fetch_deribit_trades("BTC", "2025-12-01", "2025-12-02", out=tmp_path, max_pages_per_day=0)


# ---- a server that pages forever -------------------------------------------------------------


class IgnoresCursor(FakeDeribit):
    """Always the first page of the day, always ``has_more``."""

    def page(self, q: dict[str, str]) -> dict[str, Any]:
        return {"trades": self.trades[: int(q["count"])], "has_more": True}


class StalePage(FakeDeribit):
    """After the first page, only trades from before the cursor, with ``has_more``."""

    def page(self, q: dict[str, str]) -> dict[str, Any]:
        lo = int(q["start_timestamp"])
        before = [t for t in self.trades if t["timestamp"] < lo]
        return {"trades": before[-3:] or self.trades[:25], "has_more": True}


class Endless(FakeDeribit):
    """A new trade one millisecond after the cursor, forever."""

    def page(self, q: dict[str, str]) -> dict[str, Any]:
        lo = int(q["start_timestamp"])
        trade = dict(self.trades[0], timestamp=lo + 1, trade_id=f"e{lo}")
        return {"trades": [trade], "has_more": True}


@pytest.mark.parametrize("server_class", [IgnoresCursor, StalePage])
def test_a_server_that_ignores_the_cursor_is_stopped(tmp_path, server_class):
    with server_class(trades_for_days(days=1, per_day=60)) as server:
        with pytest.raises(fg.FetchError, match="no progress at 2025-12-01.*ignores the cursor"):
            fetch(server, tmp_path)
        assert len(server.requests) == 2  # the second, identical answer is the last
    assert len(list((tmp_path / "raw" / "option" / "BTC" / "2025-12-01").glob("page-*"))) == 1
    assert not (tmp_path / "parquet").exists()  # not marked done


def test_pages_per_day_are_bounded(tmp_path):
    with Endless(trades_for_days(days=1, per_day=5)) as server:
        with pytest.raises(fg.FetchError, match="still has more trades after 7 pages.*max_pages_per_day"):
            fetch(server, tmp_path, max_pages_per_day=7)
        assert len(server.requests) == 7
    assert fg.fetch_deribit_trades.__kwdefaults__["max_pages_per_day"] is None  # default: 10M trades' worth


# ---- poisoned pages ----------------------------------------------------------------------------


class Poisoned(FakeDeribit):
    """Deribit's pages of the good trades, with poison trades added to chosen answers
    (``poison[request index]``: a list of (position, trade))."""

    def __init__(self, trades: list[dict[str, Any]], poison: dict[int, list[tuple[int, Any]]]) -> None:
        super().__init__(trades)
        self.poison = poison

    def page(self, q: dict[str, str]) -> dict[str, Any]:
        result = super().page(q)
        for pos, bad in self.poison.get(len(self.requests) - 1, []):
            result["trades"].insert(min(pos, len(result["trades"])), bad)
        return result


def poison_trade(good: dict[str, Any], stamp: Any, k: int, *, drop_key: bool = False) -> dict[str, Any]:
    bad = dict(good, trade_id=f"poison-{k}", timestamp=stamp)
    if drop_key:
        del bad["timestamp"]
    return bad


def test_a_poisoned_page_loses_no_good_trade(tmp_path):
    trades = trades_for_days()
    g = trades[0]
    far = START + 3 * DAY_MS + 5
    poison = {
        # at the end of the first page: the old cursor jumped three days ahead and the day ended there
        0: [(25, poison_trade(g, far, 0)), (3, poison_trade(g, "1764547200123", 1))],
        2: [(0, poison_trade(g, None, 2)), (9, poison_trade(g, 0, 3, drop_key=True)), (4, poison_trade(g, -5, 4))],
        4: [(1, poison_trade(g, 1.5e12 + 0.5, 5)), (2, poison_trade(g, True, 6)), (7, poison_trade(g, 10**30, 7))],
        5: [(25, poison_trade(g, far, 0))],  # the same trade again: counted once
        9: [(2, "not a trade"), (3, {"foo": 1})],  # no id: counted by page and position
    }
    with Poisoned(trades, poison) as server:
        s = fetch(server, tmp_path)
        for q in server.requests:
            assert START <= int(q["start_timestamp"]) <= int(q["end_timestamp"]) <= END
    assert_complete(tmp_path, trades)  # every good trade arrived, once
    unreadable = {"poison-1", "poison-2", "poison-3", "poison-5", "poison-6", None}
    assert s.rejected == {"unreadable": 5 + 2, "out_of_range": 3}  # poison-0, -4, -7
    listed = []
    for day in ("2025-12-01", "2025-12-02"):
        listed += json.loads((tmp_path / "raw" / "option" / "BTC" / day / "_rejected.json").read_text())["trades"]
    assert {t["trade_id"] for t in listed if t["reason"] == "unreadable"} == unreadable
    out_of_range = sorted(t["trade_id"] for t in listed if t["reason"] == "out_of_range")
    assert out_of_range == ["poison-0", "poison-4", "poison-7"]
    with Poisoned(trades, {}) as server:  # a finished range: no request, the same counts
        again = fetch(server, tmp_path)
        assert server.requests == []
    assert again.rejected == s.rejected and again.trades == len(trades)


def test_the_command_line_reports_rejected_trades(tmp_path):
    trades = trades_for_days(days=1, per_day=40)
    poison = {0: [(2, poison_trade(trades[0], "soon", 0)), (30, poison_trade(trades[0], START + 9 * DAY_MS, 1))]}
    with Poisoned(trades, poison) as server:
        r = CliRunner().invoke(main, ["fetch", "--currency", "BTC", "--start", "2025-12-01", "--end", "2025-12-02",
                                      "--out", str(tmp_path), "--base-url", server.base_url, "--no-progress",
                                      "--deadline", "20", "--max-pages-per-day", "50"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"{len(trades)} trades over 1 day(s)" in r.output
    assert "warning: 2 trade(s) from the server rejected (unreadable: 1, out_of_range: 1)" in r.output


_UNREADABLE = st.one_of(
    st.text(max_size=15),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not math.isfinite(x) or not x.is_integer()),
    st.integers(-(2**70), 2**70).map(str),
    st.lists(st.integers(), max_size=2),
)
_OUT_OF_RANGE = st.one_of(st.integers(-(2**80), START - 1), st.integers(START + DAY_MS + 1, 2**80))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 6),
            st.integers(0, 30),
            st.one_of(_UNREADABLE.map(lambda v: ("u", v)), _OUT_OF_RANGE.map(lambda v: ("o", v))),
        ),
        max_size=6,
    )  # fmt: skip
)
def test_random_poison_is_counted_and_every_good_trade_arrives(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("poison")
    trades = trades_for_days(days=1, per_day=100, seed=11)
    poison: dict[int, list[tuple[int, Any]]] = {}
    want = {"unreadable": 0, "out_of_range": 0}
    for k, (request, pos, (kind, value)) in enumerate(data):
        poison.setdefault(request, []).append((pos, poison_trade(trades[0], value, k)))
        want["unreadable" if kind == "u" else "out_of_range"] += 1
    with Poisoned(trades, poison) as server:
        s = fg.fetch_deribit_trades("BTC", "2025-12-01", "2025-12-02", out=out, base_url=server.base_url, count=25,
                                    backoff=0.001, max_retries=0, progress=False)  # fmt: skip
        assert len(server.requests) <= 8
    got = fg.read_parquet(out / "parquet" / "option").column("trade_id").to_pylist()
    assert sorted(got) == sorted(t["trade_id"] for t in trades)
    # a poisoned trade sent on a request made after the last one never reached us
    sent = {"unreadable": 0, "out_of_range": 0}
    for request, _, (kind, _) in data:
        if request < len(server.requests):
            sent["unreadable" if kind == "u" else "out_of_range"] += 1
    assert s.rejected == sent
    assert sent["unreadable"] + sent["out_of_range"] <= want["unreadable"] + want["out_of_range"]


# ---- an answer larger than any page ----------------------------------------------------------


@pytest.mark.parametrize("fault", ["huge", "huge_declared"])
def test_an_oversized_answer_is_refused_not_buffered(fault):
    """A body over ``max_bytes`` (streamed without a length, or declared a terabyte long)
    is a FetchError at once; the client never holds more than the cap."""
    with FakeDeribit(trades_for_days(days=1, per_day=10), [fault]) as server:
        client = fg.io.deribit_client.DeribitClient(server.base_url, max_bytes=2**20, max_retries=2, timeout=5.0)
        with client, pytest.raises(fg.FetchError, match="max_bytes=1048576"):
            client.get(
                "public/get_last_trades_by_currency_and_time",
                {"currency": "BTC", "start_timestamp": START, "end_timestamp": END, "count": 10},
            )
        assert len(server.requests) == 1


def test_max_bytes_is_checked():
    with pytest.raises(fg.errors.OptionError, match="max_bytes"):
        fg.io.deribit_client.DeribitClient("http://127.0.0.1:9", max_bytes=0)
