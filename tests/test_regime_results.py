"""The regime study on flowgex results: GexResult.regime_study and `flowgex study` on run and replay folders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import flowgex as fg
from flowgex.analytics.regime_signal import gex_signal
from flowgex.cli import main
from flowgex.errors import OptionError


@pytest.fixture(scope="module")
def sim() -> fg.SimulatedMarket:
    return fg.simulate(days=3, assets=("BTC",), trades_per_day=1500)


@pytest.fixture(scope="module")
def res(sim) -> fg.GexResult:
    return fg.flow_gex(sim.trades, sim.chain, sim.spot)


def test_signals_are_the_levels_series_columns(res) -> None:
    """Near-spot GEX from the public tables equals levels_series' own (a separate implementation on the internals)."""
    ls = res.levels_series("BTC")
    near, spot = gex_signal(res.total("BTC"), res.by_strike("BTC"), signal="near_spot_gex")
    total, _ = gex_signal(res.total("BTC"), None, signal="total_gex")
    assert list(near.index) == list(pd.DatetimeIndex(ls["time"]))
    np.testing.assert_allclose(near.to_numpy(), ls["near_spot_gex"].to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(total.to_numpy(), ls["total_gex"].to_numpy())
    np.testing.assert_array_equal(spot.to_numpy(), ls["spot"].to_numpy())
    wide, _ = gex_signal(res.total("BTC"), res.by_strike("BTC"), band=0.5)
    assert not np.array_equal(wide.to_numpy(), near.to_numpy())


def test_result_method_is_the_study_of_its_own_signal_and_spot(res, sim) -> None:
    ls = res.levels_series("BTC")
    idx = pd.DatetimeIndex(ls["time"])
    for signal in ("near_spot_gex", "total_gex"):
        a = res.regime_study("btc", signal=signal, n_boot=50, horizons=(1, 3))
        b = fg.regime_study(
            pd.Series(ls[signal].to_numpy(), idx), pd.Series(ls["spot"].to_numpy(), idx), n_boot=50, horizons=(1, 3)
        )
        pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-9)
        pd.testing.assert_frame_equal(a.contrasts, b.contrasts, rtol=1e-9)
    # A price given: the simulator's minute spot, as of each grid time (rule 18), not the result's spot.
    sp = sim.spot.to_pandas()
    minute = pd.Series(sp["price"].to_numpy(), pd.DatetimeIndex(sp["timestamp"]))
    c = res.regime_study("BTC", "total_gex", minute, n_boot=50)
    d = fg.regime_study(pd.Series(ls["total_gex"].to_numpy(), idx), minute, n_boot=50)
    pd.testing.assert_frame_equal(c.table, d.table)
    with pytest.raises(OptionError):
        res.regime_study("BTC", signal="flip")
    with pytest.raises(OptionError):
        res.regime_study("DOGE")


def _cli(*args: str, code: int = 0):
    out = CliRunner().invoke(main, list(args))
    assert out.exit_code == code, out.output
    return out


def test_study_command_on_a_run_folder(tmp_path, sim, res) -> None:
    sim.to_parquet(tmp_path / "data")
    _cli("run", str(tmp_path / "data"), "--out", str(tmp_path / "out"))
    out = _cli("study", str(tmp_path / "out"), "--asset", "btc", "--n-boot", "60", "--control", "trailing_rv").output
    assert (tmp_path / "out" / "btc_regime.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    want = res.regime_study("BTC", n_boot=60, control="trailing_rv")
    # The printed table is the in-memory study of the same market (4 decimals).
    row = want.table.iloc[1]
    assert f"{row['mean']:.4f}" in out and f"{row['ci_high']:.4f}" in out
    assert "negative / positive at equal trailing RV" in out and "Forward 1-step volatility" in out
    png = tmp_path / "x.png"
    out2 = _cli(
        "study",
        str(tmp_path / "out"),
        "--asset",
        "BTC",
        "--signal",
        "total_gex",
        "--n-boot",
        "60",
        "--horizons",
        "2,4",
        "--out",
        str(png),
    ).output
    assert png.is_file() and "A = 52560" in out2
    assert "is not in" in _cli("study", str(tmp_path / "out"), "--asset", "ETH", code=2).output
    assert "--horizons" in _cli("study", str(tmp_path / "out"), "--asset", "BTC", "--horizons", "1,x", code=2).output


def test_study_command_on_a_replay_folder_with_a_spot_file(tmp_path, sim, res) -> None:
    fg.replay(sim.trades, chain=sim.chain, spot=sim.spot, out=tmp_path / "rp", progress=False, chunk_rows=2000)
    sim.spot.to_pandas().to_csv(tmp_path / "spot.csv", index=False)
    out = _cli("study", str(tmp_path / "rp"), "--asset", "BTC", "--n-boot", "60", "--spot", str(tmp_path / "spot.csv"))
    sp = sim.spot.to_pandas()
    minute = pd.Series(sp["price"].to_numpy(), pd.DatetimeIndex(sp["timestamp"]))
    want = res.regime_study("BTC", price=minute, n_boot=60)
    row = want.table.iloc[2]
    assert f"{row['mean']:.4f}" in out.output and f"{row['ci_low']:.4f}" in out.output
    assert (tmp_path / "rp" / "btc_regime.png").is_file()


def test_study_command_user_mistakes_exit_2(tmp_path) -> None:
    assert _cli("study", "--help").output.startswith("Usage: ")
    (tmp_path / "empty").mkdir()
    assert "not a results folder" in _cli("study", str(tmp_path / "empty"), "--asset", "BTC", code=2).output
    assert _cli("study", str(tmp_path / "nowhere"), "--asset", "BTC", code=2).exit_code == 2
