"""The live run's parts without a network: channels, the gate against the engine's own late rule,
the checkpoint, option checks and the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

import flowgex as fg
from flowgex.cli import main
from flowgex.live.channels import channels_of, feeds
from flowgex.live.gate import Gate, label_of
from flowgex.live.recorded import TRADES, conform
from flowgex.live.runner import Runner
from flowgex.multipliers import BUILTIN_MULTIPLIERS

T0 = pd.Timestamp("2024-12-01", tz="UTC").value
MIN = 60 * 10**9


def test_every_builtin_asset_has_its_channels() -> None:
    for key in BUILTIN_MULTIPLIERS:
        (f,) = feeds(key)
        asset = key.split("_")[0]
        assert f.assets == (asset,)
        index = f"{asset.lower()}_usd" if asset in ("BTC", "ETH") else f"{asset.lower()}_usdc"
        assert f.indexes == (index,)
        assert f.currency == (asset if asset in ("BTC", "ETH") else "USDC")
    usdc = feeds("USDC")[0]
    assert set(usdc.assets) == {k.split("_")[0] for k in BUILTIN_MULTIPLIERS if k.endswith("_USDC")}
    assert channels_of(feeds("btc, sol")) == [
        "trades.option.BTC.100ms", "markprice.options.btc_usd", "deribit_price_index.btc_usd",
        "trades.option.USDC.100ms", "markprice.options.sol_usdc", "deribit_price_index.sol_usdc",
    ]  # fmt: skip
    assert channels_of(feeds("ETH"), "raw")[0] == "trades.option.ETH.raw"
    with pytest.raises(fg.OptionError, match="interval"):
        channels_of(feeds("ETH"), "1s")


@pytest.mark.parametrize("bad", ["DOGE", "", "BTC;ETH", ["BTC", 3]])
def test_unknown_currencies_are_option_errors(bad: object) -> None:
    with pytest.raises(fg.OptionError, match="currencies"):
        feeds(bad)  # type: ignore[arg-type]


def _trades(ts: np.ndarray, ids: list[str]) -> pa.Table:
    n = len(ts)
    t = pa.table({
        "timestamp": pa.array(ts, pa.timestamp("ns", tz="UTC")),
        "instrument": ["BTC-27DEC24-100000-C"] * n, "side": ["buy", "sell"] * (n // 2) + ["buy"] * (n % 2),
        "amount": [1.0] * n, "iv": [0.5] * n, "index_price": [95_000.0] * n, "trade_id": ids,
    })  # fmt: skip
    return conform(t, TRADES)


def test_gate_sets_aside_exactly_what_the_engine_calls_late() -> None:
    """Chunks with stragglers: the gate's late rows are the rows an engine fed the raw chunk refuses as late."""
    rng = np.random.default_rng(3)
    gated = fg.Engine(errors="quarantine")
    raw = fg.Engine(errors="quarantine")
    gate = Gate(10 * MIN, frozenset({"BTC"}))
    now = T0
    n_late = 0
    for k in range(30):
        now += int(rng.integers(1, 8)) * MIN
        ts = now - rng.integers(0, 25 * MIN, 20)  # some rows from buckets already closed
        chunk = _trades(ts, [f"{k}-{i}" for i in range(20)])
        keep, late = gate.split(gate.trades(chunk))
        n_late += late.num_rows
        gated.update(keep)
        gate.moved(gated.open_bucket)
        raw.update(chunk)
        refused = raw.take_rejected().get("trades")
        want = sorted(refused.column("trade_id").to_pylist()) if refused is not None else []
        assert sorted(late.column("trade_id").to_pylist()) == want
        assert gated.open_bucket == raw.open_bucket == label_of(int(ts.max()), 10 * MIN) or k == 0
    assert n_late > 20 and gated.result().diagnostics.rejected == {}


def test_gate_drops_repeated_ids_and_other_assets() -> None:
    gate = Gate(10 * MIN, frozenset({"BTC"}))
    t = _trades(np.array([T0, T0 + 1, T0 + 2]), ["a", "b", "a"])
    assert gate.trades(t).column("trade_id").to_pylist() == ["a", "b"]
    assert gate.trades(t).num_rows == 0  # seen before
    sol = conform(t.set_column(1, "instrument", pa.array(["SOL_USDC-27DEC24-200-C"] * 3)), TRADES)
    assert gate.trades(sol).num_rows == 0
    assert gate.counts == {"late": 0, "duplicate": 4, "other_asset": 3}


def test_damaged_checkpoint_and_other_options_are_refused(tmp_path: Path) -> None:
    r = Runner(tmp_path, feeds("BTC"), {"errors": "quarantine"}, echo=None)
    r.feed(_trades(np.array([T0, T0 + 11 * MIN]), ["x", "y"]), *(s.empty_table() for s in _chain_spot()))
    r.commit()
    assert Runner(tmp_path, feeds("BTC"), {"errors": "quarantine"}, echo=None).resumed
    with pytest.raises(fg.OptionError, match="other currencies or options"):
        Runner(tmp_path, feeds("BTC"), {"errors": "quarantine", "resolution": "5min"}, echo=None)
    path = tmp_path / "_live" / "checkpoint"
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(fg.SnapshotError, match="checksum"):
        Runner(tmp_path, feeds("BTC"), {"errors": "quarantine"}, echo=None)


def test_an_out_holding_other_output_is_refused(tmp_path: Path) -> None:
    (tmp_path / "by_strike").mkdir()
    with pytest.raises(fg.OptionError, match="without a live checkpoint"):
        Runner(tmp_path, feeds("BTC"), {"errors": "quarantine"}, echo=None)


def _chain_spot() -> tuple[pa.Schema, pa.Schema]:
    from flowgex.live.recorded import CHAIN, SPOT

    return CHAIN, SPOT


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"end": "2025-01-01"}, "invalid option"),
        ({"until": "2024-12-01 00:05"}, "grid time"),
        ({"ws_url": "http://x"}, "ws_url"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"backfill": "-1h"}, "backfill"),
        ({"heartbeat": 0}, "heartbeat"),
    ],
)
def test_live_options_are_checked_before_connecting(tmp_path: Path, kw: dict[str, object], match: str) -> None:
    with pytest.raises(fg.OptionError, match=match):
        fg.live("BTC", tmp_path, **kw)  # type: ignore[arg-type]


def test_cli_live_is_registered_and_reports_user_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["live", "--help"])
    assert res.exit_code == 0 and "--currency" in res.output and "--until" in res.output
    res = runner.invoke(main, ["live", "--currency", "DOGE", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "DOGE" in res.output
    res = runner.invoke(main, ["live", "--help"])
    assert "--html-window" in res.output and "--no-html" in res.output
    res = runner.invoke(main, ["live", "--currency", "BTC", "--out", str(tmp_path / "o"), "--html-window", "soon"])
    assert res.exit_code == 2 and "html_window" in res.output and not (tmp_path / "o").exists()


def _window_frames(res: fg.GexResult, since: pd.Timestamp) -> dict[str, pd.DataFrame]:
    out = {}
    for name in ("by_strike", "by_expiry", "total", "inventory"):
        df = getattr(res, name)()
        out[name] = df[df["time"] > since].reset_index(drop=True)
    return out


def test_page_window_is_the_last_window_of_steps_of_the_whole_run() -> None:
    """The page's window built from drained parts == flow_gex over the whole market, cut to the
    window (every table, bit for bit), and parts older than the window are dropped."""
    from flowgex.live.page import PageWindow

    m = fg.simulate(days=1, assets=("BTC", "SOL"), seed=5, trades_per_day=1500)
    trades = m.trades.to_pandas().sort_values("timestamp", kind="stable").reset_index(drop=True)
    whole = fg.flow_gex(trades)
    eng = fg.Engine()
    win = PageWindow(2 * 3_600 * 10**9)
    added = 0
    for k in range(0, len(trades), 40):
        eng.update(trades.iloc[k : k + 40])
        part = eng.drain()
        win.add(part)
        if len(part.times):
            added += 1
            assert int(part.times[-1].value) - win.first_ns < 2 * 3_600 * 10**9  # type: ignore[operator]
    res = win.result()
    assert res is not None
    last = res.times[-1]
    assert last == whole.times[whole.times <= last][-1] and last > whole.times[0] + pd.Timedelta("20h")
    since = last - pd.Timedelta("2h")
    assert list(res.times) == [t for t in whole.times if since < t <= last] and len(res.times) == 12
    assert 1 < len(win.parts) < added  # the older parts are gone
    cut = whole.with_data(whole.data.at_times(np.array([t.value for t in whole.times if t <= last])))
    want = _window_frames(cut, since)
    got = _window_frames(res, since)
    for name, exp in want.items():
        assert len(exp) > 0
        pd.testing.assert_frame_equal(got[name], exp, check_exact=True, obj=name)
    # a part of another engine (other registry) starts the window again instead of mislabelling strikes
    other = fg.Engine()
    other.update(fg.simulate(days=1, assets=("ETH",), seed=6, trades_per_day=300).trades.sort_by("timestamp"))
    other.advance(pd.Timestamp("2030-01-01", tz="UTC"))
    win.add(other.drain())
    assert len(win.parts) == 1 and win.result().assets == ["ETH"]  # type: ignore[union-attr]


def test_a_page_left_half_written_by_a_kill_is_removed_at_start(tmp_path: Path) -> None:
    stale = tmp_path / ".report.html.k2j3.tmp"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("<html>half")
    Runner(tmp_path, feeds("BTC"), {"errors": "quarantine"}, echo=None)  # no page: left alone
    assert stale.exists()
    Runner(tmp_path, feeds("BTC"), {"errors": "quarantine"}, echo=None, html_window_ns=86_400 * 10**9)
    assert not stale.exists()
